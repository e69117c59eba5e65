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
    /// Calls `body` with a fresh temporary URL beside `destination`, then renames the file `body` created there
    /// onto `destination` (replacing an existing file).
    ///
    /// The temporary name keeps the destination's extension (`.out.wav.tmp-1A2B3C4D.wav`) so tools that infer a
    /// format from it still work. If `body` throws, or creates no file, the temporary file is removed and
    /// `destination` is left untouched.
    /// - Parameters:
    ///   - destination: the final file; its folder must exist.
    ///   - durable: `fsync` the file before the rename, so that after a power loss the destination holds either
    ///     the old or the complete new content. Default `false`: the rename alone already guarantees that other
    ///     processes never see a partial file, and `np.save` / `soundfile.write` do not sync either (syncing a
    ///     77 MB array costs about 40 ms here). Set it for checkpoints and other outputs that must survive a crash.
    ///   - body: writes the complete content to the URL it is given.
    /// - Returns: what `body` returns.
    /// - Throws: whatever `body` throws; `AudioIOError.ioFailure` naming `destination` when the folder is missing,
    ///   `body` created nothing, or the rename fails.
    @discardableResult
    public static func write<Result>(
        to destination: URL, durable: Bool = false, body: (URL) throws -> Result
    ) throws -> Result {
        let temporary = try temporaryURL(for: destination)
        do {
            let result = try body(temporary)
            try commit(temporary, to: destination, durable: durable)
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
        let token = UUID().uuidString.prefix(8)
        let ext = destination.pathExtension.isEmpty ? "" : "." + destination.pathExtension
        return folder.appendingPathComponent(".\(destination.lastPathComponent).tmp-\(token)\(ext)")
    }

    /// Renames `temporary` onto `destination`, first flushing it to disk when `durable`.
    ///
    /// - Throws: `AudioIOError.ioFailure` naming `destination`.
    static func commit(_ temporary: URL, to destination: URL, durable: Bool) throws {
        let fd = open(temporary.path, O_RDONLY)
        guard fd >= 0 else {
            throw AudioIOError.ioFailure(path: destination.path, reason: "the writer produced no file")
        }
        if durable { _ = fsync(fd) }
        close(fd)
        guard rename(temporary.path, destination.path) == 0 else {
            let reason = String(cString: strerror(errno))
            throw AudioIOError.ioFailure(path: destination.path, reason: "cannot rename temporary file: \(reason)")
        }
    }
}
