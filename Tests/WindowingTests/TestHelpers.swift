import TestSupport
import Windowing

/// Every boundary mode the tests sweep, with a readable name for failure messages.
let allModes: [(name: String, mode: BoundaryMode)] = [
    ("valid", .valid),
    ("padEnd", .padEnd()),
    ("padEnd(2.5)", .padEnd(value: 2.5)),
    ("padEndToCover", .padEndToCover()),
    ("center(zeros)", .center(.zeros)),
    ("center(constant -1)", .center(.constant(-1))),
    ("center(reflect)", .center(.reflect)),
    ("center(edge)", .center(.edge)),
    ("center(symmetric)", .center(.symmetric)),
    ("kaldiMirror", .kaldiMirror),
]

/// The window count from each mode's *definition* (which windows exist), counted one window at a time.
///
/// Deliberately written without the closed forms the library uses, so the two can disagree.
func countByDefinition(n: Int, length: Int, hop: Int, mode: BoundaryMode) -> Int {
    guard n > 0 else { return 0 }
    var m = 0
    switch mode {
    case .valid:
        while m * hop + length <= n { m += 1 }  // every window lies inside the signal
    case .padEnd:
        while m * hop < n { m += 1 }  // every window starts inside the signal
    case .padEndToCover:
        m = 1
        while (m - 1) * hop + length < n { m += 1 }  // add windows until the last sample is covered
    case .center:
        let pad = length / 2
        while m * hop + length <= n + 2 * pad { m += 1 }  // windows inside the padded signal
    case .kaldiMirror:
        // round(n / hop) with halves rounded up
        let exact = Double(n) / Double(hop)
        return Int((exact + 0.5).rounded(.down))
    }
    return m
}

/// The value a mode puts at index `i` of signal `x`, written from the numpy.pad / Kaldi definitions.
func referenceSample(_ x: [Float], _ i: Int, mode: BoundaryMode) -> Float {
    let n = x.count
    if i >= 0 && i < n { return x[i] }
    func reflect(_ i: Int) -> Int {  // bounce back and forth without repeating the edge
        guard n > 1 else { return 0 }
        var j = i
        while j < 0 || j >= n { j = j < 0 ? -j : 2 * (n - 1) - j }
        return j
    }
    func symmetric(_ i: Int) -> Int {  // Kaldi's ExtractWindow loop
        var j = i
        while j < 0 || j >= n { j = j < 0 ? -j - 1 : 2 * n - 1 - j }
        return j
    }
    switch mode {
    case .valid: return .nan
    case .padEnd(let v), .padEndToCover(let v): return v
    case .kaldiMirror: return x[symmetric(i)]
    case .center(let pad):
        switch pad {
        case .zeros: return 0
        case .constant(let v): return v
        case .edge: return i < 0 ? x[0] : x[n - 1]
        case .reflect: return x[reflect(i)]
        case .symmetric: return x[symmetric(i)]
        }
    }
}

/// A planar test signal `[channels, n]` with distinct values per channel.
func testSignal(n: Int, channels: Int, seed: UInt64) -> [Float] {
    var rng = SplitMix64(seed: seed)
    return rng.uniformArray(n * channels)
}
