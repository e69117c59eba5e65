import Foundation

/// Reports progress of a multi-file job on standard error.
///
/// On a terminal it redraws one line (`[#####     ] 120/2000 files  3.1 s  ETA 4.9 s`); otherwise it prints a
/// plain line at every 10 % so logs stay readable. `quiet` prints nothing. Thread-safe.
final class ProgressReporter: @unchecked Sendable {  // mutable state is guarded by `lock`
    private let total: Int
    private let label: String
    private let quiet: Bool
    private let isTerminal: Bool
    private let start = Date()
    private let lock = NSLock()
    private var done = 0
    private var lastDecile = 0
    private var lastDraw = Date.distantPast

    init(total: Int, label: String, quiet: Bool) {
        self.total = total
        self.label = label
        self.quiet = quiet
        self.isTerminal = isatty(STDERR_FILENO) != 0
    }

    /// Counts one finished item.
    func advance() {
        lock.lock()
        defer { lock.unlock() }
        done += 1
        guard !quiet, total > 0 else { return }
        let elapsed = Date().timeIntervalSince(start)
        if isTerminal {
            guard done == total || Date().timeIntervalSince(lastDraw) > 0.1 else { return }
            lastDraw = Date()
            let width = 30
            let filled = width * done / total
            let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : 0
            let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
            let line = String(
                format: "\r[%@] %d/%d %@  %.1f s  ETA %.1f s", bar, done, total, label, elapsed, eta)
            FileHandle.standardError.write(Data(line.utf8))
            if done == total { FileHandle.standardError.write(Data("\n".utf8)) }
        } else {
            // Plain lines only for jobs long enough to need them (a log of a 1-second job stays quiet).
            let decile = 10 * done / total
            guard decile > lastDecile, elapsed > 2 else { return }
            lastDecile = decile
            let line = String(format: "%d/%d %@ (%d%%) %.1f s\n", done, total, label, decile * 10, elapsed)
            FileHandle.standardError.write(Data(line.utf8))
        }
    }
}

/// Writes a line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
