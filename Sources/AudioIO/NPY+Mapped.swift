import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Row access to a `.npy` array through a read-only memory map, without loading the file.
///
/// Row `i` is the sub-array `array[i]` of shape ``rowShape``; only the pages it touches are read from disk, so a
/// training loop can sample windows from shards far larger than memory (the same idea as
/// `numpy.load(path, mmap_mode="r")`). Rows of any supported dtype are converted to Float32 on access.
///
/// `@unchecked Sendable`: the mapping is `PROT_READ`, fixed in `init` and unmapped only in `deinit`, and every
/// stored property is a `let`, so concurrent reads from several tasks are safe.
public final class NPYMappedArray: @unchecked Sendable {
    /// The mapped file.
    public let path: String
    /// The file's header (dtype, shape, data offset).
    public let header: NPYHeader
    /// Number of rows, `shape[0]`.
    public let rowCount: Int
    /// Shape of one row, `shape.dropFirst()`.
    public let rowShape: [Int]
    /// Elements per row.
    public let rowLength: Int

    private let base: UnsafeRawPointer
    private let mappedBytes: Int

    /// The full shape, `[rowCount] + rowShape`.
    public var shape: [Int] { header.shape }

    /// Maps the file at `path` read-only and validates its header and size.
    ///
    /// - Throws: `AudioIOError.cannotOpen` (missing), `.badArray` (damaged header, unsupported dtype, Fortran
    ///   order, a 0-d array that has no rows, data shorter than the shape), `.ioFailure` if `mmap` fails.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw try NPY.missingFileError(path) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            throw AudioIOError.ioFailure(path: path, reason: String(cString: strerror(errno)))
        }
        let size = Int(status.st_size)
        guard size > 0 else { throw AudioIOError.badArray(path: path, reason: "file is empty") }
        guard let mapping = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapping != MAP_FAILED else {
            throw AudioIOError.ioFailure(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        do {
            let raw = UnsafeRawBufferPointer(start: mapping, count: size)
            let parsed = try NPY.parseHeader(raw, path: path)
            try NPY.checkReadable(parsed, fileSize: size, path: path)
            guard let first = parsed.shape.first else {
                throw AudioIOError.badArray(path: path, reason: "a 0-d array has no rows to map")
            }
            header = parsed
            rowCount = first
            rowShape = Array(parsed.shape.dropFirst())
            rowLength = rowShape.reduce(1, *)
        } catch {
            munmap(mapping, size)
            throw error
        }
        base = UnsafeRawPointer(mapping)
        mappedBytes = size
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), mappedBytes) }

    /// Row `index` as Float32 values in C order (`rowLength` of them).
    ///
    /// - Throws: `AudioIOError.invalidParameter` when `index` is outside `0..<rowCount`.
    public func row(_ index: Int) throws -> [Float] {
        try rows(index..<(index + 1))
    }

    /// Rows `range` as one C-order Float32 buffer of `range.count * rowLength` values.
    ///
    /// - Throws: `AudioIOError.invalidParameter` when `range` is not inside `0..<rowCount`.
    public func rows(_ range: Range<Int>) throws -> [Float] {
        guard range.lowerBound >= 0, range.upperBound <= rowCount else {
            throw AudioIOError.invalidParameter(
                name: "rows", value: "\(range)", reason: "must lie in 0..<\(rowCount) of \(path)")
        }
        let count = range.count * rowLength
        let item = header.dtype.itemSize
        let start = base + header.dataOffset + range.lowerBound * rowLength * item
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            NPY.convert(
                UnsafeRawBufferPointer(start: start, count: count * item), dtype: header.dtype, count: count,
                into: buffer)
            initialized = count
        }
    }

    /// Calls `body` with rows `range` of a `<f4` array as Float32 memory inside the mapping, without a copy.
    ///
    /// The fastest path for training loops over float32 shards. The buffer is valid only during `body`.
    /// - Throws: `AudioIOError.invalidParameter` when `range` is not inside `0..<rowCount`; `.badArray` when the
    ///   dtype is not `<f4` or the data offset is not 4-byte aligned (use ``rows(_:)``, which converts); what
    ///   `body` throws.
    public func withUnsafeFloat32Rows<Result>(
        _ range: Range<Int>, _ body: (UnsafeBufferPointer<Float>) throws -> Result
    ) throws -> Result {
        guard range.lowerBound >= 0, range.upperBound <= rowCount else {
            throw AudioIOError.invalidParameter(
                name: "rows", value: "\(range)", reason: "must lie in 0..<\(rowCount) of \(path)")
        }
        guard header.dtype == .float32, header.dataOffset % MemoryLayout<Float>.alignment == 0 else {
            throw AudioIOError.badArray(
                path: path,
                reason: "zero-copy access needs 4-byte aligned <f4 data, not \(header.dtype.rawValue) at offset "
                    + "\(header.dataOffset)")
        }
        let start = (base + header.dataOffset).assumingMemoryBound(to: Float.self) + range.lowerBound * rowLength
        return try body(UnsafeBufferPointer(start: start, count: range.count * rowLength))
    }
}
