import Foundation

#if canImport(Glibc)
    import Glibc

    /// write(2); named so it cannot be confused with `NPY.write`.
    private let systemWrite = Glibc.write
#elseif canImport(Darwin)
    import Darwin

    /// write(2); named so it cannot be confused with `NPY.write`.
    private let systemWrite = Darwin.write
#endif

#if _endian(big)
    #error("NPY reads and writes little-endian data with plain memory copies; big-endian hosts are not supported")
#endif

/// An element type a `.npy` file can hold, spelled as NumPy's `dtype.str`.
///
/// All of them are read (and converted to Float32); ``float32`` and ``float64`` can be written.
public enum NPYDType: String, Sendable, CaseIterable {
    /// `<f4`, little-endian IEEE float32: the main type, `np.float32`.
    case float32 = "<f4"
    /// `<f8`, little-endian IEEE float64 (`np.float64`); rounded to Float32 when read.
    case float64 = "<f8"
    /// `<i4`, little-endian int32; converted to Float32 when read (exact up to 2^24).
    case int32 = "<i4"
    /// `<i8`, little-endian int64; converted to Float32 when read (exact up to 2^24).
    case int64 = "<i8"
    /// `|u1`, uint8.
    case uint8 = "|u1"
    /// `|i1`, int8.
    case int8 = "|i1"

    /// Bytes per element.
    public var itemSize: Int {
        switch self {
        case .float32, .int32: return 4
        case .float64, .int64: return 8
        case .uint8, .int8: return 1
        }
    }

    /// Parses a `descr` string; `=` (native) is accepted as little-endian and `<` for one-byte types as `|`.
    init?(descr: String) {
        guard let first = descr.first, "<|=".contains(first) else { return nil }
        let code = descr.dropFirst()
        switch code {
        case "f4": self = .float32
        case "f8": self = .float64
        case "i4": self = .int32
        case "i8": self = .int64
        case "u1": self = .uint8
        case "i1": self = .int8
        default: return nil
        }
    }
}

/// The `.npy` format version: 1.0 (header length in 2 bytes) or 2.0 (4 bytes, for headers over 64 KiB).
///
/// NumPy writes 1.0 whenever the header fits and so do we by default; 3.0 (UTF-8 field names) is read too.
public enum NPYVersion: Int, Sendable {
    /// Format 1.0.
    case v1 = 1
    /// Format 2.0.
    case v2 = 2
    /// Format 3.0 (read only; written by NumPy only for structured dtypes with non-Latin-1 names).
    case v3 = 3
}

/// The parsed header of a `.npy` file.
public struct NPYHeader: Sendable, Equatable {
    /// The format version.
    public var version: NPYVersion
    /// The element type.
    public var dtype: NPYDType
    /// `true` for column-major (Fortran) order, which this library refuses to read.
    public var fortranOrder: Bool
    /// The array's shape (empty for a 0-d scalar array).
    public var shape: [Int]
    /// Byte offset of the first element (a multiple of 64 in files NumPy writes).
    public var dataOffset: Int

    /// Number of elements, the product of `shape` (1 for a scalar).
    public var elementCount: Int { shape.reduce(1, *) }
    /// Bytes of element data, `elementCount * dtype.itemSize`.
    public var dataBytes: Int { elementCount * dtype.itemSize }
}

/// An n-dimensional Float32 array in C (row-major) order, as stored in a `.npy` file.
///
/// A ``Signal`` maps to shape `[channels, frames]`; a batch of windows to `[windows, channels, samples]`.
public struct NPYArray: Sendable, Equatable {
    /// The shape, outermost dimension first (empty for a 0-d scalar).
    public let shape: [Int]
    /// The elements in C order, `count == shape.reduce(1, *)`.
    public var values: [Float]

    /// Creates an array from its shape and C-order values.
    ///
    /// - Throws: `AudioIOError.invalidParameter` when a dimension is negative or `values.count` does not match.
    public init(shape: [Int], values: [Float]) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw AudioIOError.invalidParameter(
                name: "shape", value: "\(shape)", reason: "dimensions must be ≥ 0")
        }
        let count = shape.reduce(1, *)
        guard count == values.count else {
            throw AudioIOError.invalidParameter(
                name: "values", value: "\(values.count) elements", reason: "shape \(shape) needs \(count)")
        }
        self.shape = shape
        self.values = values
    }

    /// The planar samples of `signal` as shape `[channels, frames]` (what `np.save(path, x.T)` stores for
    /// `x, sr = soundfile.read(path)`).
    public init(_ signal: Signal) {
        shape = [signal.channels, signal.frames]
        values = signal.samples
    }
}

/// Reading and writing NumPy `.npy` files (format 1.0, 2.0 and 3.0 read; 1.0 and 2.0 written).
///
/// Byte-compatible with `numpy.save` / `numpy.lib.format.write_array`: the same header text, padding and
/// 64-byte alignment, so a file written here equals NumPy's byte for byte. See also ``NPYStreamWriter``
/// (append rows of unknown count) and ``NPYMappedArray`` (row access to arrays larger than memory).
public enum NPY {
    /// Reads the whole array at `path`, converting any supported dtype to Float32.
    ///
    /// Matches `numpy.load(path).astype(np.float32)` for C-order arrays.
    /// - Throws: `AudioIOError.cannotOpen` (missing), `.badArray` (bad magic, damaged header, unsupported or
    ///   big-endian dtype, Fortran order, data shorter than the shape needs).
    public static func read(path: String) throws -> NPYArray {
        let header = try readHeader(path: path)
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw try missingFileError(path) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            throw AudioIOError.ioFailure(path: path, reason: String(cString: strerror(errno)))
        }
        try checkReadable(header, fileSize: Int(status.st_size), path: path)
        let count = header.elementCount
        if header.dtype == .float32 {
            // Straight from the file into the result's storage: no intermediate copy, no zero-fill.
            var failure: AudioIOError?
            let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                failure = readAll(
                    fd, into: UnsafeMutableRawBufferPointer(buffer), at: header.dataOffset, path: path)
                if failure == nil {
                    initialized = count
                } else {
                    buffer.initialize(repeating: 0)
                    initialized = count
                }
            }
            if let failure { throw failure }
            return try NPYArray(shape: header.shape, values: values)
        }
        var raw = [UInt8](repeating: 0, count: header.dataBytes)
        if let failure = raw.withUnsafeMutableBytes({ readAll(fd, into: $0, at: header.dataOffset, path: path) }) {
            throw failure
        }
        var values = [Float](repeating: 0, count: count)
        raw.withUnsafeBytes { bytes in
            values.withUnsafeMutableBufferPointer { convert(bytes, dtype: header.dtype, count: count, into: $0) }
        }
        return try NPYArray(shape: header.shape, values: values)
    }

    /// Fills `buffer` from `fd` starting at byte `offset`; returns an error naming `path` if the file is short.
    static func readAll(
        _ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int, path: String
    ) -> AudioIOError? {
        var done = 0
        while done < buffer.count, let base = buffer.baseAddress {
            let n = pread(fd, base + done, buffer.count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let reason = n < 0 ? String(cString: strerror(errno)) : "file ended early"
                return .ioFailure(path: path, reason: "reading array data: \(reason)")
            }
            done += n
        }
        return nil
    }

    /// Reads only the header of the file at `path` (a few hundred bytes).
    ///
    /// - Throws: `AudioIOError.cannotOpen`, `.badArray` for a damaged header or unsupported dtype.
    public static func readHeader(path: String) throws -> NPYHeader {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw try missingFileError(path)
        }
        defer { try? handle.close() }
        var data = (try? handle.read(upToCount: 12)) ?? Data()
        if data.count == 12 {
            let bytes = [UInt8](data)
            let lengthBytes = bytes[6] == 1 ? 2 : 4
            let length = (0..<lengthBytes).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            let remaining = 8 + lengthBytes + length - 12
            if remaining > 0 { data += (try? handle.read(upToCount: remaining)) ?? Data() }
        }
        return try data.withUnsafeBytes { try parseHeader($0, path: path) }
    }

    /// Writes `array` to `path` atomically (temporary file, then rename), as `np.save` would.
    ///
    /// - Parameters:
    ///   - array: the values and shape to store, C order.
    ///   - path: the destination; its folder must exist. An existing file is replaced.
    ///   - dtype: `.float32` (default, no conversion) or `.float64`; the integer types cannot be written.
    ///   - version: `nil` (default) picks 1.0 when the header fits in 64 KiB, like NumPy; else as given.
    /// - Throws: `AudioIOError.unsupportedFormat` for an integer dtype or 3.0, `.invalidParameter` when `values`
    ///   was resized away from the shape, `.ioFailure` if writing fails.
    public static func write(
        _ array: NPYArray, to path: String, dtype: NPYDType = .float32, version: NPYVersion? = nil
    ) throws {
        guard dtype == .float32 || dtype == .float64 else {
            throw AudioIOError.unsupportedFormat(path: path, format: "npy dtype \(dtype.rawValue)")
        }
        guard version != .v3 else { throw AudioIOError.unsupportedFormat(path: path, format: "npy version 3.0") }
        guard array.values.count == array.shape.reduce(1, *) else {
            throw AudioIOError.invalidParameter(
                name: "values", value: "\(array.values.count) elements",
                reason: "shape \(array.shape) needs "
                    + "\(array.shape.reduce(1, *))")
        }
        let header = encodeHeader(dtype: dtype, shape: array.shape, version: version)
        try AtomicFile.write(to: URL(fileURLWithPath: path)) { temporary in
            let fd = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else {
                throw AudioIOError.ioFailure(path: path, reason: String(cString: strerror(errno)))
            }
            defer { close(fd) }
            try header.withUnsafeBytes { try writeAll(fd, $0, path: path) }
            if dtype == .float32 {
                try array.values.withUnsafeBytes { try writeAll(fd, $0, path: path) }
            } else {
                var chunk = Data()
                for start in stride(from: 0, to: array.values.count, by: 65_536) {
                    chunk.removeAll(keepingCapacity: true)
                    let end = min(start + 65_536, array.values.count)
                    appendEncoded(array.values[start..<end], dtype: dtype, to: &chunk)
                    try chunk.withUnsafeBytes { try writeAll(fd, $0, path: path) }
                }
            }
        }
    }

    /// Writes all of `bytes` to `fd`.
    ///
    /// - Throws: `AudioIOError.ioFailure` naming `path`.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var done = 0
        while done < bytes.count, let base = bytes.baseAddress {
            let n = systemWrite(fd, base + done, bytes.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw AudioIOError.ioFailure(path: path, reason: "write failed: \(String(cString: strerror(errno)))")
            }
            done += n
        }
    }

    // MARK: Header encoding (numpy.lib.format._write_array_header)

    /// The magic string, `\x93NUMPY`.
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
    /// NumPy's `ARRAY_ALIGN`: data starts at a multiple of 64 bytes.
    static let alignment = 64
    /// NumPy's `GROWTH_AXIS_MAX_DIGITS`: spaces reserved so the first dimension can grow in place.
    static let growthDigits = 21

    /// The complete header (magic, version, length, dict text, padding, newline) NumPy writes for this array.
    ///
    /// Its length does not depend on `shape[0]` (up to 21 digits), which lets ``NPYStreamWriter`` rewrite it.
    static func encodeHeader(dtype: NPYDType, shape: [Int], version: NPYVersion?) -> [UInt8] {
        let shapeText =
            shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var text = "{'descr': '\(dtype.rawValue)', 'fortran_order': False, 'shape': \(shapeText), }"
        if let first = shape.first { text += String(repeating: " ", count: growthDigits - String(first).count) }
        let chosen = version ?? (padded(text, lengthBytes: 2).count <= 65_535 ? .v1 : .v2)
        let lengthBytes = chosen == .v1 ? 2 : 4
        let body = padded(text, lengthBytes: lengthBytes)
        var header = magic + [UInt8(chosen.rawValue), 0]
        header += (0..<lengthBytes).map { UInt8(truncatingIfNeeded: body.count >> (8 * $0)) }
        return header + body
    }

    /// `text` + spaces + `\n` so that magic (6) + version (2) + length field + body is a multiple of 64.
    private static func padded(_ text: String, lengthBytes: Int) -> [UInt8] {
        let bytes = Array(text.utf8)
        let unpadded = 8 + lengthBytes + bytes.count + 1
        let padding = (alignment - unpadded % alignment) % alignment
        return bytes + [UInt8](repeating: 0x20, count: padding) + [0x0A]
    }

    // MARK: Header parsing

    /// Parses the header at the start of `raw`.
    static func parseHeader(_ raw: UnsafeRawBufferPointer, path: String) throws -> NPYHeader {
        func bad(_ reason: String) -> AudioIOError { .badArray(path: path, reason: reason) }
        guard raw.count >= 10, Array(raw[0..<6]) == magic else {
            throw bad(raw.isEmpty ? "file is empty" : "not a .npy file (no \\x93NUMPY magic)")
        }
        guard let version = NPYVersion(rawValue: Int(raw[6])), raw[7] == 0 else {
            throw bad("unsupported format version \(raw[6]).\(raw[7])")
        }
        let lengthBytes = version == .v1 ? 2 : 4
        guard raw.count >= 8 + lengthBytes else { throw bad("header cut short") }
        let length = (0..<lengthBytes).reduce(0) { $0 | Int(raw[8 + $1]) << (8 * $1) }
        let start = 8 + lengthBytes
        guard raw.count >= start + length else {
            throw bad("header declares \(length) bytes but the file ends after \(raw.count - start)")
        }
        let headerBytes = raw[start..<(start + length)]
        let text =
            version == .v3
            ? String(decoding: headerBytes, as: UTF8.self)
            : String(headerBytes.map { Character(Unicode.Scalar($0)) })
        var parser = HeaderDictParser(text: text)
        let dict: [String: HeaderValue]
        do {
            dict = try parser.parseDict()
        } catch let error as HeaderDictParser.Failure {
            throw bad("cannot parse header \(text.trimmingCharacters(in: .whitespacesAndNewlines)): \(error.reason)")
        }
        guard case .string(let descr)? = dict["descr"] else { throw bad("header has no 'descr' string") }
        guard let dtype = NPYDType(descr: descr) else {
            let supported = NPYDType.allCases.map(\.rawValue).joined(separator: ", ")
            if descr.hasPrefix(">") {
                throw bad("big-endian dtype '\(descr)' is not supported (use '<'; supported: \(supported))")
            }
            throw bad("unsupported dtype '\(descr)' (supported: \(supported))")
        }
        guard case .bool(let fortran)? = dict["fortran_order"] else {
            throw bad("header has no 'fortran_order' True/False")
        }
        guard case .tuple(let dims)? = dict["shape"] else { throw bad("header has no 'shape' tuple") }
        var shape: [Int] = []
        var total = dtype.itemSize
        for dim in dims {
            guard case .int(let n) = dim, n >= 0 else { throw bad("shape \(dims) has a non-integer or negative") }
            let (product, overflow) = total.multipliedReportingOverflow(by: n)
            guard !overflow else { throw bad("shape \(shape + [n]) is too large") }
            total = product
            shape.append(n)
        }
        return NPYHeader(
            version: version, dtype: dtype, fortranOrder: fortran, shape: shape, dataOffset: start + length)
    }

    /// Checks a parsed header against what the reader supports and the bytes present.
    static func checkReadable(_ header: NPYHeader, fileSize: Int, path: String) throws {
        if header.fortranOrder && header.shape.filter({ $0 > 1 }).count > 1 {
            throw AudioIOError.badArray(
                path: path,
                reason: "Fortran-order array of shape \(header.shape) is not supported; "
                    + "save it with np.ascontiguousarray")
        }
        let present = fileSize - header.dataOffset
        guard present >= header.dataBytes else {
            throw AudioIOError.badArray(
                path: path,
                reason: "data holds \(present) bytes but shape \(header.shape) of \(header.dtype.rawValue) "
                    + "needs \(header.dataBytes)")
        }
    }

    // MARK: Element conversion

    /// Converts `count` elements of `dtype` from `raw` (any alignment) to Float32.
    static func convert(
        _ raw: UnsafeRawBufferPointer, dtype: NPYDType, count: Int, into out: UnsafeMutableBufferPointer<Float>
    ) {
        guard count > 0, let base = raw.baseAddress else { return }
        switch dtype {
        case .float32:
            UnsafeMutableRawBufferPointer(out).copyMemory(from: UnsafeRawBufferPointer(start: base, count: count * 4))
        case .float64:
            for i in 0..<count { out[i] = Float(base.loadUnaligned(fromByteOffset: i * 8, as: Double.self)) }
        case .int32:
            for i in 0..<count { out[i] = Float(base.loadUnaligned(fromByteOffset: i * 4, as: Int32.self)) }
        case .int64:
            for i in 0..<count { out[i] = Float(base.loadUnaligned(fromByteOffset: i * 8, as: Int64.self)) }
        case .uint8:
            for i in 0..<count { out[i] = Float(base.load(fromByteOffset: i, as: UInt8.self)) }
        case .int8:
            for i in 0..<count { out[i] = Float(base.load(fromByteOffset: i, as: Int8.self)) }
        }
    }

    /// Appends `values` encoded as `dtype` (float32 or float64) to `data`.
    static func appendEncoded(_ values: ArraySlice<Float>, dtype: NPYDType, to data: inout Data) {
        if dtype == .float64 {
            values.map(Double.init).withUnsafeBytes { data.append(contentsOf: $0) }
        } else {
            values.withUnsafeBytes { data.append(contentsOf: $0) }
        }
    }

    /// `.cannotOpen` with the reason the file could not be read.
    static func missingFileError(_ path: String) throws -> AudioIOError {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            return .cannotOpen(path: path, reason: "no such file")
        }
        return .cannotOpen(path: path, reason: isDirectory.boolValue ? "is a directory" : "permission denied")
    }
}

// MARK: Header dictionary literal

/// A value in the header's Python dict literal.
enum HeaderValue: Equatable {
    case string(String)
    case bool(Bool)
    case int(Int)
    case none
    case tuple([HeaderValue])
}

/// Parses the subset of Python literal syntax `.npy` headers use: `{'key': value, ...}` with strings, `True`,
/// `False`, `None`, integers and tuples.
struct HeaderDictParser {
    struct Failure: Error { let reason: String }

    private let chars: [Character]
    private var i = 0

    init(text: String) { chars = Array(text) }

    mutating func parseDict() throws -> [String: HeaderValue] {
        try expect("{")
        var result: [String: HeaderValue] = [:]
        while true {
            skipSpace()
            if peek == "}" {
                i += 1
                break
            }
            guard case .string(let key) = try parseValue() else { throw Failure(reason: "dict key is not a string") }
            try expect(":")
            result[key] = try parseValue()
            skipSpace()
            if peek == "," { i += 1 } else if peek != "}" { throw Failure(reason: "expected ',' or '}'") }
        }
        skipSpace()
        guard i == chars.count else { throw Failure(reason: "text after the closing '}'") }
        return result
    }

    private var peek: Character? { i < chars.count ? chars[i] : nil }

    private mutating func skipSpace() { while let c = peek, c.isWhitespace { i += 1 } }

    private mutating func expect(_ c: Character) throws {
        skipSpace()
        guard peek == c else { throw Failure(reason: "expected '\(c)' at character \(i)") }
        i += 1
    }

    private mutating func parseValue(depth: Int = 0) throws -> HeaderValue {
        skipSpace()
        guard let c = peek else { throw Failure(reason: "unexpected end") }
        if c == "'" || c == "\"" {
            i += 1
            let start = i
            while let d = peek, d != c { i += 1 }
            guard peek == c else { throw Failure(reason: "unterminated string") }
            i += 1
            return .string(String(chars[start..<(i - 1)]))
        }
        if c == "(" {
            // .npy shapes are flat tuples; refuse deep nesting so a hostile header cannot exhaust the stack.
            guard depth < 4 else { throw Failure(reason: "tuples nested too deeply") }
            i += 1
            var items: [HeaderValue] = []
            while true {
                skipSpace()
                if peek == ")" {
                    i += 1
                    return .tuple(items)
                }
                items.append(try parseValue(depth: depth + 1))
                skipSpace()
                if peek == "," { i += 1 } else if peek != ")" { throw Failure(reason: "expected ',' or ')'") }
            }
        }
        let start = i
        while let d = peek, d.isLetter || d.isNumber || d == "-" || d == "_" { i += 1 }
        let word = String(chars[start..<i])
        switch word {
        case "True": return .bool(true)
        case "False": return .bool(false)
        case "None": return .none
        default:
            let digits = word.hasSuffix("L") ? String(word.dropLast()) : word
            guard let n = Int(digits) else { throw Failure(reason: "unexpected '\(word.isEmpty ? String(c) : word)'") }
            return .int(n)
        }
    }
}
