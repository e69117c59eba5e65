import TestSupport
import Testing
import Windowing

/// The window label written straight from the definitions in `LabelReduction`'s documentation.
private func referenceLabel(
    _ labels: [Int], window: WindowProvenance, reduction: LabelReduction, background: Int
) -> Int {
    let real = Array(labels[window.signalRange])  // padded samples are not counted
    guard !real.isEmpty else { return background }
    var counts: [Int: Int] = [:]
    for label in real { counts[label, default: 0] += 1 }
    // Sort by count descending, then label ascending: the first entry is the winner, ties to the smallest.
    let ranked = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
    let events = ranked.filter { $0.key != background }
    switch reduction {
    case .any: return events.first?.key ?? background
    case .all: return counts.count == 1 ? real[0] : background
    case .last: return real[real.count - 1]
    case .center:
        let center = window.firstSample + window.length / 2
        let clamped = min(max(center, window.signalRange.lowerBound), window.signalRange.upperBound - 1)
        return labels[clamped]
    case .majority: return ranked[0].key
    case .fraction(let t):
        guard let top = events.first else { return background }
        return Double(top.value) / Double(real.count) >= t ? top.key : background
    }
}

@Test func labelReductionsMatchTheirDefinitionsForEveryMode() throws {
    var rng = SplitMix64(seed: 11)
    let reductions: [LabelReduction] = [
        .any, .all, .last, .center, .majority, .fraction(0.5), .fraction(0.2), .fraction(1),
    ]
    for (name, mode) in allModes {
        for (length, hop) in [(1, 1), (4, 2), (5, 3), (3, 5), (8, 3), (9, 1)] {
            let options = try FrameOptions(length: length, hop: hop, boundary: mode)
            for n in [0, 1, 2, 7, 30] {
                // Runs of labels 0…3 so that windows see agreement, mixtures and ties.
                var labels: [Int] = []
                while labels.count < n {
                    labels += Array(repeating: Int(rng.next() % 4), count: 1 + Int(rng.next() % 4))
                }
                labels = Array(labels.prefix(n))
                let windows = (0..<options.frameCount(forLength: n)).map {
                    options.provenance(ofWindow: $0, signalLength: n)
                }
                for reduction in reductions {
                    let actual = try options.windowLabels(perSample: labels, reduction: reduction, background: 0)
                    let expected = windows.map {
                        referenceLabel(labels, window: $0, reduction: reduction, background: 0)
                    }
                    #expect(actual == expected, "\(name) \(reduction) n=\(n) L=\(length) hop=\(hop) labels=\(labels)")
                }
            }
        }
    }
}

@Test func labelRulesOnAHandWorkedExample() throws {
    // Windows of 4, hop 4, valid: [1 1 0 0] [2 2 3 3] [0 0 0 5] [4 4 4 4]
    let labels = [1, 1, 0, 0, 2, 2, 3, 3, 0, 0, 0, 5, 4, 4, 4, 4]
    let options = try FrameOptions(length: 4, hop: 4)
    func run(_ r: LabelReduction) throws -> [Int] {
        try options.windowLabels(perSample: labels, reduction: r, background: 0)
    }
    #expect(try run(.any) == [1, 2, 5, 4])  // 2 and 3 tie → smallest
    #expect(try run(.all) == [0, 0, 0, 4])
    #expect(try run(.last) == [0, 3, 5, 4])
    #expect(try run(.center) == [0, 3, 0, 4])  // sample first + 2
    #expect(try run(.majority) == [0, 2, 0, 4])  // 0 and 1 tie → 0
    #expect(try run(.fraction(0.5)) == [1, 2, 0, 4])
    #expect(try run(.fraction(0.75)) == [0, 0, 0, 4])
    // String labels work too, with ties to the alphabetically smallest.
    let words = ["walk", "run", "run", "walk"]
    let one = try FrameOptions(length: 4, hop: 1)
    #expect(try one.windowLabels(perSample: words, reduction: .majority, background: "none") == ["run"])
}

@Test func paddedSamplesAreNotCounted() throws {
    // Centre-padded window 0 of length 8 over 3 real samples: only [7, 7, 0] count.
    let options = try FrameOptions(length: 8, hop: 4, boundary: .center(.zeros))
    let labels = [7, 7, 0]
    #expect(try options.windowLabels(perSample: labels, reduction: .all, background: 0) == [0])
    #expect(try options.windowLabels(perSample: labels, reduction: .fraction(0.6), background: 0) == [7])
    #expect(try options.windowLabels(perSample: labels, reduction: .majority, background: 0) == [7])
    #expect(try options.windowLabels(perSample: labels, reduction: .last, background: 0) == [0])
    #expect(try options.windowLabels(perSample: [7, 7], reduction: .all, background: 0) == [7])
}

@Test func intervalsRasterizeWithRoundingClippingAndOverlap() throws {
    let a = try LabelInterval(startSeconds: 0.1, endSeconds: 0.2, sampleRate: 16_000, label: 1)
    #expect(a.start == 1600 && a.end == 3200)
    let labels = try LabelInterval.rasterize(
        [
            try LabelInterval(start: -2, end: 3, label: 1),
            try LabelInterval(start: 2, end: 5, label: 2),  // later wins on sample 2
            try LabelInterval(start: 8, end: 20, label: 3),
        ], signalLength: 10, background: 0)
    #expect(labels == [1, 1, 2, 2, 2, 0, 0, 0, 3, 3])
    let options = try FrameOptions(length: 5, hop: 5)
    let windowed = try options.windowLabels(
        intervals: [try LabelInterval(startSeconds: 0.25, endSeconds: 0.45, sampleRate: 20, label: 9)],
        signalLength: 10, reduction: .any, background: 0)
    #expect(windowed == [0, 9])  // samples 5 ..< 9 lie in the second window only
}

@Test func labelErrorsAreTyped() throws {
    #expect(throws: WindowingError.self) { try LabelInterval(start: 5, end: 4, label: 1) }
    #expect(throws: WindowingError.self) {
        try LabelInterval(startSeconds: .nan, endSeconds: 1, sampleRate: 10, label: 1)
    }
    #expect(throws: WindowingError.self) {
        try LabelInterval(startSeconds: 0, endSeconds: 1, sampleRate: 0, label: 1)
    }
    #expect(throws: WindowingError.self) {
        try LabelInterval<Int>.rasterize([], signalLength: -1, background: 0)
    }
    let options = try FrameOptions(length: 2, hop: 1)
    for bad in [0.0, -0.5, 1.5, .nan] {
        #expect(throws: WindowingError.self) {
            try options.windowLabels(perSample: [1, 2, 3], reduction: .fraction(bad), background: 0)
        }
    }
    let windows = [options.provenance(ofWindow: 5, signalLength: 10)]
    #expect(throws: WindowingError.labelCountMismatch(labels: 3, signalLength: 7)) {
        try LabelReduction.majority.apply(to: [1, 2, 3], windows: windows, background: 0)
    }
    #expect(try options.windowLabels(perSample: [Int](), reduction: .any, background: 0).isEmpty)
}
