import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes a file all at once or not at all: into a temporary name in the destination's folder, then renamed.
///
/// A reader (or a user looking at the folder) sees either the old file or the complete new one, never a partial
/// file, even when the writer throws or the process is killed half-way (a crash may leave a hidden
/// `.name.tmp-XXXXXXXX.ext` behind, never a truncated `name.ext`). The rename is atomic because the temporary
/// file lives in the same folder, hence on the same file system. Every output of `seqtool` goes through this.
///
/// ```swift
/// try AtomicFile.write(to: URL(fileURLWithPath: "report.json")) { temporary in
///     try json.write(to: temporary)   // any code that creates the file at `temporary`
/// }
/// ```
public enum AtomicFile {
    /// How hard a commit works to survive a power failure (it always survives the writer being killed).
    public enum Durability: Sendable, Equatable {
        /// `fsync` the file before the rename: after a power failure the destination holds the old or the new
        /// content. The default, and what checkpoints and models need; it costs a disk flush per file (3–5 ms
        /// measured on a virtual disk), which dominates when writing thousands of small files.
        case synced
        /// Rename without `fsync`: still never a partial file when the process is killed, but after a power
        /// failure a just-renamed file may be empty. For bulk outputs that are synced once at the end
        /// (`seqtool crop` syncs the file system before writing its manifest).
        case renameOnly
    }

    /// Calls `body` with a fresh temporary URL beside `destination`, then syncs the file `body` created there
    /// and renames it onto `destination` (replacing an existing file).
    ///
    /// The temporary name keeps the destination's extension (`.out.wav.tmp-1A2B3C4D.wav`) so tools that infer a
    /// format from it still work. If `body` throws, or creates no file, the temporary file is removed and
    /// `destination` is left untouched.
    /// - Parameters:
    ///   - destination: the final file; its folder must exist.
    ///   - durability: `.synced` (default) flushes the file to disk before the rename; see ``Durability``.
    ///   - body: writes the complete content to the URL it is given.
    /// - Returns: what `body` returns.
    /// - Throws: whatever `body` throws; `AudioIOError.ioFailure` naming `destination` when the folder is missing,
    ///   `body` created nothing, or the rename fails.
    @discardableResult
    public static func write<Result>(
        to destination: URL, durability: Durability = .synced, body: (URL) throws -> Result
    ) throws -> Result {
        let temporary = try temporaryURL(for: destination)
        do {
            let result = try body(temporary)
            try commit(temporary, to: destination, durability: durability)
            return result
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }

    /// A unique temporary URL in `destination`'s folder (the file is not created).
    ///
    /// - Throws: `AudioIOError.ioFailure` when the folder does not exist.
    static func temporaryURL(for destination: URL) throws -> URL {
        let folder = destination.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            throw AudioIOError.ioFailure(path: destination.path, reason: "folder \(folder.path) does not exist")
        }
        // getrandom(2) through the system generator: no file to open per name (UUID() reads /dev/urandom).
        var generator = SystemRandomNumberGenerator()
        let token = String(format: "%08X", UInt32.random(in: .min ... .max, using: &generator))
        let ext = destination.pathExtension.isEmpty ? "" : "." + destination.pathExtension
        return folder.appendingPathComponent(".\(destination.lastPathComponent).tmp-\(token)\(ext)")
    }

    /// Flushes `temporary` to disk (with `.synced`) and renames it onto `destination`.
    ///
    /// - Throws: `AudioIOError.ioFailure` naming `destination`.
    static func commit(_ temporary: URL, to destination: URL, durability: Durability = .synced) throws {
        switch durability {
        case .synced:
            let fd = open(temporary.path, O_RDONLY)
            guard fd >= 0 else {
                throw AudioIOError.ioFailure(path: destination.path, reason: "the writer produced no file")
            }
            _ = fsync(fd)
            close(fd)
        case .renameOnly:
            guard access(temporary.path, F_OK) == 0 else {
                throw AudioIOError.ioFailure(path: destination.path, reason: "the writer produced no file")
            }
        }
        guard rename(temporary.path, destination.path) == 0 else {
            let reason = String(cString: strerror(errno))
            throw AudioIOError.ioFailure(path: destination.path, reason: "cannot rename temporary file: \(reason)")
        }
    }

    /// Writes `data` to `destination` atomically (see ``write(to:durability:body:)``).
    ///
    /// Uses plain `fopen`/`fwrite`, so `.renameOnly` really skips the flush (Foundation's `Data.write(to:)`
    /// flushes every file on Linux).
    /// - Throws: `AudioIOError.ioFailure` naming `destination`.
    public static func write(_ data: Data, to destination: URL, durability: Durability = .synced) throws {
        try write(to: destination, durability: durability) { temporary in
            guard let handle = fopen(temporary.path, "wb") else {
                throw AudioIOError.ioFailure(path: destination.path, reason: String(cString: strerror(errno)))
            }
            let written = data.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, handle) }
            let closed = fclose(handle)
            guard written == data.count, closed == 0 else {
                throw AudioIOError.ioFailure(path: destination.path, reason: String(cString: strerror(errno)))
            }
        }
    }

    /// Flushes every file written so far to disk (POSIX `sync`, which on Linux returns when the data is written),
    /// so a batch of `.renameOnly` commits becomes durable at once.
    public static func syncAll() {
        sync()
    }
}
