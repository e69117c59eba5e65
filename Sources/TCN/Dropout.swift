import CTCNKernels

/// Dropout on `[batch, channels, time]` activations with PyTorch's inverted scaling.
///
/// ```
/// training:  y = x · m / (1 − p),  m ~ Bernoulli(1 − p)   (elementwise: one m per element; nn.Dropout)
///                                                       (channel: one m per [b, c] row; nn.Dropout1d)
/// eval:      y = x
/// ```
/// Masks come from the caller's seeded `TCNRandom`, so a run is reproducible; they are not PyTorch's masks
/// (PyTorch's CPU generator is not reproduced), so parity tests compare with `p = 0` or in eval mode.
public struct Dropout: Sendable, Equatable, Codable {
    /// Which elements share a mask bit.
    public enum Mode: String, Sendable, Codable, CaseIterable {
        /// One bit per element (`nn.Dropout`).
        case elementwise
        /// One bit per `[batch, channel]` row, zeroing whole channels (`nn.Dropout1d`, spatial dropout).
        case channel
    }

    /// The probability of zeroing, in `[0, 1)`.
    public let probability: Float
    /// Elementwise or channel-wise masks.
    public let mode: Mode

    /// Creates a dropout layer.
    ///
    /// - Parameters:
    ///   - probability: drop probability in `[0, 1)` (default 0.0: off).
    ///   - mode: `.elementwise` (default, as locuslab/TCN) or `.channel`.
    /// - Throws: `TCNError.invalidParameter` when `probability` is outside `[0, 1)`.
    public init(probability: Float = 0, mode: Mode = .elementwise) throws {
        guard probability >= 0, probability < 1 else {
            throw TCNError.invalidParameter(
                name: "dropout", value: "\(probability)", reason: "must be in [0, 1)")
        }
        self.probability = probability
        self.mode = mode
    }

    /// Draws the scaled mask (`0` or `1/(1−p)`) for `x`, or `nil` when dropout is a no-op.
    func mask(for shape: [Int], training: Bool, random: inout TCNRandom) -> [Float]? {
        guard training, probability > 0 else { return nil }
        let keep = 1 / (1 - probability)
        let count = shape.reduce(1, *)
        switch mode {
        case .elementwise:
            return (0..<count).map { _ in random.uniform(0, 1) < probability ? 0 : keep }
        case .channel:
            let time = shape.last ?? 1
            var m = [Float](repeating: 0, count: count)
            for row in 0..<(time == 0 ? 0 : count / time) {
                let v: Float = random.uniform(0, 1) < probability ? 0 : keep
                for t in 0..<time { m[row * time + t] = v }
            }
            return m
        }
    }
}

extension Tensor {
    /// Element-wise product with a mask of the same count (internal invariant).
    func multiplied(by mask: [Float]) -> Tensor {
        precondition(mask.count == count, "mask count")
        var y = self
        y.data.withUnsafeMutableBufferPointer { p in
            mask.withUnsafeBufferPointer { m in
                guard let pBase = p.baseAddress, let mBase = m.baseAddress else { return }
                TCNThreads.forEachRange(p.count, grain: TCNThreads.elementGrain) { r in
                    tcn_multiply(pBase + r.lowerBound, mBase + r.lowerBound, r.count)
                }
            }
        }
        return y
    }
}
