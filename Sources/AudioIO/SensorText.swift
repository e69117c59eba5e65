import Foundation

/// Parses the timestamp formats the sensor, label and interval readers accept into seconds since the Unix epoch.
///
/// Accepted forms (the same for every reader in this module):
/// ```
/// 1386018900            epoch seconds (any number `Double(String)` reads: 1386018900.25, 1.3e9)
/// 2013-12-02            midnight
/// 2013-12-02 21:15      date and time, seconds optional
/// 2013-12-02T21:15:00   ISO 8601 with `T` (or `t`)
/// 2013-12-02 21:15:00.000123   fractional seconds, any number of digits
/// 2013-12-02T21:15:00Z  2013-12-02T23:15:00+02:00  2013-12-02T23:15:00+0200  …+02   UTC offsets
/// ```
/// A time without `Z` or an offset is read as UTC, as `pandas.to_datetime(...).astype("int64")` and NAB's
/// scorer treat NAB's naive timestamps; the result never depends on the machine's time zone.
public enum SensorTimestamp {
    /// Seconds since 1970-01-01T00:00:00Z for `text`, or `nil` when it is in none of the accepted forms.
    ///
    /// - Parameter text: a timestamp; surrounding spaces are ignored.
    /// - Returns: seconds since the Unix epoch (negative before 1970); fractional seconds keep about 0.2 µs of
    ///   resolution near the present (Double has 53 bits).
    public static func parse(_ text: String) -> Double? {
        var bytes = Array(text.utf8)
        bytes.append(0)
        return bytes.withUnsafeBufferPointer { buffer in
            let scanner = TextScanner(buffer: buffer, path: "")
            return scanner.timestamp(scanner.trimmed(0..<(buffer.count - 1)))
        }
    }

    /// Days from 1970-01-01 to the proleptic Gregorian date `year-month-day` (Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// Days in `month` of `year` (Gregorian leap years).
    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

/// Reads a whole text file into memory with a NUL sentinel and hands a scanner over its bytes to `body`.
///
/// Parsing bytes in place (no `String` per line or per cell) keeps a 20,000-row CSV in the milliseconds.
func withTextFile<R>(path: String, _ body: (inout TextScanner) throws -> R) throws -> R {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw AudioIOError.cannotOpen(path: path, reason: "no such file")
    }
    guard !isDirectory.boolValue else { throw AudioIOError.cannotOpen(path: path, reason: "is a directory") }
    guard let data = FileManager.default.contents(atPath: path) else {
        throw AudioIOError.cannotOpen(path: path, reason: "not readable")
    }
    guard !data.isEmpty else { throw AudioIOError.empty(path: path) }
    var bytes = [UInt8](data)
    bytes.append(0)
    return try bytes.withUnsafeBufferPointer { buffer in
        var scanner = TextScanner(buffer: buffer, path: path)
        return try body(&scanner)
    }
}

/// A cursor over the bytes of a text file (the last byte is a NUL sentinel), yielding lines and parsing cells.
///
/// Lines end in `\n` or `\r\n`; a UTF-8 byte-order mark is skipped. Ranges index `buffer` and exclude the line
/// ending. `lineNumber` is 1-based and counts every physical line, blank or not.
struct TextScanner {
    let buffer: UnsafeBufferPointer<UInt8>
    let path: String
    /// Index of the NUL sentinel (= the file's byte count).
    let end: Int
    private(set) var position: Int
    private(set) var lineNumber = 0

    init(buffer: UnsafeBufferPointer<UInt8>, path: String) {
        self.buffer = buffer
        self.path = path
        end = buffer.count - 1
        let hasBOM = end >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF
        position = hasBOM ? 3 : 0
    }

    /// The next line's byte range without its line ending, or `nil` at the end of the file.
    mutating func nextLine() -> Range<Int>? {
        guard position < end else { return nil }
        let start = position
        var stop = start
        while stop < end && buffer[stop] != UInt8(ascii: "\n") { stop += 1 }
        position = stop < end ? stop + 1 : end
        lineNumber += 1
        if stop > start && buffer[stop - 1] == UInt8(ascii: "\r") { stop -= 1 }
        return start..<stop
    }

    /// Saves the cursor (to look ahead and come back with `restore`).
    var mark: (position: Int, lineNumber: Int) { (position, lineNumber) }

    /// Moves the cursor back to a saved `mark`.
    mutating func restore(_ mark: (position: Int, lineNumber: Int)) {
        position = mark.position
        lineNumber = mark.lineNumber
    }

    /// `range` without leading and trailing spaces and tabs.
    func trimmed(_ range: Range<Int>) -> Range<Int> {
        var lower = range.lowerBound
        var upper = range.upperBound
        while lower < upper && (buffer[lower] == 0x20 || buffer[lower] == 0x09) { lower += 1 }
        while upper > lower && (buffer[upper - 1] == 0x20 || buffer[upper - 1] == 0x09) { upper -= 1 }
        return lower..<upper
    }

    /// Splits `range` at every `delimiter` into trimmed cell ranges (no quoting; `""` gives one empty cell).
    func split(_ range: Range<Int>, at delimiter: UInt8, into cells: inout [Range<Int>]) {
        cells.removeAll(keepingCapacity: true)
        var start = range.lowerBound
        for i in range where buffer[i] == delimiter {
            cells.append(trimmed(start..<i))
            start = i + 1
        }
        cells.append(trimmed(start..<range.upperBound))
    }

    /// True when `range` holds only spaces and tabs.
    func isBlank(_ range: Range<Int>) -> Bool { trimmed(range).isEmpty }

    /// The bytes of `range` decoded as UTF-8 (invalid sequences become U+FFFD).
    func string(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: buffer[range]), as: UTF8.self)
    }

    /// True when `range` holds exactly the ASCII text `literal`, ignoring case.
    func equalsIgnoringCase(_ range: Range<Int>, _ literal: StaticString) -> Bool {
        guard range.count == literal.utf8CodeUnitCount else { return false }
        let text = literal.utf8Start
        for i in 0..<range.count where lowercased(buffer[range.lowerBound + i]) != lowercased(text[i]) {
            return false
        }
        return true
    }

    private func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte
    }

    /// The number in `range` (all of it, as Swift's `Double(String)` reads it: correctly rounded, `inf`, `nan`),
    /// or `nil`.
    func double(_ range: Range<Int>) -> Double? {
        guard !range.isEmpty else { return nil }
        // Cells up to 15 bytes make a small String held inline (no allocation); the standard library's parser
        // is correctly rounded and independent of the C locale, unlike plain `strtod`.
        return Double(String(decoding: UnsafeBufferPointer(rebasing: buffer[range]), as: UTF8.self))
    }

    /// True when `range` spells a missing value: empty, or `NA`, `N/A`, `null`, `None`, `#N/A`, `<NA>`
    /// (any case) — `nan` and `NaN` are numbers `double` reads as NaN. These are pandas' default `na_values`.
    func isMissingToken(_ range: Range<Int>) -> Bool {
        guard range.count <= 4 else { return false }
        return range.isEmpty || equalsIgnoringCase(range, "na") || equalsIgnoringCase(range, "n/a")
            || equalsIgnoringCase(range, "null") || equalsIgnoringCase(range, "none")
            || equalsIgnoringCase(range, "#n/a") || equalsIgnoringCase(range, "<na>")
    }

    /// Seconds since the Unix epoch for a timestamp in any form `SensorTimestamp` documents, or `nil`.
    func timestamp(_ range: Range<Int>) -> Double? {
        // A date has '-' at index 4; anything else may be epoch seconds.
        let isDate = range.count >= 10 && buffer[range.lowerBound + 4] == UInt8(ascii: "-")
        if !isDate {
            guard let number = double(range), number.isFinite else { return nil }
            return number
        }
        var cursor = DateCursor(buffer: buffer, position: range.lowerBound, upper: range.upperBound)
        return cursor.parse()
    }
}

/// The calendar-date part of `TextScanner.timestamp`: a cursor over `buffer[position..<upper]`.
///
/// A struct with mutating methods rather than nested functions capturing a `var`, which would cost a dynamic
/// exclusivity check per byte.
private struct DateCursor {
    let buffer: UnsafeBufferPointer<UInt8>
    var position: Int
    let upper: Int

    /// Reads exactly `count` ASCII digits as a number.
    mutating func digits(_ count: Int) -> Int? {
        guard upper - position >= count else { return nil }
        var value = 0
        for _ in 0..<count {
            let byte = buffer[position]
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            value = value * 10 + Int(byte - 0x30)
            position += 1
        }
        return value
    }

    /// Consumes `byte` if it is next.
    mutating func accept(_ byte: UInt8) -> Bool {
        guard position < upper && buffer[position] == byte else { return false }
        position += 1
        return true
    }

    var atEnd: Bool { position == upper }
    var next: UInt8? { position < upper ? buffer[position] : nil }

    mutating func parse() -> Double? {
        guard let year = digits(4), accept(UInt8(ascii: "-")), let month = digits(2), accept(UInt8(ascii: "-")),
            let day = digits(2), (1...12).contains(month),
            (1...SensorTimestamp.daysIn(month: month, year: year)).contains(day)
        else { return nil }
        var seconds = Double(SensorTimestamp.daysFromCivil(year: year, month: month, day: day) * 86_400)
        guard !atEnd else { return seconds }
        guard accept(UInt8(ascii: "T")) || accept(UInt8(ascii: "t")) || accept(UInt8(ascii: " ")) else { return nil }
        guard let hour = digits(2), hour < 24, accept(UInt8(ascii: ":")), let minute = digits(2), minute < 60 else {
            return nil
        }
        var second = 0
        var fraction = 0.0
        if accept(UInt8(ascii: ":")) {
            guard let s = digits(2), s < 60 else { return nil }
            second = s
            if accept(UInt8(ascii: ".")) {
                // Exact decimal digits: value / 10^n in one correctly rounded division for n ≤ 15 digits.
                var value = 0.0
                var scale = 1.0
                while let byte = next, byte >= 0x30 && byte <= 0x39 {
                    if scale < 1e15 {
                        value = value * 10 + Double(byte - 0x30)
                        scale *= 10
                    }
                    position += 1
                }
                guard scale > 1 else { return nil }
                fraction = value / scale
            }
        }
        var offset = 0
        if accept(UInt8(ascii: "Z")) || accept(UInt8(ascii: "z")) {
            offset = 0
        } else if let sign = next, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            position += 1
            guard let offsetHours = digits(2), offsetHours <= 23 else { return nil }
            var offsetMinutes = 0
            if !atEnd {
                _ = accept(UInt8(ascii: ":"))
                guard let m = digits(2), m < 60 else { return nil }
                offsetMinutes = m
            }
            offset = (sign == UInt8(ascii: "-") ? -1 : 1) * (offsetHours * 3600 + offsetMinutes * 60)
        }
        guard atEnd else { return nil }
        seconds += Double(hour * 3600 + minute * 60 + second - offset)
        return seconds + fraction
    }
}
