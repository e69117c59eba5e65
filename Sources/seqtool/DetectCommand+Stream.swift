import AudioIO
import Foundation

/// Reads a sensor CSV (a file or standard input) row by row with bounded memory: a line-streaming companion of
/// `SensorCSV.read`, which loads whole files.
///
/// The header names the columns; the delimiter (`,`, `;` or tab) is the one the header holds most of; the
/// timestamp column is `timestamp`, `time` or `date` (any case; optional), the label column `label` (optional);
/// the channels are the columns named by `channels`, in that order. Times are read by `SensorTimestamp` (so they
/// match `SensorCSV` and `IntervalLabels`), values as `Double(String)` then `Float`, as `SensorCSV` does.
struct SensorRowStream {
    /// One data row.
    struct Row {
        /// 1-based line number in the source.
        var line: Int
        /// Seconds since the Unix epoch, or `nil` without a timestamp column.
        var time: Double?
        /// The text of the label column, or `nil` without one.
        var label: Substring?
        /// One value per requested channel.
        var values: [Float]
    }

    /// Names the source in errors (`-` reads standard input and is called `stdin`).
    let source: String
    /// The header's column names.
    let columns: [String]
    /// Whether the timestamp column holds dates (`2026-03-02 08:00:00`) rather than epoch seconds.
    private(set) var datesInFile = false
    private let handle: FileHandle
    private let delimiter: Character
    private let timeColumn: Int?
    private let labelColumn: Int?
    private let channelColumns: [Int]
    private var buffer = Data()
    private var position = 0
    private var atEnd = false
    private var lineNumber = 0
    private var sawRow = false

    /// Opens `path` (`-` for standard input) and reads its header.
    ///
    /// - Throws: `AudioIOError.cannotOpen` for an unreadable file, `AudioIOError.empty` without a header,
    ///   `DetectError.missingChannels` naming every channel the header lacks.
    init(path: String, channels: [String]) throws {
        if path == "-" {
            handle = FileHandle.standardInput
            source = "stdin"
        } else {
            guard let file = FileHandle(forReadingAtPath: path) else {
                throw AudioIOError.cannotOpen(path: path, reason: "no such file or not readable")
            }
            handle = file
            source = path
        }
        var header: String?
        var lineCount = 0
        var reader = LineBuffer()
        while header == nil, let line = reader.next(from: handle) {
            lineCount += 1
            if !line.trimmingCharacters(in: .whitespaces).isEmpty { header = line }
        }
        guard let header else { throw AudioIOError.empty(path: source) }
        let candidates: [Character] = [",", ";", "\t"]
        let delimiter = candidates.max { a, b in header.filter { $0 == a }.count < header.filter { $0 == b }.count }
        self.delimiter = delimiter ?? ","
        let names = header.split(separator: self.delimiter, omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespacesAndNewlines).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        columns = names
        let lowered = names.map { $0.lowercased() }
        timeColumn = ["timestamp", "time", "date"].lazy.compactMap { lowered.firstIndex(of: $0) }.first
        labelColumn = lowered.firstIndex(of: "label")
        let missing = channels.filter { !names.contains($0) }
        guard missing.isEmpty else {
            throw DetectError.missingChannels(source: source, missing: missing, available: names)
        }
        channelColumns = channels.compactMap { names.firstIndex(of: $0) }
        buffer = reader.remaining
        atEnd = reader.atEnd
        lineNumber = lineCount
    }

    /// Whether the stream has a timestamp column.
    var hasTimestamps: Bool { timeColumn != nil }
    /// Whether the stream has a label column.
    var hasLabels: Bool { labelColumn != nil }

    /// The next data row, or `nil` at the end (blank lines are skipped).
    ///
    /// - Throws: `DetectError.badRow` naming the line for a wrong field count, an unreadable time or a missing or
    ///   unreadable value.
    mutating func next() throws -> Row? {
        var reader = LineBuffer(data: buffer, atEnd: atEnd)
        defer {
            buffer = reader.remaining
            atEnd = reader.atEnd
        }
        while let line = reader.next(from: handle) {
            lineNumber += 1
            let text = line.hasSuffix("\r") ? Substring(line.dropLast()) : Substring(line)
            if text.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            let fields = text.split(separator: delimiter, omittingEmptySubsequences: false)
            guard fields.count == columns.count else {
                throw DetectError.badRow(
                    source: source, line: lineNumber, reason: "expected \(columns.count) fields, found \(fields.count)")
            }
            var time: Double?
            if let timeColumn {
                let cell = fields[timeColumn].trimmingCharacters(in: .whitespaces)
                guard let t = SensorTimestamp.parse(cell) else {
                    throw DetectError.badRow(source: source, line: lineNumber, reason: "cannot read time '\(cell)'")
                }
                if !sawRow { datesInFile = cell.count >= 10 && cell.contains("-") }
                time = t
            }
            var values: [Float] = []
            values.reserveCapacity(channelColumns.count)
            for column in channelColumns {
                let cell = fields[column].trimmingCharacters(in: .whitespaces)
                guard let value = Double(cell), value.isFinite else {
                    throw DetectError.badRow(
                        source: source, line: lineNumber,
                        reason: "column '\(columns[column])': '\(cell)' is not a finite number")
                }
                values.append(Float(value))
            }
            sawRow = true
            return Row(line: lineNumber, time: time, label: labelColumn.map { fields[$0] }, values: values)
        }
        return nil
    }
}

/// Splits bytes read in 64 KiB blocks into lines (without the `\n`).
private struct LineBuffer {
    var remaining = Data()
    var atEnd = false

    init() {}

    init(data: Data, atEnd: Bool) {
        remaining = data
        self.atEnd = atEnd
    }

    mutating func next(from handle: FileHandle) -> String? {
        while true {
            if let newline = remaining.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: remaining[remaining.startIndex..<newline], as: UTF8.self)
                remaining = remaining[(newline + 1)...]
                return line
            }
            if atEnd {
                guard !remaining.isEmpty else { return nil }
                defer { remaining = Data() }
                return String(decoding: remaining, as: UTF8.self)
            }
            let block = (try? handle.read(upToCount: 1 << 16)) ?? nil
            if let block, !block.isEmpty {
                remaining = Data(remaining) + block
            } else {
                atEnd = true
            }
        }
    }
}
