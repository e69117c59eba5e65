import Foundation

/// Reads sensor logs stored as CSV (`timestamp,x,y,z[,label]`) into regular `Signal`s.
///
/// ```
/// timestamp,acc_x,acc_y,label         header row (required), `,` `;` or tab, cells may be "quoted"
/// 2024-05-01T10:00:00.00Z,0.1,0.2,walk
/// 2024-05-01T10:00:00.01Z,0.1,,walk   empty / NaN / NA cell: MissingValuePolicy
/// ```
/// The sample rate is `1 / median(Δt)` of consecutive timestamps (or the rate given when there are none); a step
/// longer than `gapFactor` periods is a gap, handled by `GapPolicy`. Values are parsed as Float64 (correctly
/// rounded, whatever the C locale) and stored as Float32, like `pandas.read_csv(...).to_numpy(np.float32)`. Line numbers in
/// errors and reports are 1-based and count the header as line 1.
public enum SensorCSV {
    /// Reads the sensor CSV at `path`.
    ///
    /// - Parameters:
    ///   - path: the CSV file.
    ///   - options: columns, rate and policies; the defaults refuse gaps, missing cells and disorder.
    /// - Returns: the segments (`[channels, frames]` each), timestamps, labels, rate and timing report.
    /// - Throws: `AudioIOError.cannotOpen`, `.empty`, `.badHeader` (no header, duplicate names, no numeric
    ///   column, too few rows to infer a rate), `.missingColumn`, `.badRow` (wrong field count, non-numeric value,
    ///   unreadable timestamp), `.missingValue`, `.duplicateTimestamp`, `.nonMonotonicTimestamp`, `.gap`, and
    ///   `.invalidParameter` for bad options or a `sampleRate` the timestamps contradict.
    /// - Complexity: O(rows × columns) plus O(rows log rows) for the median step.
    public static func read(path: String, options: SensorCSVOptions = SensorCSVOptions()) throws -> SensorRecording {
        try validate(options)
        let table = try withTextFile(path: path) { scanner in try parseTable(&scanner, options: options) }
        return try assemble(table, path: path, options: options)
    }

    private static func validate(_ options: SensorCSVOptions) throws {
        guard options.gapFactor > 1, options.gapFactor.isFinite else {
            throw AudioIOError.invalidParameter(
                name: "gapFactor", value: "\(options.gapFactor)", reason: "must be a finite number > 1")
        }
        if let rate = options.sampleRate, !(rate > 0 && rate.isFinite) {
            throw AudioIOError.invalidParameter(name: "sampleRate", value: "\(rate)", reason: "must be > 0")
        }
        if let channels = options.channels {
            guard !channels.isEmpty else {
                throw AudioIOError.invalidParameter(name: "channels", value: "[]", reason: "name at least one")
            }
            guard Set(channels).count == channels.count else {
                throw AudioIOError.invalidParameter(
                    name: "channels", value: "\(channels)", reason: "a channel is named twice")
            }
        }
        if options.timestampColumn == .none && options.sampleRate == nil {
            throw AudioIOError.invalidParameter(
                name: "sampleRate", value: "nil", reason: "required when timestampColumn is .none")
        }
    }
}

/// The rows of a sensor CSV as read, before timing analysis: columns of values, one entry per kept row.
struct SensorTable {
    var channelNames: [String]
    var values: [[Float]]
    var times: [Double]?
    var labels: [String]?
    var lines: [Int] = []
    var unorderedLines: [Int] = []
    var droppedLines: [Int] = []
    var hasMissing = false
}

extension SensorCSV {
    static func parseTable(_ scanner: inout TextScanner, options: SensorCSVOptions) throws -> SensorTable {
        let path = scanner.path
        guard let header = scanner.nextLine(), !scanner.isBlank(header) else {
            throw AudioIOError.badHeader(path: path, reason: "line 1 is blank: a header row is required")
        }
        let delimiter = chooseDelimiter(options.delimiter, header: header, scanner: scanner)
        var fields: [Range<Int>] = []
        var quoted: [Bool] = []
        guard scanner.splitFields(header, delimiter: delimiter, into: &fields, quoted: &quoted) else {
            throw AudioIOError.badHeader(path: path, reason: "line 1: unterminated quote")
        }
        let names = (0..<fields.count).map { scanner.cell(fields[$0], quoted: quoted[$0]) }
        for (i, name) in names.enumerated() {
            guard !name.isEmpty else {
                throw AudioIOError.badHeader(path: path, reason: "line 1: column \(i + 1) has no name")
            }
            guard names[..<i].firstIndex(of: name) == nil else {
                throw AudioIOError.badHeader(path: path, reason: "line 1: duplicate column name '\(name)'")
            }
        }

        let timeIndex = try columnIndex(
            options.timestampColumn, autoNames: ["timestamp", "time", "date"], names: names, path: path)
        if timeIndex == nil && options.sampleRate == nil {
            throw AudioIOError.missingColumn(path: path, column: "timestamp", available: names)
        }
        let labelIndex = try columnIndex(options.labelColumn, autoNames: ["label"], names: names, path: path)

        var channelIndices: [Int]
        if let wanted = options.channels {
            channelIndices = try wanted.map { name in
                guard let index = names.firstIndex(of: name) else {
                    throw AudioIOError.missingColumn(path: path, column: name, available: names)
                }
                return index
            }
        } else {
            channelIndices = names.indices.filter { $0 != timeIndex && $0 != labelIndex }
            // Keep the columns whose first data cell is a number or missing: look ahead one row, then come back.
            let mark = scanner.mark
            while let line = scanner.nextLine() {
                guard !scanner.isBlank(line) else { continue }
                if scanner.splitFields(line, delimiter: delimiter, into: &fields, quoted: &quoted),
                    fields.count == names.count
                {
                    channelIndices = channelIndices.filter {
                        scanner.isMissingToken(fields[$0]) || scanner.double(fields[$0]) != nil
                    }
                }
                break
            }
            scanner.restore(mark)
            guard !channelIndices.isEmpty else {
                throw AudioIOError.badHeader(
                    path: path, reason: "no numeric channel column (columns: \(names.joined(separator: ", ")))")
            }
        }

        var table = SensorTable(
            channelNames: channelIndices.map { names[$0] },
            values: Array(repeating: [], count: channelIndices.count),
            times: timeIndex == nil ? nil : [],
            labels: labelIndex == nil ? nil : [])
        var row = [Float](repeating: 0, count: channelIndices.count)
        var lastTime = -Double.infinity
        var lastLine = 1
        while let line = scanner.nextLine() {
            guard !scanner.isBlank(line) else { continue }
            let number = scanner.lineNumber
            guard scanner.splitFields(line, delimiter: delimiter, into: &fields, quoted: &quoted) else {
                throw AudioIOError.badRow(path: path, line: number, reason: "unterminated quote")
            }
            guard fields.count == names.count else {
                throw AudioIOError.badRow(
                    path: path, line: number,
                    reason: "expected \(names.count) fields as in the header, found \(fields.count)")
            }
            var time = 0.0
            if let timeIndex {
                let cell = fields[timeIndex]
                guard !scanner.isMissingToken(cell) else {
                    throw AudioIOError.missingValue(path: path, line: number, column: names[timeIndex])
                }
                guard let t = scanner.timestamp(cell) else {
                    throw AudioIOError.badRow(
                        path: path, line: number,
                        reason: "cannot read timestamp '\(scanner.string(cell))' in column '\(names[timeIndex])'")
                }
                time = t
            }
            var drop = false
            for (k, column) in channelIndices.enumerated() {
                let cell = fields[column]
                var value = Double.nan
                if !scanner.isMissingToken(cell) {
                    guard let v = scanner.double(cell) else {
                        throw AudioIOError.badRow(
                            path: path, line: number,
                            reason: "non-numeric value '\(scanner.string(cell))' in column '\(names[column])'")
                    }
                    value = v
                }
                if value.isNaN {
                    switch options.missingValues {
                    case .error: throw AudioIOError.missingValue(path: path, line: number, column: names[column])
                    case .dropRow: drop = true
                    default: table.hasMissing = true
                    }
                }
                row[k] = Float(value)
            }
            if drop {
                table.droppedLines.append(number)
                continue
            }
            if timeIndex != nil {
                if time <= lastTime {
                    switch options.unorderedTimestamps {
                    case .error:
                        throw time == lastTime
                            ? AudioIOError.duplicateTimestamp(path: path, line: number, previousLine: lastLine)
                            : AudioIOError.nonMonotonicTimestamp(path: path, line: number, previousLine: lastLine)
                    case .dropRow:
                        table.unorderedLines.append(number)
                        continue
                    case .keep:
                        table.unorderedLines.append(number)
                    }
                }
                lastTime = time
                lastLine = number
                table.times?.append(time)
            }
            for k in row.indices { table.values[k].append(row[k]) }
            if let labelIndex { table.labels?.append(scanner.cell(fields[labelIndex], quoted: quoted[labelIndex])) }
            table.lines.append(number)
        }
        return table
    }

    static func chooseDelimiter(
        _ choice: SensorCSVOptions.Delimiter, header: Range<Int>, scanner: TextScanner
    ) -> UInt8 {
        switch choice {
        case .comma: return UInt8(ascii: ",")
        case .semicolon: return UInt8(ascii: ";")
        case .tab: return 0x09
        case .auto:
            var counts: [UInt8: Int] = [UInt8(ascii: ","): 0, UInt8(ascii: ";"): 0, 0x09: 0]
            var inQuotes = false
            for i in header {
                let byte = scanner.buffer[i]
                if byte == UInt8(ascii: "\"") { inQuotes.toggle() }
                if !inQuotes, let count = counts[byte] { counts[byte] = count + 1 }
            }
            let best = [UInt8(ascii: ","), UInt8(ascii: ";"), 0x09].max {
                counts[$0, default: 0] < counts[$1, default: 0]
            }
            return best.flatMap { counts[$0, default: 0] > 0 ? $0 : nil } ?? UInt8(ascii: ",")
        }
    }

    private static func columnIndex(
        _ choice: SensorCSVOptions.Column, autoNames: [String], names: [String], path: String
    ) throws -> Int? {
        switch choice {
        case .none:
            return nil
        case .named(let name):
            guard let index = names.firstIndex(of: name) else {
                throw AudioIOError.missingColumn(path: path, column: name, available: names)
            }
            return index
        case .auto:
            let lowered = names.map { $0.lowercased() }
            for candidate in autoNames {
                if let index = lowered.firstIndex(of: candidate) { return index }
            }
            return nil
        }
    }
}

extension TextScanner {
    /// Splits `line` at `delimiter` into cell ranges (RFC 4180 quotes: `"a,b"` and `""` inside quotes).
    ///
    /// Unquoted cells are trimmed of spaces; a quoted cell's range excludes its quotes. Returns `false` for an
    /// unterminated quote or text after a closing quote.
    func splitFields(
        _ line: Range<Int>, delimiter: UInt8, into fields: inout [Range<Int>], quoted: inout [Bool]
    ) -> Bool {
        fields.removeAll(keepingCapacity: true)
        quoted.removeAll(keepingCapacity: true)
        let quote = UInt8(ascii: "\"")
        let upper = line.upperBound
        var i = line.lowerBound
        while true {
            var start = i
            while start < upper && buffer[start] != delimiter && (buffer[start] == 0x20 || buffer[start] == 0x09) {
                start += 1
            }
            if start < upper && buffer[start] == quote {
                var j = start + 1
                while true {
                    guard j < upper else { return false }
                    if buffer[j] == quote {
                        if j + 1 < upper && buffer[j + 1] == quote {
                            j += 2
                            continue
                        }
                        break
                    }
                    j += 1
                }
                fields.append((start + 1)..<j)
                quoted.append(true)
                var k = j + 1
                while k < upper && buffer[k] != delimiter && (buffer[k] == 0x20 || buffer[k] == 0x09) { k += 1 }
                if k == upper { return true }
                guard buffer[k] == delimiter else { return false }
                i = k + 1
            } else {
                var j = i
                while j < upper && buffer[j] != delimiter { j += 1 }
                fields.append(trimmed(i..<j))
                quoted.append(false)
                if j == upper { return true }
                i = j + 1
            }
        }
    }

    /// The text of a cell, with `""` unescaped when it was quoted.
    func cell(_ range: Range<Int>, quoted: Bool) -> String {
        let text = string(range)
        return quoted ? text.replacingOccurrences(of: "\"\"", with: "\"") : text
    }
}
