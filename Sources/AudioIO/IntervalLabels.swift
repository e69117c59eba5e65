import Foundation

/// A labelled time interval `[start, end]`, both bounds inclusive, in seconds since the Unix epoch (or any
/// clock the sample timestamps share).
public struct LabelInterval: Sendable, Equatable {
    /// First instant inside the interval (seconds).
    public var start: Double
    /// Last instant inside the interval (seconds), ≥ `start`.
    public var end: Double
    /// The label of the samples inside.
    public var label: String

    /// Creates an interval; `label` defaults to `anomaly`, the one label of NAB's windows.
    public init(start: Double, end: Double, label: String = "anomaly") {
        self.start = start
        self.end = end
        self.label = label
    }

    /// True when `start <= time <= end` (inclusive, as NAB's labeller marks its windows).
    public func contains(_ time: Double) -> Bool { time >= start && time <= end }
}

/// Reads interval label files (NAB `combined_windows.json`, `start,end,label` CSV) and turns intervals plus
/// sample timestamps into per-sample labels.
///
/// Times are read as `SensorTimestamp` documents: `YYYY-MM-DD HH:MM:SS[.ffffff]`, ISO 8601 with `T` and an
/// offset, or epoch seconds; a time without an offset is UTC, so NAB's windows line up with
/// `SensorCSV.read`'s timestamps of the same files.
public enum IntervalLabels {
    /// Reads NAB's `labels/combined_windows.json`: data file (`realKnownCause/nyc_taxi.csv`) → anomaly windows.
    ///
    /// ```
    /// { "realKnownCause/ambient_temperature_system_failure.csv":
    ///     [["2013-12-10 06:25:00.000000", "2013-12-12 05:35:00.000000"], …], … }
    /// ```
    /// - Parameters:
    ///   - path: the JSON file.
    ///   - label: the label given to every window. Default `anomaly`.
    /// - Returns: for each key, its windows in file order (an empty array for a file without anomalies).
    /// - Throws: `AudioIOError.cannotOpen`, `.empty`, `.badHeader` (not JSON, or not an object of arrays), and
    ///   `.badEntry` naming the key for a window that is not a `[start, end]` pair of times or ends before it
    ///   starts.
    public static func readNABWindows(path: String, label: String = "anomaly") throws -> [String: [LabelInterval]] {
        let object = try readJSON(path: path)
        guard let files = object as? [String: Any] else {
            throw AudioIOError.badHeader(path: path, reason: "expected a JSON object mapping data files to windows")
        }
        var result: [String: [LabelInterval]] = [:]
        for (key, value) in files {
            guard let windows = value as? [Any] else {
                throw AudioIOError.badEntry(path: path, key: key, reason: "expected an array of [start, end] windows")
            }
            result[key] = try windows.enumerated().map { index, window in
                guard let pair = window as? [Any], pair.count == 2 else {
                    throw AudioIOError.badEntry(
                        path: path, key: key, reason: "window \(index): expected [start, end], found \(window)")
                }
                let start = try time(pair[0], path: path, key: key, what: "window \(index) start")
                let end = try time(pair[1], path: path, key: key, what: "window \(index) end")
                guard start <= end else {
                    throw AudioIOError.badEntry(
                        path: path, key: key, reason: "window \(index) ends (\(pair[1])) before it starts (\(pair[0]))")
                }
                return LabelInterval(start: start, end: end, label: label)
            }
        }
        return result
    }

    /// Reads NAB's `labels/combined_labels.json`: data file → the timestamps of its labelled anomaly points.
    ///
    /// - Parameter path: the JSON file (`{ "file.csv": ["2014-02-19 10:50:00", …], … }`).
    /// - Returns: for each key, its anomaly times in seconds since the Unix epoch, in file order.
    /// - Throws: `AudioIOError.cannotOpen`, `.empty`, `.badHeader` (not a JSON object), `.badEntry` naming the
    ///   key for a value that is not an array of times.
    public static func readNABPoints(path: String) throws -> [String: [Double]] {
        guard let files = try readJSON(path: path) as? [String: Any] else {
            throw AudioIOError.badHeader(path: path, reason: "expected a JSON object mapping data files to times")
        }
        var result: [String: [Double]] = [:]
        for (key, value) in files {
            guard let times = value as? [Any] else {
                throw AudioIOError.badEntry(path: path, key: key, reason: "expected an array of times")
            }
            result[key] = try times.enumerated().map { try time($1, path: path, key: key, what: "time \($0)") }
        }
        return result
    }

    /// The key NAB's label files use for a data file: its folder and name (`realKnownCause/nyc_taxi.csv`).
    public static func nabKey(forDataFile path: String) -> String {
        let url = URL(fileURLWithPath: path)
        return url.deletingLastPathComponent().lastPathComponent + "/" + url.lastPathComponent
    }

    /// Reads a CSV of intervals: `start,end[,label]`, one interval a row.
    ///
    /// ```
    /// start,end,label                      optional header (any column order; `label` optional)
    /// 2024-05-01 10:00:00,2024-05-01 10:00:30,walk
    /// 1714557630,1714557660,run            epoch seconds work too
    /// ```
    /// The first line is a header when its first cell is not a time; without one the columns are
    /// `start,end[,label]`. The delimiter (`,`, `;` or tab) is detected from the first line.
    /// - Parameters:
    ///   - path: the CSV file.
    ///   - defaultLabel: the label of rows without a label column or with an empty label. Default `anomaly`.
    /// - Returns: the intervals in file order.
    /// - Throws: `AudioIOError.cannotOpen`, `.empty`, `.missingColumn` (a header without `start` or `end`),
    ///   `.badRow` naming the line for a wrong field count, an unreadable time or an end before its start.
    public static func readCSV(path: String, defaultLabel: String = "anomaly") throws -> [LabelInterval] {
        try withTextFile(path: path) { scanner in
            var fields: [Range<Int>] = []
            var quoted: [Bool] = []
            var intervals: [LabelInterval] = []
            var columns: (start: Int, end: Int, label: Int?, count: Int)?
            var delimiter = UInt8(ascii: ",")
            while let line = scanner.nextLine() {
                guard !scanner.isBlank(line) else { continue }
                let number = scanner.lineNumber
                if columns == nil {
                    delimiter = SensorCSV.chooseDelimiter(.auto, header: line, scanner: scanner)
                }
                guard scanner.splitFields(line, delimiter: delimiter, into: &fields, quoted: &quoted) else {
                    throw AudioIOError.badRow(path: path, line: number, reason: "unterminated quote")
                }
                if columns == nil {
                    if scanner.timestamp(fields[0]) == nil {
                        let names = (0..<fields.count).map { scanner.cell(fields[$0], quoted: quoted[$0]) }
                        let lowered = names.map { $0.lowercased() }
                        guard let start = lowered.firstIndex(of: "start") else {
                            throw AudioIOError.missingColumn(path: path, column: "start", available: names)
                        }
                        guard let end = lowered.firstIndex(of: "end") else {
                            throw AudioIOError.missingColumn(path: path, column: "end", available: names)
                        }
                        columns = (start, end, lowered.firstIndex(of: "label"), names.count)
                        continue
                    }
                    columns = (0, 1, fields.count > 2 ? 2 : nil, max(2, fields.count))
                }
                guard let columns else { continue }
                guard fields.count == columns.count else {
                    throw AudioIOError.badRow(
                        path: path, line: number, reason: "expected \(columns.count) fields, found \(fields.count)")
                }
                func time(_ column: Int, _ name: String) throws -> Double {
                    guard let t = scanner.timestamp(fields[column]) else {
                        throw AudioIOError.badRow(
                            path: path, line: number,
                            reason: "cannot read \(name) time '\(scanner.string(fields[column]))'")
                    }
                    return t
                }
                let start = try time(columns.start, "start")
                let end = try time(columns.end, "end")
                guard start <= end else {
                    throw AudioIOError.badRow(path: path, line: number, reason: "end \(end) is before start \(start)")
                }
                var label = defaultLabel
                if let column = columns.label {
                    let text = scanner.cell(fields[column], quoted: quoted[column])
                    if !text.isEmpty { label = text }
                }
                intervals.append(LabelInterval(start: start, end: end, label: label))
            }
            return intervals
        }
    }

    /// The label of every sample: the label of the last interval (in `intervals` order) containing its timestamp,
    /// bounds inclusive, or `outside`.
    ///
    /// - Parameters:
    ///   - timestamps: sample times (seconds), e.g. `SensorRecording.timestamps`.
    ///   - intervals: the labelled intervals; later ones win where they overlap.
    ///   - outside: the label of samples in no interval. Default `""`.
    /// - Returns: one label per timestamp.
    /// - Complexity: O(n + k log n + labelled samples) for ascending timestamps, O(n k) otherwise.
    public static func sampleLabels(
        timestamps: [Double], intervals: [LabelInterval], outside: String = ""
    )
        -> [String]
    {
        var labels = [String](repeating: outside, count: timestamps.count)
        forEachSample(in: intervals, timestamps: timestamps) { index, interval in labels[index] = interval.label }
        return labels
    }

    /// The times of a regular stream, to label samples that have no timestamps (audio, `.ts` cases, sensor CSVs
    /// read with a rate): `start + i / sampleRate` for `i` in `0..<frames`.
    ///
    /// - Parameters:
    ///   - frames: number of samples (≥ 0).
    ///   - sampleRate: samples per second (Hz), > 0.
    ///   - start: the time of sample 0 in seconds. Default 0, so intervals are seconds from the start.
    /// - Returns: `frames` times in seconds.
    /// - Throws: `AudioIOError.invalidParameter` for a negative `frames` or a rate that is not positive.
    public static func sampleTimes(frames: Int, sampleRate: Double, start: Double = 0) throws -> [Double] {
        guard frames >= 0 else {
            throw AudioIOError.invalidParameter(name: "frames", value: "\(frames)", reason: "must be ≥ 0")
        }
        guard sampleRate > 0, sampleRate.isFinite else {
            throw AudioIOError.invalidParameter(name: "sampleRate", value: "\(sampleRate)", reason: "must be > 0")
        }
        return (0..<frames).map { start + Double($0) / sampleRate }
    }

    /// Whether each sample lies in any interval (bounds inclusive): NAB's 0/1 anomaly label per row.
    ///
    /// - Parameters:
    ///   - timestamps: sample times (seconds).
    ///   - intervals: the intervals.
    /// - Returns: one flag per timestamp.
    public static func sampleMask(timestamps: [Double], intervals: [LabelInterval]) -> [Bool] {
        var mask = [Bool](repeating: false, count: timestamps.count)
        forEachSample(in: intervals, timestamps: timestamps) { index, _ in mask[index] = true }
        return mask
    }

    private static func forEachSample(
        in intervals: [LabelInterval], timestamps: [Double], _ body: (Int, LabelInterval) -> Void
    ) {
        let ascending = zip(timestamps, timestamps.dropFirst()).allSatisfy { $0 <= $1 }
        for interval in intervals {
            if ascending {
                var low = 0
                var high = timestamps.count
                while low < high {
                    let middle = (low + high) / 2
                    if timestamps[middle] < interval.start { low = middle + 1 } else { high = middle }
                }
                var i = low
                while i < timestamps.count && timestamps[i] <= interval.end {
                    body(i, interval)
                    i += 1
                }
            } else {
                for (i, t) in timestamps.enumerated() where interval.contains(t) { body(i, interval) }
            }
        }
    }

    private static func readJSON(path: String) throws -> Any {
        let data = try withTextFile(path: path) { scanner in
            Data(UnsafeBufferPointer(rebasing: scanner.buffer[0..<scanner.end]))
        }
        do {
            return try JSONSerialization.jsonObject(with: data)
        } catch {
            throw AudioIOError.badHeader(path: path, reason: "not valid JSON: \(error.localizedDescription)")
        }
    }

    private static func time(_ value: Any, path: String, key: String, what: String) throws -> Double {
        if let text = value as? String, let t = SensorTimestamp.parse(text) { return t }
        if let number = value as? NSNumber, !(value is Bool), number.doubleValue.isFinite {
            return number.doubleValue
        }
        throw AudioIOError.badEntry(path: path, key: key, reason: "\(what): cannot read time '\(value)'")
    }
}
