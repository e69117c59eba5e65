/// How the per-sample labels inside one window become that window's label.
///
/// Only the window's real samples count (`WindowProvenance.signalRange`): padded samples carry no label and are
/// left out of every count, numerator and denominator alike. A window with no real sample gets `background`.
/// `background` is the "nothing happening" label (0, "none", …) that `any`, `all` and `fraction` fall back to.
/// ```
/// any          the most frequent non-background label present, else background
/// all          the label when every real sample has the same one, else background
/// last         the label of the last real sample
/// center       the label at centerSample (firstSample + length/2), clamped into the real samples
/// majority     the most frequent label, background included
/// fraction(t)  the most frequent non-background label if it covers ≥ t of the real samples, else background
/// ```
/// Ties between equally frequent labels go to the **smallest** label (`<`), so results never depend on hashing
/// order. For 0/1 event labels with background 0, `any` is "the window contains an event", `all` "the window is
/// all event", `fraction(0.5)` "at least half of it is event".
public enum LabelReduction: Sendable, Hashable {
    /// The most frequent non-background label present in the window, or `background` if there is none.
    case any
    /// The common label when all real samples agree, otherwise `background`.
    case all
    /// The label of the window's last real sample (causal labelling: "what is happening now").
    case last
    /// The label at the window's centre sample (the nearest real sample when the centre is padding).
    case center
    /// The most frequent label, background included (ties → smallest label).
    case majority
    /// The most frequent non-background label when it covers at least `threshold` (in `(0, 1]`) of the real
    /// samples, otherwise `background`.
    case fraction(Double)

    /// One label per window from per-sample labels.
    ///
    /// - Parameters:
    ///   - labels: one label per sample of the signal (per channel; labels describe time, not channels).
    ///   - windows: the windows to label, e.g. `FrameBatch.provenance`; each window's `signalRange` must lie
    ///     inside `0..<labels.count`.
    ///   - background: the label meaning "no event"; also given to windows without real samples.
    /// - Returns: `windows.count` labels, in window order.
    /// - Throws: `WindowingError.invalidParameter` for a `fraction` threshold outside `(0, 1]`,
    ///   `.labelCountMismatch` when a window reaches past the labels.
    /// - Complexity: O(samples covered + windows · distinct labels per window) for windows in increasing order.
    public func apply<Label: Hashable & Comparable>(
        to labels: [Label], windows: [WindowProvenance], background: Label
    ) throws -> [Label] {
        if case .fraction(let threshold) = self, !(threshold > 0 && threshold <= 1) {
            throw WindowingError.invalidParameter(
                name: "fraction", value: "\(threshold)", reason: "must be in (0, 1]")
        }
        var counter = SlidingCounter<Label>()
        var result: [Label] = []
        result.reserveCapacity(windows.count)
        for window in windows {
            let range = window.signalRange
            guard range.upperBound <= labels.count else {
                throw WindowingError.labelCountMismatch(labels: labels.count, signalLength: range.upperBound)
            }
            guard !range.isEmpty else {
                result.append(background)
                continue
            }
            switch self {
            case .last:
                result.append(labels[range.upperBound - 1])
            case .center:
                result.append(labels[min(max(window.centerSample, range.lowerBound), range.upperBound - 1)])
            case .all:
                counter.move(to: range, labels)
                result.append(counter.distinct == 1 ? labels[range.lowerBound] : background)
            case .majority:
                counter.move(to: range, labels)
                result.append(counter.mostFrequent(excluding: nil)?.label ?? background)
            case .any:
                counter.move(to: range, labels)
                result.append(counter.mostFrequent(excluding: background)?.label ?? background)
            case .fraction(let threshold):
                counter.move(to: range, labels)
                if let top = counter.mostFrequent(excluding: background),
                    Double(top.count) / Double(range.count) >= threshold
                {
                    result.append(top.label)
                } else {
                    result.append(background)
                }
            }
        }
        return result
    }
}

/// Label counts over a range of samples that slides forward, adding and removing only the samples that change.
private struct SlidingCounter<Label: Hashable & Comparable> {
    private var counts: [Label: Int] = [:]
    private var current = 0..<0

    var distinct: Int { counts.count }

    mutating func move(to range: Range<Int>, _ labels: [Label]) {
        if range.lowerBound >= current.lowerBound && range.upperBound >= current.upperBound
            && range.lowerBound <= current.upperBound
        {
            for i in current.lowerBound..<range.lowerBound { remove(labels[i]) }
            for i in current.upperBound..<range.upperBound { counts[labels[i], default: 0] += 1 }
        } else {
            counts.removeAll(keepingCapacity: true)
            for i in range { counts[labels[i], default: 0] += 1 }
        }
        current = range
    }

    private mutating func remove(_ label: Label) {
        guard let count = counts[label] else { return }
        counts[label] = count > 1 ? count - 1 : nil
    }

    /// The label with the highest count (ties → smallest label), ignoring `excluded`.
    func mostFrequent(excluding excluded: Label?) -> (label: Label, count: Int)? {
        var best: (label: Label, count: Int)?
        for (label, count) in counts where label != excluded {
            if let b = best, count < b.count || (count == b.count && label > b.label) { continue }
            best = (label, count)
        }
        return best
    }
}

/// A labelled stretch of a signal, half-open in samples: `start ..< end`.
///
/// Built from times with `init(startSeconds:endSeconds:sampleRate:label:)`, which rounds each bound to the
/// nearest sample, so an interval `[0.1 s, 0.2 s)` at 16 kHz covers samples `1600 ..< 3200`.
public struct LabelInterval<Label: Hashable & Comparable & Sendable>: Sendable, Hashable {
    /// First labelled sample (may be negative or past the signal; clipped when rasterised).
    public let start: Int
    /// One past the last labelled sample, ≥ `start`.
    public let end: Int
    /// The label of every sample in `start ..< end`.
    public let label: Label

    /// Creates an interval from sample indices.
    ///
    /// - Throws: `WindowingError.invalidParameter` when `end < start`.
    public init(start: Int, end: Int, label: Label) throws {
        guard end >= start else {
            throw WindowingError.invalidParameter(name: "end", value: "\(end)", reason: "is before start \(start)")
        }
        self.start = start
        self.end = end
        self.label = label
    }

    /// Creates an interval from times in seconds, each rounded to the nearest sample (halves away from zero).
    ///
    /// - Parameters:
    ///   - startSeconds: start time in seconds.
    ///   - endSeconds: end time in seconds, ≥ `startSeconds`.
    ///   - sampleRate: samples per second (Hz), > 0.
    ///   - label: the label of the interval.
    /// - Throws: `WindowingError.invalidParameter` for non-finite times, a non-positive rate or `end < start`.
    public init(startSeconds: Double, endSeconds: Double, sampleRate: Double, label: Label) throws {
        guard sampleRate.isFinite, sampleRate > 0 else {
            throw WindowingError.invalidParameter(name: "sampleRate", value: "\(sampleRate)", reason: "must be > 0")
        }
        func sample(_ seconds: Double, _ name: String) throws -> Int {
            let value = (seconds * sampleRate).rounded()
            guard value.isFinite, abs(value) < Double(Int32.max) * 1024 else {
                throw WindowingError.invalidParameter(
                    name: name, value: "\(seconds)", reason: "must be a finite time in seconds")
            }
            return Int(value)
        }
        try self.init(
            start: sample(startSeconds, "startSeconds"), end: sample(endSeconds, "endSeconds"), label: label)
    }

    /// Per-sample labels for a signal of `signalLength` samples: `background` everywhere, then each interval
    /// written in order over its samples clipped to `0 ..< signalLength` (a later interval wins where two overlap).
    ///
    /// - Throws: `WindowingError.invalidParameter` when `signalLength < 0`.
    public static func rasterize(_ intervals: [LabelInterval], signalLength: Int, background: Label) throws -> [Label] {
        guard signalLength >= 0 else {
            throw WindowingError.invalidParameter(
                name: "signalLength", value: "\(signalLength)", reason: "must be ≥ 0")
        }
        var labels = [Label](repeating: background, count: signalLength)
        for interval in intervals {
            let lower = min(max(interval.start, 0), signalLength)
            let upper = min(max(interval.end, lower), signalLength)
            for i in lower..<upper { labels[i] = interval.label }
        }
        return labels
    }
}

extension FrameOptions {
    /// One label per window of a signal described by per-sample labels (`labels.count` is the signal length).
    ///
    /// The windows are `frameCount(forLength: labels.count)` windows of this framing, so the result lines up
    /// with `Framer(self).frames(...)` of the matching signal. See `LabelReduction` for each rule.
    /// - Throws: as `LabelReduction.apply(to:windows:background:)`.
    public func windowLabels<Label: Hashable & Comparable>(
        perSample labels: [Label], reduction: LabelReduction, background: Label
    ) throws -> [Label] {
        let windows = (0..<frameCount(forLength: labels.count)).map {
            provenance(ofWindow: $0, signalLength: labels.count)
        }
        return try reduction.apply(to: labels, windows: windows, background: background)
    }

    /// One label per window of a signal of `signalLength` samples labelled by intervals.
    ///
    /// Samples outside every interval are `background`; see `LabelInterval.rasterize` for overlaps and clipping.
    /// - Throws: as `windowLabels(perSample:reduction:background:)` and `LabelInterval.rasterize`.
    public func windowLabels<Label: Hashable & Comparable & Sendable>(
        intervals: [LabelInterval<Label>], signalLength: Int, reduction: LabelReduction, background: Label
    ) throws -> [Label] {
        let labels = try LabelInterval.rasterize(intervals, signalLength: signalLength, background: background)
        return try windowLabels(perSample: labels, reduction: reduction, background: background)
    }
}
