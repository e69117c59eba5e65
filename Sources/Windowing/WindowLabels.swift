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
    /// - Complexity: O(n) hashing once, then O(samples entering or leaving + min(distinct labels, window)) per
    ///   window for windows in increasing order (`last` and `center`: O(1) per window).
    public func apply<Label: Hashable & Comparable>(
        to labels: [Label], windows: [WindowProvenance], background: Label
    ) throws -> [Label] {
        if case .fraction(let threshold) = self, !(threshold > 0 && threshold <= 1) {
            throw WindowingError.invalidParameter(
                name: "fraction", value: "\(threshold)", reason: "must be in (0, 1]")
        }
        for window in windows where window.signalRange.upperBound > labels.count {
            throw WindowingError.labelCountMismatch(labels: labels.count, signalLength: window.signalRange.upperBound)
        }
        switch self {
        case .last:
            return windows.map { window in
                let range = window.signalRange
                return range.isEmpty ? background : labels[range.upperBound - 1]
            }
        case .center:
            return windows.map { window in
                let range = window.signalRange
                guard !range.isEmpty else { return background }
                return labels[min(max(window.centerSample, range.lowerBound), range.upperBound - 1)]
            }
        case .all, .majority, .any, .fraction:
            break
        }
        // Count on dense codes whose order is the labels' order, so ties go to the smallest code.
        let (codes, alphabet) = Self.encode(labels)
        let backgroundCode = alphabet.firstIndex(of: background) ?? -1  // ≤ distinct labels, once
        var counter = SlidingCounter(alphabetSize: alphabet.count)
        var result: [Label] = []
        result.reserveCapacity(windows.count)
        for window in windows {
            let range = window.signalRange
            guard !range.isEmpty else {
                result.append(background)
                continue
            }
            counter.move(to: range, codes)
            switch self {
            case .all:
                result.append(counter.distinct == 1 ? labels[range.lowerBound] : background)
            case .majority:
                let top = counter.mostFrequent(in: range, codes, excluding: -1)
                result.append(top.map { alphabet[$0.code] } ?? background)
            case .any:
                let top = counter.mostFrequent(in: range, codes, excluding: backgroundCode)
                result.append(top.map { alphabet[$0.code] } ?? background)
            case .fraction(let threshold):
                if let top = counter.mostFrequent(in: range, codes, excluding: backgroundCode),
                    Double(top.count) / Double(range.count) >= threshold
                {
                    result.append(alphabet[top.code])
                } else {
                    result.append(background)
                }
            case .last, .center:
                preconditionFailure("handled above")
            }
        }
        return result
    }

    /// Each label's rank among the distinct labels (`codes`), and the distinct labels in increasing order.
    private static func encode<Label: Hashable & Comparable>(_ labels: [Label]) -> (codes: [Int], alphabet: [Label]) {
        var firstSeen: [Label: Int] = [:]
        var distinct: [Label] = []
        var codes = labels.map { label in
            if let code = firstSeen[label] { return code }
            firstSeen[label] = distinct.count
            distinct.append(label)
            return distinct.count - 1
        }
        let order = distinct.indices.sorted { distinct[$0] < distinct[$1] }
        var rank = [Int](repeating: 0, count: distinct.count)
        for (r, code) in order.enumerated() { rank[code] = r }
        for i in codes.indices { codes[i] = rank[codes[i]] }
        return (codes, order.map { distinct[$0] })
    }
}

/// Counts of label codes over a range of samples that slides forward, adding and removing only the samples
/// that change.
private struct SlidingCounter {
    private var counts: [Int]
    private var current = 0..<0
    /// How many codes have a non-zero count.
    private(set) var distinct = 0

    init(alphabetSize: Int) {
        counts = [Int](repeating: 0, count: alphabetSize)
    }

    mutating func move(to range: Range<Int>, _ codes: [Int]) {
        if range.lowerBound >= current.lowerBound && range.upperBound >= current.upperBound
            && range.lowerBound <= current.upperBound
        {
            for i in current.lowerBound..<range.lowerBound { remove(codes[i]) }
            for i in current.upperBound..<range.upperBound { add(codes[i]) }
        } else {
            for i in current { remove(codes[i]) }
            for i in range { add(codes[i]) }
        }
        current = range
    }

    private mutating func add(_ code: Int) {
        if counts[code] == 0 { distinct += 1 }
        counts[code] += 1
    }

    private mutating func remove(_ code: Int) {
        counts[code] -= 1
        if counts[code] == 0 { distinct -= 1 }
    }

    /// The code with the highest count in the current range (ties → smallest code), ignoring `excluded`.
    ///
    /// Scans whichever is shorter: the whole alphabet or the window's samples.
    func mostFrequent(in range: Range<Int>, _ codes: [Int], excluding excluded: Int) -> (code: Int, count: Int)? {
        var best: (code: Int, count: Int)?
        func consider(_ code: Int) {
            let count = counts[code]
            guard count > 0, code != excluded else { return }
            if let b = best, count < b.count || (count == b.count && code >= b.code) { return }
            best = (code, count)
        }
        if counts.count <= range.count {
            for code in counts.indices { consider(code) }
        } else {
            for i in range { consider(codes[i]) }
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
