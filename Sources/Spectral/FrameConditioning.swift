import Foundation

/// Kaldi's per-frame conditioning before the window (`ProcessWindow` in feature-window.cc), in this order:
///
/// ```
/// x += dither · N(0, 1)                      (dither ≠ 0; seeded, so reproducible)
/// x -= mean(x)                               (removeDCOffset)
/// rawLogEnergy = log(max(Σ x², FLT_EPSILON))  (taken here when the energy is raw)
/// x[i] -= p · x[i−1] for i = n−1 … 1;  x[0] -= p · x[0]      (preemphasis p, Kaldi's first-sample rule)
/// ```
///
/// Defaults are Kaldi's except `dither`, which is 0 here (Kaldi 1.0, kaldi-native-fbank 3e-5) so features are
/// deterministic and comparable number for number; set it for training-time augmentation.
public struct FrameConditioning: Sendable, Hashable {
    /// Standard deviation of the Gaussian noise added to every sample (in the input's scale; with
    /// `inputScale = 32768`, Kaldi's `--dither=1.0` is one int16 step). Default 0 (off).
    public var dither: Float = 0
    /// Seed of the dither noise; frame `m` of channel `c` draws from a generator seeded by `(ditherSeed, m, c)`,
    /// so a stream and a whole file get the same noise.
    public var ditherSeed: UInt64 = 0
    /// Subtract each frame's mean (Kaldi `--remove-dc-offset=true`).
    public var removeDCOffset: Bool = true
    /// Pre-emphasis coefficient inside each frame (Kaldi `--preemphasis-coefficient=0.97`); 0 turns it off.
    public var preemphasis: Float = 0.97

    /// Kaldi's defaults with dither off.
    public init() {}

    /// Conditioning with every field given.
    public init(dither: Float, ditherSeed: UInt64 = 0, removeDCOffset: Bool = true, preemphasis: Float = 0.97) {
        self.dither = dither
        self.ditherSeed = ditherSeed
        self.removeDCOffset = removeDCOffset
        self.preemphasis = preemphasis
    }

    /// Applies dither, DC removal and pre-emphasis to `x[0..<count]` in place; returns `Σ x²` after DC removal
    /// (Kaldi's raw energy, before pre-emphasis and window).
    func apply(_ x: UnsafeMutablePointer<Float>, count: Int, frame: Int, channel: Int) -> Float {
        guard count > 0 else { return 0 }
        if dither != 0 {
            var generator = DitherGenerator(seed: ditherSeed, frame: frame, channel: channel)
            for i in 0..<count { x[i] += dither * generator.gaussian() }
        }
        if removeDCOffset {
            let mean = laneSum(x, count: count) { $0 } / Float(count)
            for i in 0..<count { x[i] -= mean }
        }
        let energy = laneSum(x, count: count) { $0 * $0 }
        if preemphasis != 0 {
            // x[i] − p·x[i−1] with the original x[i−1], written forward (a first-order recurrence the compiler
            // vectorises), then Kaldi's x[0] − p·x[0].
            var previous = x[0]
            for i in 1..<count {
                let current = x[i]
                x[i] = current - preemphasis * previous
                previous = current
            }
            x[0] -= preemphasis * x[0]
        }
        return energy
    }
}

/// SplitMix64 seeded by (seed, frame, channel), with Box–Muller normals: reproducible dither per frame.
struct DitherGenerator {
    private var state: UInt64

    init(seed: UInt64, frame: Int, channel: Int) {
        state =
            seed ^ (UInt64(truncatingIfNeeded: frame) &* 0x9E37_79B9_7F4A_7C15)
            ^ (UInt64(truncatingIfNeeded: channel) &* 0xC2B2_AE3D_27D4_EB4F)
        _ = next()
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func gaussian() -> Float {
        let u1 = max(Double(next() >> 11) / Double(1 << 53), 1e-300)
        let u2 = Double(next() >> 11) / Double(1 << 53)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}

/// `Σ f(x[i])` with eight partial sums (a fixed order, so deterministic; it rounds like a BLAS `sdot`, not like
/// a sequential loop).
@inline(__always)
func laneSum(
    _ x: UnsafeMutablePointer<Float>, count: Int, _ f: (SIMD8<Float>) -> SIMD8<Float>
) -> Float {
    let raw = UnsafeRawPointer(x)
    var lanes = SIMD8<Float>(repeating: 0)
    var i = 0
    while i + 8 <= count {
        lanes += f(raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self))
        i += 8
    }
    var total = lanes.sum()
    while i < count {
        total += f(SIMD8<Float>(repeating: x[i]))[0]
        i += 1
    }
    return total
}
