/// Reads time-series classification sets in the sktime / UEA `.ts` text format.
///
/// ```
/// # comment lines
/// @problemName BasicMotions
/// @timeStamps false
/// @missing false
/// @univariate false
/// @dimensions 6
/// @equalLength true
/// @seriesLength 100
/// @classLabel true Standing Running Walking Badminton
/// @data
/// 0.07,0.08,…:0.39,0.39,…:…:Standing      one case a line: channels split by `:`, values by `,`, label last
/// ```
/// Each case becomes a `Signal` `[channels, length]`; lengths may differ between cases (`@equalLength false`).
/// `?` is a missing value, read as NaN. This is the format `sktime.datasets.load_from_tsfile` reads and the
/// UEA/UCR archive (Bagnall et al. 2018) publishes; `@timeStamps true` files are not supported.
public enum UEA {
    /// Reads the `.ts` file at `path`.
    ///
    /// - Parameters:
    ///   - path: the `.ts` file.
    ///   - sampleRate: the rate given to every case's `Signal` in Hz. Default 1: the format stores none, so a
    ///     time step is one sample. Must be > 0.
    /// - Returns: the cases, their labels and the header.
    /// - Throws: `AudioIOError.cannotOpen`, `.empty`, `.badHeader` (no `@data`, `@timeStamps true`),
    ///   `.badRow` (an unknown or malformed `@` tag, a case whose channel count, length or values disagree with
    ///   the header or with itself, `?` under `@missing false`), `.unknownLabel` (a label `@classLabel` does not
    ///   declare), and `.invalidParameter` for a bad `sampleRate`.
    /// - Complexity: O(file size).
    public static func read(path: String, sampleRate: Double = 1) throws -> UEADataset {
        guard sampleRate > 0, sampleRate.isFinite else {
            throw AudioIOError.invalidParameter(name: "sampleRate", value: "\(sampleRate)", reason: "must be > 0")
        }
        return try withTextFile(path: path) { scanner in try parse(&scanner, sampleRate: sampleRate) }
    }

    private static func parse(_ scanner: inout TextScanner, sampleRate: Double) throws -> UEADataset {
        let path = scanner.path
        var header = UEAHeader()
        var dataStarted = false
        var cases: [Signal] = []
        var labels: [String] = []
        var parts: [Range<Int>] = []
        var values: [Range<Int>] = []
        var samples: [Float] = []
        while let rawLine = scanner.nextLine() {
            let line = scanner.trimmed(rawLine)
            let number = scanner.lineNumber
            if line.isEmpty || scanner.buffer[line.lowerBound] == UInt8(ascii: "#") { continue }
            if scanner.buffer[line.lowerBound] == UInt8(ascii: "@") {
                guard !dataStarted else {
                    throw AudioIOError.badRow(path: path, line: number, reason: "header tag after @data")
                }
                dataStarted = try readTag(scanner.string(line), line: number, into: &header, path: path)
                continue
            }
            guard dataStarted else {
                throw AudioIOError.badRow(path: path, line: number, reason: "data before the @data line")
            }
            scanner.split(line, at: UInt8(ascii: ":"), into: &parts)
            if header.hasLabels {
                guard parts.count >= 2 else {
                    throw AudioIOError.badRow(path: path, line: number, reason: "expected channels and a label")
                }
                let label = scanner.string(parts.removeLast())
                if header.classLabel && !header.classLabels.contains(label) {
                    throw AudioIOError.unknownLabel(
                        path: path, line: number, label: label, declared: header.classLabels)
                }
                labels.append(label)
            }
            let channels = header.dimensions ?? cases.first?.channels ?? parts.count
            guard parts.count == channels else {
                throw AudioIOError.badRow(
                    path: path, line: number, reason: "\(parts.count) channels, expected \(channels)")
            }
            samples.removeAll(keepingCapacity: true)
            var length = 0
            for (c, part) in parts.enumerated() {
                scanner.split(part, at: UInt8(ascii: ","), into: &values)
                if c == 0 {
                    length = values.count
                } else if values.count != length {
                    throw AudioIOError.badRow(
                        path: path, line: number,
                        reason: "channel \(c) has \(values.count) values, channel 0 has \(length)")
                }
                for (i, cell) in values.enumerated() {
                    if cell.count == 1 && scanner.buffer[cell.lowerBound] == UInt8(ascii: "?") {
                        guard header.missing != false else {
                            throw AudioIOError.badRow(
                                path: path, line: number,
                                reason: "missing value '?' in channel \(c) at \(i), but the header says @missing false")
                        }
                        samples.append(.nan)
                    } else if let value = scanner.double(cell) {
                        samples.append(Float(value))
                    } else {
                        throw AudioIOError.badRow(
                            path: path, line: number,
                            reason: "channel \(c) value \(i): '\(scanner.string(cell))' is not a number")
                    }
                }
            }
            if header.equalLength == true {
                let expected = header.seriesLength ?? cases.first?.frames ?? length
                guard length == expected else {
                    throw AudioIOError.badRow(
                        path: path, line: number,
                        reason:
                            "\(length) values per channel, but @equalLength true and the series length is \(expected)")
                }
            }
            cases.append(
                try Signal(
                    samples: samples, channels: channels, sampleRate: sampleRate,
                    channelNames: (0..<channels).map { "dim_\($0)" }))
        }
        guard dataStarted else { throw AudioIOError.badHeader(path: path, reason: "no @data line") }
        return UEADataset(header: header, cases: cases, labels: header.hasLabels ? labels : nil)
    }

    /// Applies one `@tag value…` line to `header`; returns true for `@data`.
    private static func readTag(_ text: String, line: Int, into header: inout UEAHeader, path: String) throws -> Bool {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        let tag = words[0].lowercased()
        let arguments = Array(words.dropFirst())
        func flag() throws -> Bool {
            switch arguments.first?.lowercased() {
            case "true": return true
            case "false": return false
            default:
                throw AudioIOError.badRow(
                    path: path, line: line,
                    reason: "\(words[0]) expects true or false, found '\(arguments.first ?? "")'")
            }
        }
        func count() throws -> Int {
            guard let value = arguments.first.flatMap({ Int($0) }), value > 0 else {
                throw AudioIOError.badRow(
                    path: path, line: line,
                    reason: "\(words[0]) expects a positive integer, found '\(arguments.first ?? "")'")
            }
            return value
        }
        switch tag {
        case "@problemname": header.problemName = arguments.joined(separator: " ")
        case "@timestamps":
            if try flag() {
                throw AudioIOError.badHeader(path: path, reason: "line \(line): @timeStamps true is not supported")
            }
        case "@missing": header.missing = try flag()
        case "@univariate":
            header.univariate = try flag()
            if header.univariate == true { header.dimensions = 1 }
        case "@dimension", "@dimensions": header.dimensions = try count()
        case "@equallength": header.equalLength = try flag()
        case "@serieslength": header.seriesLength = try count()
        case "@classlabel":
            header.classLabel = try flag()
            header.classLabels = Array(arguments.dropFirst())
            if header.classLabel && header.classLabels.isEmpty {
                throw AudioIOError.badRow(path: path, line: line, reason: "@classLabel true lists no class")
            }
        case "@targetlabel": header.targetLabel = try flag()
        case "@data": return true
        default: throw AudioIOError.badRow(path: path, line: line, reason: "unknown header tag '\(words[0])'")
        }
        return false
    }
}

/// The `@` header of a `.ts` file; `nil` for a tag the file does not give.
public struct UEAHeader: Sendable, Equatable {
    /// `@problemName`.
    public var problemName: String?
    /// `@missing`: whether `?` may appear.
    public var missing: Bool?
    /// `@univariate`: one channel per case.
    public var univariate: Bool?
    /// `@dimensions`: channels per case (1 when `@univariate true`).
    public var dimensions: Int?
    /// `@equalLength`: every case has the same length.
    public var equalLength: Bool?
    /// `@seriesLength`: that length.
    public var seriesLength: Int?
    /// `@classLabel true …`: each case ends with a class label from `classLabels`.
    public var classLabel = false
    /// The class names `@classLabel true` declares, in file order.
    public var classLabels: [String] = []
    /// `@targetLabel true`: each case ends with a regression target (kept as text in `UEADataset.labels`).
    public var targetLabel = false

    /// Creates an empty header (no tag given).
    public init() {}

    /// True when each case line ends with a label or target.
    public var hasLabels: Bool { classLabel || targetLabel }
}

/// The contents of a `.ts` file: cases of `[channels, length]`, their labels and the header.
public struct UEADataset: Sendable, Equatable {
    /// The header tags.
    public var header: UEAHeader
    /// One `Signal` `[channels, length]` per case (channels `dim_0`, `dim_1`, … as sktime names them).
    public var cases: [Signal]
    /// One label per case (class name or target text); `nil` when the file has neither.
    public var labels: [String]?

    /// Creates a dataset.
    public init(header: UEAHeader, cases: [Signal], labels: [String]?) {
        self.header = header
        self.cases = cases
        self.labels = labels
    }

    /// The declared class names (`@classLabel true …`), the index space of `classIndices`.
    public var classLabels: [String] { header.classLabels }

    /// Each case's label as an index into `classLabels`; `nil` without class labels or with an undeclared one.
    public var classIndices: [Int]? {
        guard header.classLabel, let labels else { return nil }
        let index = Dictionary(classLabels.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        let indices = labels.compactMap { index[$0] }
        return indices.count == labels.count ? indices : nil
    }
}
