import Foundation

/// The seeded generator behind every random choice in the TCN module: weight initialisation, dropout masks
/// and shuffling (SplitMix64, Steele et al. 2014).
///
/// Its whole state is one `UInt64` (`state`), so a checkpoint can store it and a resumed run draws exactly
/// the numbers an uninterrupted one would. It never touches the system RNG.
public struct TCNRandom: RandomNumberGenerator, Sendable, Equatable, Codable {
    /// The generator's entire state; set it to resume a sequence.
    public var state: UInt64

    /// Creates a generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform Float in `[low, high)` from the top 24 bits.
    public mutating func uniform(_ low: Float, _ high: Float) -> Float {
        low + (high - low) * Float(next() >> 40) / Float(1 << 24)
    }

    /// A standard-normal Float (Box–Muller in Double).
    public mutating func normal() -> Float {
        let u1 = max(Double(next() >> 11) / Double(1 << 53), 1e-300)
        let u2 = Double(next() >> 11) / Double(1 << 53)
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
    }
}

/// How a layer's weights are initialised when it is built from a seed rather than given weights.
public enum WeightInitialization: String, Sendable, Codable, CaseIterable {
    /// PyTorch's default for `nn.Conv1d`/`nn.Linear`: weight and bias `U(-1/√fanIn, 1/√fanIn)`
    /// (`kaiming_uniform_(a=√5)`).
    case torchDefault
    /// `N(0, 0.01²)` weights, as locuslab/TCN's `init_weights` (biases keep the torch default).
    case normal001
    /// Kaiming/He normal `N(0, 2/fanIn)` (`kaiming_normal_`, ReLU gain; pytorch-tcn's
    /// `kernel_initializer="kaiming_normal"`).
    case kaimingNormal
    /// Xavier/Glorot uniform `U(±√(6/(fanIn+fanOut)))` (`xavier_uniform_`, gain 1). pytorch-tcn's default
    /// `kernel_initializer="xavier_uniform"` uses the activation's gain (√2 for ReLU) and, on weight-normalised
    /// convolutions, does not take effect at all (see `StateDictNaming`).
    case xavierUniform

    /// Draws `count` weights for a layer with the given fans.
    func draw(count: Int, fanIn: Int, fanOut: Int, random: inout TCNRandom) -> [Float] {
        switch self {
        case .torchDefault:
            let bound = 1 / Float(max(fanIn, 1)).squareRoot()
            return (0..<count).map { _ in random.uniform(-bound, bound) }
        case .normal001:
            return (0..<count).map { _ in 0.01 * random.normal() }
        case .kaimingNormal:
            let std = (2 / Float(max(fanIn, 1))).squareRoot()
            return (0..<count).map { _ in std * random.normal() }
        case .xavierUniform:
            let bound = (6 / Float(max(fanIn + fanOut, 1))).squareRoot()
            return (0..<count).map { _ in random.uniform(-bound, bound) }
        }
    }
}
