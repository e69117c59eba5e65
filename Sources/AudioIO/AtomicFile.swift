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
        /// (``AtomicFile/syncAll()``), or not at all.
        case renameOnly
        /// Rename without waiting, and let the ``BackgroundSync`` flush the file on its own thread: durable once
        /// its ``BackgroundSync/finish(folders:)`` returns. For bulk outputs written while the disk keeps up
        /// (`seqtool crop`'s arrays and manifest parts).
        case background(BackgroundSync)

        /// Same case, and for `.background` the same ``BackgroundSync``.
        public static func == (a: Durability, b: Durability) -> Bool {
            switch (a, b) {
            case (.synced, .synced), (.renameOnly, .renameOnly): return true
            case (.background(let x), .background(let y)): return x === y
            default: return false
            }
        }
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
        case .renameOnly, .background:
            guard access(temporary.path, F_OK) == 0 else {
                throw AudioIOError.ioFailure(path: destination.path, reason: "the writer produced no file")
            }
        }
        guard rename(temporary.path, destination.path) == 0 else {
            let reason = String(cString: strerror(errno))
            throw AudioIOError.ioFailure(path: destination.path, reason: "cannot rename temporary file: \(reason)")
        }
        if case .background(let flusher) = durability { flusher.add([destination.path]) }
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

    /// `fsync(2)` of the file or folder at `path`.
    ///
    /// - Throws: `AudioIOError.ioFailure` naming `path` when it cannot be opened or flushed.
    static func flushToDisk(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw AudioIOError.ioFailure(path: path, reason: "cannot open to sync: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        guard fsync(fd) == 0 else {
            throw AudioIOError.ioFailure(path: path, reason: "cannot sync: \(String(cString: strerror(errno)))")
        }
    }
}

extension AtomicFile {
    /// Makes a batch of `.renameOnly` commits durable while the caller keeps working: each file handed to ``add(_:)``
    /// is flushed (`fsync`) on a background thread, and ``finish(folders:)`` waits for the last ones, then flushes
    /// the folders that name them (so the renames are durable too).
    ///
    /// Disk writes then overlap the work that produces the next files, instead of one ``AtomicFile/syncAll()`` at
    /// the end, which waits for every byte at once, and for every other program's unwritten data as well (on a
    /// shared machine that was often most of the wait). A large file can be flushed while it is still being
    /// written (``addInProgress(_:)``, which ``NPYStreamWriter`` does every ``inProgressBytes``), so that little
    /// is left to write when it is finished. Beyond `fileLimit` files one flush each would cost more than it
    /// saves (each `fsync` commits the file-system journal), so the batch falls back to one `syncAll()`;
    /// ``fallBackToSyncAll()`` asks for that directly (e.g. when files were written by an earlier run).
    ///
    /// ```swift
    /// let durable = AtomicFile.BackgroundSync()
    /// for part in parts { try AtomicFile.write(part.data, to: part.url, durability: .background(durable)) }
    /// try durable.finish(folders: [folder.path])   // every part and its name are on disk
    /// ```
    ///
    /// `@unchecked Sendable`: the counters and the first failure are guarded by `lock`; the flushes run on one
    /// private serial queue.
    public final class BackgroundSync: @unchecked Sendable {
        /// Files beyond which the batch is made durable by one `syncAll()` instead of a flush per file.
        public let fileLimit: Int

        private let queue = DispatchQueue(label: "AtomicFile.BackgroundSync")
        private let group = DispatchGroup()
        private let lock = NSLock()
        private var files = 0
        private var syncAllAtFinish = false
        private var failure: AudioIOError?
        /// Files being written whose flush is queued and not started yet.
        private var waitingInProgress: Set<String> = []

        /// How much a writer adds to a file being written between two ``addInProgress(_:)`` calls: 2 MiB, so the
        /// flush of a finished file waits for at most that much (it was ~9 MB per shard of FSDD, up to 20 ms).
        public static let inProgressBytes = 2 << 20

        /// - Parameter fileLimit: default 64: a flush costs about 1–5 ms of disk time, a `syncAll()` a few tens.
        public init(fileLimit: Int = 64) {
            self.fileLimit = fileLimit
        }

        /// Queues the flush of these (already renamed) files; returns at once.
        public func add(_ paths: [String]) {
            let flushEach = lock.withLock { () -> Bool in
                files += paths.count
                if files > fileLimit { syncAllAtFinish = true }
                return !syncAllAtFinish
            }
            guard flushEach else { return }
            queue.async(group: group) {
                for path in paths {
                    do {
                        try AtomicFile.flushToDisk(path: path)
                    } catch {
                        self.record(error)
                    }
                }
            }
        }

        /// Queues the flush of what a file still being written holds so far (under its temporary name); returns at
        /// once. Nothing is queued when a flush of `path` is already waiting or the batch will `syncAll()` anyway,
        /// and a file renamed or removed before its turn is skipped: its final ``add(_:)`` covers it.
        public func addInProgress(_ path: String) {
            let queueIt = lock.withLock { () -> Bool in
                guard !syncAllAtFinish, !waitingInProgress.contains(path) else { return false }
                waitingInProgress.insert(path)
                return true
            }
            guard queueIt else { return }
            queue.async(group: group) {
                self.lock.withLock { _ = self.waitingInProgress.remove(path) }
                let fd = open(path, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { return }  // renamed (finished) or removed (abandoned) meanwhile
                defer { close(fd) }
                if fsync(fd) != 0 {
                    // Reported now: a later fsync through a new descriptor may no longer see this error.
                    let reason = "cannot sync: \(String(cString: strerror(errno)))"
                    self.record(AudioIOError.ioFailure(path: path, reason: reason))
                }
            }
        }

        /// Makes ``finish(folders:)`` call ``AtomicFile/syncAll()``, for files that were not (or cannot be) added.
        public func fallBackToSyncAll() {
            lock.withLock { syncAllAtFinish = true }
        }

        /// Waits until every added file is on disk, then flushes `folders` (the folders holding the files, and any
        /// folder created for them, so that their names are durable as well).
        ///
        /// - Throws: `AudioIOError.ioFailure` naming the first file or folder that could not be flushed.
        public func finish(folders: [String]) throws {
            group.wait()
            if lock.withLock({ syncAllAtFinish }) { AtomicFile.syncAll() }
            for folder in folders {
                do {
                    try AtomicFile.flushToDisk(path: folder)
                } catch {
                    record(error)
                }
            }
            if let failure = lock.withLock({ failure }) { throw failure }
        }

        private func record(_ error: Error) {
            let ioError =
                error as? AudioIOError ?? AudioIOError.ioFailure(path: "(background sync)", reason: "\(error)")
            lock.withLock {
                if failure == nil { failure = ioError }
            }
        }
    }
}
