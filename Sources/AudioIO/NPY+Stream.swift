import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes a `.npy` array one row at a time, without knowing the number of rows in advance.
///
/// The file has shape `[rows] + rowShape` (e.g. `[windows, channels, samples]` when each row is a window
/// `[channels, samples]`). The header is written first with room reserved for the row count (NumPy's own
/// 21-digit growth padding), rows are streamed to a temporary file beside `path`, and ``finish()`` rewrites the
/// header with the final count and renames the file onto `path`. Memory stays at one write buffer of
/// ``bufferBytes`` whatever the array's size, and the result is byte-identical to `np.save(path, np.stack(rows))`.
///
/// A writer released without ``finish()`` (an error, a cancelled job) removes its temporary file, so `path` never
/// holds a partial array. Use it from one task at a time (it is deliberately not `Sendable`).
public final class NPYStreamWriter {
    /// The destination path.
    public let path: String
    /// The shape of one row (empty: each row is one scalar and the file is 1-D).
    public let rowShape: [Int]
    /// The stored element type (`.float32` or `.float64`).
    public let dtype: NPYDType
    /// Elements per row, `rowShape.reduce(1, *)`.
    public let rowLength: Int
    /// Rows appended so far.
    public private(set) var rowCount = 0

    private let temporary: URL
    private let durability: AtomicFile.Durability
    private var file: UnsafeMutablePointer<FILE>?
    private let headerLength: Int
    private var scratch = Data()
    /// The stdio buffer of `file`, owned here (glibc ignores the size of a buffer it allocates itself).
    private let buffer: UnsafeMutableRawPointer
    /// Bytes appended since the file was last handed to a `.background` durability's flusher.
    private var unflushedBytes = 0

    /// Bytes written to the file at a time: 256 KiB, at offsets that are multiples of it.
    ///
    /// Large aligned writes let the kernel cache the file in large pages: writing 75 MB in window-sized pieces
    /// (16–32 KB at unaligned offsets, what the default 4 KiB stdio buffer passes through) took twice the kernel
    /// time of 256 KiB or 1 MiB pieces on ext4 (46 ms against 22–26 ms, measured for `seqtool crop` of FSDD);
    /// 64 KiB pieces took 32 ms. Larger buffers only cost more page faults, one per 4 KiB the first time.
    public static let bufferBytes = 1 << 18

    /// Opens a temporary file beside `path` and writes a placeholder header.
    ///
    /// - Parameters:
    ///   - path: the final file; its folder must exist. Replaced only by a successful ``finish()``.
    ///   - rowShape: shape of each appended row, dimensions ≥ 0.
    ///   - dtype: `.float32` (default) or `.float64`.
    ///   - durability: whether ``finish()`` flushes to disk before the rename; default `.synced`. With
    ///     `.background`, the file is also handed to its flusher every
    ///     ``AtomicFile/BackgroundSync/inProgressBytes`` while it grows.
    /// - Throws: `AudioIOError.invalidParameter` for a negative dimension, `.unsupportedFormat` for an integer
    ///   dtype, `.ioFailure` when the temporary file cannot be created.
    public init(
        path: String, rowShape: [Int], dtype: NPYDType = .float32, durability: AtomicFile.Durability = .synced
    ) throws {
        guard rowShape.allSatisfy({ $0 >= 0 }) else {
            throw AudioIOError.invalidParameter(
                name: "rowShape", value: "\(rowShape)", reason: "dimensions must be ≥ 0")
        }
        guard dtype == .float32 || dtype == .float64 else {
            throw AudioIOError.unsupportedFormat(path: path, format: "npy dtype \(dtype.rawValue)")
        }
        self.path = path
        self.rowShape = rowShape
        self.dtype = dtype
        self.rowLength = rowShape.reduce(1, *)
        self.durability = durability
        let header = NPY.encodeHeader(dtype: dtype, shape: [0] + rowShape, version: nil)
        headerLength = header.count
        temporary = try AtomicFile.temporaryURL(for: URL(fileURLWithPath: path))
        guard let handle = fopen(temporary.path, "wb") else {
            throw AudioIOError.ioFailure(path: path, reason: "cannot create \(temporary.path): \(errnoDescription())")
        }
        // Allocated once nothing can fail before `self` is complete: from here on `deinit` frees it.
        buffer = UnsafeMutableRawPointer.allocate(byteCount: Self.bufferBytes, alignment: 64)
        setvbuf(handle, buffer.assumingMemoryBound(to: CChar.self), _IOFBF, Self.bufferBytes)
        file = handle
        try write(header)
    }

    deinit {
        if let file {
            fclose(file)
            unlink(temporary.path)
        }
        buffer.deallocate()
    }

    /// Appends one row of `rowLength` values (C order within the row).
    ///
    /// - Throws: `AudioIOError.invalidParameter` for a wrong length, `.ioFailure` after ``finish()`` or when the
    ///   disk write fails.
    public func append(_ row: [Float]) throws {
        guard row.count == rowLength else {
            throw AudioIOError.invalidParameter(
                name: "row", value: "\(row.count) values", reason: "row shape \(rowShape) needs \(rowLength)")
        }
        try appendValues(row[...], rows: 1)
    }

    /// Appends several rows at once: `values.count` must be a multiple of `rowLength`.
    ///
    /// - Throws: as ``append(_:)``.
    public func append(rows values: [Float]) throws {
        guard rowLength > 0 ? values.count % rowLength == 0 : values.isEmpty else {
            throw AudioIOError.invalidParameter(
                name: "rows", value: "\(values.count) values", reason: "not a multiple of row length \(rowLength)")
        }
        try appendValues(values[...], rows: rowLength > 0 ? values.count / rowLength : 0)
    }

    /// Appends a window `[channels, frames]` as one row; `rowShape` must be `[channels, frames]`.
    ///
    /// - Throws: `AudioIOError.invalidParameter` when the signal's shape is not `rowShape`; as ``append(_:)``.
    public func append(_ window: Signal) throws {
        guard rowShape == [window.channels, window.frames] else {
            throw AudioIOError.invalidParameter(
                name: "window", value: "[\(window.channels), \(window.frames)]", reason: "row shape is \(rowShape)")
        }
        try appendValues(window.samples[...], rows: 1)
    }

    /// Writes the final header (shape `[rowCount] + rowShape`), flushes, and renames the file onto `path`.
    ///
    /// - Throws: `AudioIOError.ioFailure` when called twice or when a write, sync or the rename fails (the
    ///   temporary file is then removed).
    public func finish() throws {
        guard let handle = file else {
            throw AudioIOError.ioFailure(path: path, reason: "finish() called on a finished writer")
        }
        let header = NPY.encodeHeader(dtype: dtype, shape: [rowCount] + rowShape, version: nil)
        precondition(header.count == headerLength, "the .npy header must keep its reserved length")
        do {
            guard fseek(handle, 0, SEEK_SET) == 0 else {
                throw AudioIOError.ioFailure(path: path, reason: "cannot seek: \(errnoDescription())")
            }
            try write(header)
            guard fflush(handle) == 0 else { throw AudioIOError.ioFailure(path: path, reason: errnoDescription()) }
        } catch {
            fclose(handle)
            file = nil
            unlink(temporary.path)
            throw error
        }
        let closed = fclose(handle)
        file = nil
        guard closed == 0 else {
            unlink(temporary.path)
            throw AudioIOError.ioFailure(path: path, reason: "cannot close: \(errnoDescription())")
        }
        do {
            try AtomicFile.commit(temporary, to: URL(fileURLWithPath: path), durability: durability)
        } catch {
            unlink(temporary.path)
            throw error
        }
    }

    // MARK: Internals

    /// Drops every row after the first `rows`, as if they had never been appended (e.g. the windows of an input
    /// file that failed half-way through a shared shard).
    ///
    /// - Throws: `AudioIOError.invalidParameter` when `rows` is not in `0...rowCount`; `.ioFailure` after
    ///   ``finish()`` or when the file cannot be cut.
    public func truncate(toRows rows: Int) throws {
        guard rows >= 0, rows <= rowCount else {
            throw AudioIOError.invalidParameter(name: "rows", value: "\(rows)", reason: "must be in 0...\(rowCount)")
        }
        guard let handle = file else { throw AudioIOError.ioFailure(path: path, reason: "truncate after finish()") }
        let offset = headerLength + rows * rowLength * dtype.itemSize
        guard fflush(handle) == 0, ftruncate(fileno(handle), off_t(offset)) == 0,
            fseeko(handle, off_t(offset), SEEK_SET) == 0
        else {
            throw AudioIOError.ioFailure(path: path, reason: "cannot truncate: \(errnoDescription())")
        }
        rowCount = rows
    }

    private func appendValues(_ values: ArraySlice<Float>, rows: Int) throws {
        if dtype == .float32 {
            // The stored bytes are the values' own (as `NPY.appendEncoded` writes them): no intermediate copy.
            try values.withUnsafeBytes { try write($0) }
        } else {
            scratch.removeAll(keepingCapacity: true)
            NPY.appendEncoded(values, dtype: dtype, to: &scratch)
            try scratch.withUnsafeBytes { try write($0) }
        }
        rowCount += rows
        if case .background(let flusher) = durability {
            unflushedBytes += values.count * dtype.itemSize
            if unflushedBytes >= AtomicFile.BackgroundSync.inProgressBytes {
                unflushedBytes = 0
                flusher.addInProgress(temporary.path)  // what stdio has passed on so far (all but its buffer)
            }
        }
    }

    private func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    private func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let handle = file else {
            throw AudioIOError.ioFailure(path: path, reason: "append after finish()")
        }
        let written = bytes.baseAddress.map { fwrite($0, 1, bytes.count, handle) } ?? 0
        guard written == bytes.count else {
            throw AudioIOError.ioFailure(path: path, reason: "write failed: \(errnoDescription())")
        }
    }

}

/// The message for the current `errno`.
private func errnoDescription() -> String { String(cString: strerror(errno)) }
