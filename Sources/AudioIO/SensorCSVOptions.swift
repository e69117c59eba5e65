/// How `SensorCSV.read` finds columns, infers the sample rate and treats gaps, missing cells and disorder.
///
/// The defaults read a plain sensor log (`timestamp,x,y,z[,label]`) and refuse anything irregular with an error
/// naming the line, so nothing is silently changed: choose a policy to accept gaps, missing cells or
/// out-of-order rows.
public struct SensorCSVOptions: Sendable, Equatable {
    /// The field separator.
    public enum Delimiter: Sendable, Equatable {
        /// Whichever of `,`, `;` and tab occurs most often in the header row (`,` on a tie or a one-column header).
        case auto
        /// `,`
        case comma
        /// `;` (spreadsheets in locales whose decimal mark is a comma write this)
        case semicolon
        /// a tab character
        case tab
    }

    /// Which column plays a role (timestamp or label).
    public enum Column: Sendable, Equatable {
        /// Found by name, ignoring case: `timestamp`, `time`, `date` for timestamps (in that order of
        /// preference); `label` for labels. Absent is fine for labels; for timestamps `sampleRate` must be given.
        case auto
        /// The column with exactly this header name; `AudioIOError.missingColumn` when there is none.
        case named(String)
        /// No such column.
        case none
    }

    /// What fills the samples inserted into a gap (`GapPolicy.fill`).
    public enum FillMethod: Sendable, Equatable {
        /// NaN, so later stages can see the hole.
        case nan
        /// Linear in time between the samples on either side of the gap.
        case linear
        /// The last sample before the gap (zero-order hold).
        case previous
        /// 0.
        case zero
    }

    /// What to do when two consecutive timestamps are more than `gapFactor` sample periods apart.
    public enum GapPolicy: Sendable, Equatable {
        /// Throw `AudioIOError.gap` naming the line after the first gap.
        case error
        /// Return one segment per run of regular samples, each with its own start time.
        case split
        /// Insert `round(Δt / period) - 1` samples at `t_before + k · period` so the stream is regular again.
        case fill(FillMethod)
        /// Keep the rows as they are (one irregular segment); the gaps are still reported.
        case keep
    }

    /// What to do with an empty, `NaN`, `NA`, `null`, … cell in a channel column.
    public enum MissingValuePolicy: Sendable, Equatable {
        /// Throw `AudioIOError.missingValue` naming the line and column.
        case error
        /// Linear in time between the nearest present values of that channel (in the same segment); before the
        /// first or after the last present value, that value: `numpy.interp(t, t_present, v_present)`.
        case interpolate
        /// 0.
        case zero
        /// The previous present value (pandas `ffill`); cells before the first present value take that value.
        case previous
        /// Drop the whole row before timing is analysed, as `pandas.DataFrame.dropna()` does. With timestamps the
        /// hole becomes a gap for `GapPolicy`; without them later samples move one period earlier.
        case dropRow
        /// Keep NaN.
        case keepNaN
    }

    /// What to do with a timestamp that is not later than the one before it (a duplicate or a step back).
    public enum OrderPolicy: Sendable, Equatable {
        /// Throw `AudioIOError.duplicateTimestamp` or `.nonMonotonicTimestamp` naming both lines.
        case error
        /// Drop each row whose timestamp is not later than the last kept one (keeps the first of duplicates).
        case dropRow
        /// Keep every row in file order (timing statistics use the positive steps only).
        case keep
    }

    /// The field separator. Default `.auto`: detected from the header row.
    public var delimiter: Delimiter
    /// The timestamp column. Default `.auto`: `timestamp`, `time` or `date`; without one, `sampleRate` is used.
    public var timestampColumn: Column
    /// The label column (text, one label per sample). Default `.auto`: a column named `label`, if any.
    public var labelColumn: Column
    /// The channels to read, by header name, in this order. Default `nil`: every column except the timestamp and
    /// label columns whose first data cell is a number or missing.
    public var channels: [String]?
    /// The sample rate in Hz. Required without a timestamp column. With timestamps it is the nominal rate gaps
    /// are measured against, and it must agree within 1 % with the rate the timestamps give. Default `nil`:
    /// inferred from the median timestamp step.
    public var sampleRate: Double?
    /// A step longer than `gapFactor × period` is a gap. Default 1.5: one dropped sample makes a step of 2
    /// periods, so any factor in (1, 2) catches it; the midpoint tolerates ±50 % jitter on a single step
    /// (clock jitter, timestamps rounded to the millisecond) without calling it a gap. Must be > 1.
    public var gapFactor: Double
    /// What to do with gaps. Default `.error`: nothing is changed without being asked for.
    public var gapPolicy: GapPolicy
    /// What to do with missing cells in channel columns. Default `.error`.
    public var missingValues: MissingValuePolicy
    /// What to do with duplicate or decreasing timestamps. Default `.error`.
    public var unorderedTimestamps: OrderPolicy

    /// Creates options; every parameter defaults to the documented default of its property.
    public init(
        delimiter: Delimiter = .auto, timestampColumn: Column = .auto, labelColumn: Column = .auto,
        channels: [String]? = nil, sampleRate: Double? = nil, gapFactor: Double = 1.5, gapPolicy: GapPolicy = .error,
        missingValues: MissingValuePolicy = .error, unorderedTimestamps: OrderPolicy = .error
    ) {
        self.delimiter = delimiter
        self.timestampColumn = timestampColumn
        self.labelColumn = labelColumn
        self.channels = channels
        self.sampleRate = sampleRate
        self.gapFactor = gapFactor
        self.gapPolicy = gapPolicy
        self.missingValues = missingValues
        self.unorderedTimestamps = unorderedTimestamps
    }

    /// Numenta Anomaly Benchmark files (`timestamp,value`): every row kept in file order, as NAB scores them.
    ///
    /// NAB's streams have irregular gaps (`realTraffic`) and a few duplicate or backward timestamps
    /// (`machine_temperature_system_failure.csv` line 10151), which NAB's scorer keeps; so gaps and disorder are
    /// reported, not refused or repaired.
    public static let nab = SensorCSVOptions(
        timestampColumn: .named("timestamp"), labelColumn: .none, gapPolicy: .keep, unorderedTimestamps: .keep)
}
