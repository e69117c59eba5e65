import ArgumentParser
import Foundation

/// A length given in time (`1s`, `0.5s`, `250ms`, `10min`, `2h`) or in samples (`16000`, `400samples`).
struct TimeSpan: ExpressibleByArgument, Equatable, CustomStringConvertible {
    enum Unit: Equatable { case seconds, samples }
    let value: Double
    let unit: Unit

    init(seconds: Double) {
        value = seconds
        unit = .seconds
    }

    init(samples: Int) {
        value = Double(samples)
        unit = .samples
    }

    init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces).lowercased()
        let suffixes: [(String, Unit, Double)] = [
            ("ms", .seconds, 0.001), ("samples", .samples, 1), ("min", .seconds, 60), ("h", .seconds, 3600),
            ("s", .seconds, 1),
        ]
        for (suffix, unit, scale) in suffixes where text.hasSuffix(suffix) {
            guard let number = Double(text.dropLast(suffix.count)), number.isFinite, number > 0 else { return nil }
            if unit == .samples && number.rounded() != number { return nil }
            self.value = number * scale
            self.unit = unit
            return
        }
        guard let number = Int(text), number > 0 else { return nil }
        self.value = Double(number)
        self.unit = .samples
    }

    /// The length in samples at `sampleRate` (seconds are rounded to the nearest sample).
    func samples(at sampleRate: Double) -> Int {
        unit == .samples ? Int(value) : Int((value * sampleRate).rounded())
    }

    var description: String { unit == .samples ? "\(Int(value)) samples" : "\(value) s" }

    static var defaultCompletionKind: CompletionKind { .default }
}

/// An overlap ratio: `50%`, `0.5` or `20 %`; must be in [0, 1).
struct Overlap: ExpressibleByArgument, Equatable {
    let fraction: Double

    init(fraction: Double) { self.fraction = fraction }

    init?(argument: String) {
        var text = argument.replacingOccurrences(of: " ", with: "")
        var scale = 1.0
        if text.hasSuffix("%") {
            text.removeLast()
            scale = 0.01
        }
        guard let number = Double(text) else { return nil }
        let fraction = number * scale
        guard fraction >= 0, fraction < 1 else { return nil }
        self.fraction = fraction
    }
}

/// The options every batch command shares: parallelism, the error policy, redoing finished outputs, quietness.
///
/// Used with `@OptionGroup` by `crop` and `features`, so the flags are spelled, documented and validated once.
struct RunOptions: ParsableArguments {
    @Option(help: "Work items (files, shards or window groups) processed in parallel (default: all cores).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "On an input that cannot be read or processed: fail (stop, exit 1) or skip (report it and go on).")
    var onError: OnError = .fail

    @Flag(help: "Redo every output even when a finished one already exists.")
    var force = false

    @Flag(help: "No progress bar and no summary.")
    var quiet = false

    func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be ≥ 1, got \(jobs)") }
    }

    /// `--on-error fail`: the first failure stops the run.
    var stopOnError: Bool { onError == .fail }
}

/// `--on-error`.
enum OnError: String, ExpressibleByArgument, CaseIterable {
    case fail, skip
}
