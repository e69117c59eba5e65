import Foundation

/// What `SensorCSV.read` returns: the samples as one or more regular segments, their timestamps and labels,
/// the sample rate and a report of the stream's timing (jitter, gaps, out-of-order rows).
public struct SensorRecording: Sendable, Equatable {
    /// The samples, one `Signal` `[channels, frames]` per segment. One segment unless `GapPolicy.split` cut the
    /// stream at gaps; every segment has the same channels and `sampleRate`.
    public var segments: [SensorSegment]
    /// Seconds since the Unix epoch of every output sample, segments concatenated (inserted samples included);
    /// `nil` when the file has no timestamp column.
    public var timestamps: [Double]?
    /// The label of every output sample, segments concatenated; `nil` without a label column. Inserted samples
    /// carry the label of the sample before the gap; an empty cell is `""`.
    public var labels: [String]?
    /// The rate of every segment's signal in Hz: `SensorCSVOptions.sampleRate` when given, otherwise the
    /// inferred rate.
    public var sampleRate: Double
    /// `1 / median(Δt)` over consecutive timestamps (Hz); `nil` without timestamps or with fewer than two rows.
    public var inferredRate: Double?
    /// How much the regular steps (positive, not gaps) deviate from the period `1 / sampleRate`.
    public var jitter: SensorJitter?
    /// Every gap (step > `gapFactor` periods) in the file, whatever the policy did with it.
    public var gaps: [SensorGap]
    /// 1-based lines whose timestamp was not later than the previous row's (kept or dropped by the policy).
    public var unorderedLines: [Int]
    /// 1-based lines dropped because of a missing value (`MissingValuePolicy.dropRow`).
    public var droppedLines: [Int]
    /// The channel names (header names), in signal channel order.
    public var channelNames: [String]

    /// Creates a recording (the reader fills every field; this is for tests and other readers).
    public init(
        segments: [SensorSegment], timestamps: [Double]?, labels: [String]?, sampleRate: Double,
        inferredRate: Double?, jitter: SensorJitter?, gaps: [SensorGap], unorderedLines: [Int],
        droppedLines: [Int], channelNames: [String]
    ) {
        self.segments = segments
        self.timestamps = timestamps
        self.labels = labels
        self.sampleRate = sampleRate
        self.inferredRate = inferredRate
        self.jitter = jitter
        self.gaps = gaps
        self.unorderedLines = unorderedLines
        self.droppedLines = droppedLines
        self.channelNames = channelNames
    }

    /// Total number of output samples per channel over all segments.
    public var frames: Int { segments.reduce(0) { $0 + $1.signal.frames } }
}

/// One regular run of samples and where it sits in the recording.
public struct SensorSegment: Sendable, Equatable {
    /// The samples, planar `[channels, frames]`.
    public var signal: Signal
    /// Seconds since the Unix epoch of the first sample; `nil` when the file has no timestamps.
    public var startTime: Double?
    /// The segment's samples in `SensorRecording.timestamps` and `.labels`.
    public var range: Range<Int>

    /// Creates a segment.
    public init(signal: Signal, startTime: Double?, range: Range<Int>) {
        self.signal = signal
        self.startTime = startTime
        self.range = range
    }

    /// `startTime` as a `Date`.
    public var startDate: Date? { startTime.map { Date(timeIntervalSince1970: $0) } }
}

/// A step between consecutive timestamps longer than `gapFactor` sample periods.
public struct SensorGap: Sendable, Equatable {
    /// The 1-based line of the row after the gap (the header is line 1).
    public var line: Int
    /// Seconds since the Unix epoch of the last sample before the gap.
    public var start: Double
    /// Seconds since the Unix epoch of the first sample after the gap.
    public var end: Double
    /// Samples missing at the nominal rate: `round((end - start) / period) - 1` (≥ 0).
    public var missingSamples: Int

    /// Creates a gap record.
    public init(line: Int, start: Double, end: Double, missingSamples: Int) {
        self.line = line
        self.start = start
        self.end = end
        self.missingSamples = missingSamples
    }

    /// Length of the step in seconds (`end - start`).
    public var duration: Double { end - start }
}

/// Timing irregularity of the regular steps of a stream (positive steps that are not gaps).
///
/// ```
/// rms = sqrt(mean((Δt - period)²))      max = max |Δt - period|      over the regular steps
/// ```
public struct SensorJitter: Sendable, Equatable {
    /// Root mean square deviation of a step from the period, in seconds.
    public var rms: Double
    /// Largest deviation of a step from the period, in seconds.
    public var max: Double
    /// Number of regular steps measured.
    public var steps: Int

    /// Creates a jitter report.
    public init(rms: Double, max: Double, steps: Int) {
        self.rms = rms
        self.max = max
        self.steps = steps
    }
}
