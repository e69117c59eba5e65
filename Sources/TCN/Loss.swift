import Foundation

extension HeadConfiguration.Loss {
    /// The mean loss over valid elements and its gradient with respect to `output`.
    ///
    /// ```
    /// crossEntropy: output [B, K] or [B, K, T] logits, targets [B] or [B, T] class indices (as Float);
    ///               ℓ = logsumexp(z) − z[target]                                         (F.cross_entropy)
    ///           or targets shaped like the output, class probabilities y (mixup, label smoothing);
    ///               ℓ = −Σ_c y_c log softmax(z)_c,  ∂ℓ/∂z_c = softmax(z)_c · Σ_k y_k − y_c
    ///                                                  (F.cross_entropy with probability targets)
    /// mse / mae / huber: targets have output's shape; ℓ = d², |d|, or ½d² (|d| ≤ δ) / δ(|d| − ½δ)
    /// loss = Σ valid ℓ / (number of valid terms)       (reduction="mean" over the unmasked terms)
    /// ```
    /// - Parameters:
    ///   - validSteps: for `[B, K, T]` outputs, `[B · T]` flags (1 = counted) or `nil` for all steps.
    /// - Throws: `TCNError.shapeMismatch` when targets do not fit the output; `TCNError.invalidParameter` for a
    ///   class index outside `0..<K`, a probability that is negative or not finite, or when no term is valid.
    func evaluate(
        output: Tensor, targets: Tensor, validSteps: [Float]?, huberDelta: Float
    ) throws -> (loss: Float, gradient: Tensor) {
        let batch = output.shape[0]
        let k = output.shape[1]
        let time = output.shape.count == 3 ? output.shape[2] : 1
        let valid = validSteps ?? [Float](repeating: 1, count: batch * time)
        let validCount = valid.reduce(0, +)
        var gradient = [Float](repeating: 0, count: output.count)
        var total: Double = 0
        switch self {
        case .crossEntropy where targets.shape == output.shape:
            guard validCount > 0 else {
                throw TCNError.invalidParameter(name: "targets", value: "\(targets.shape)", reason: "no valid step")
            }
            for b in 0..<batch {
                for t in 0..<time where valid[b * time + t] > 0 {
                    let logSum = Self.logSumExp(output.data, b: b, k: k, t: t, time: time)
                    var mass: Double = 0
                    for c in 0..<k {
                        let i = (b * k + c) * time + t
                        guard targets.data[i] >= 0, targets.data[i].isFinite else {
                            throw TCNError.invalidParameter(
                                name: "targets[\(i)]", value: "\(targets.data[i])",
                                reason: "a class probability must be finite and ≥ 0")
                        }
                        let y = Double(targets.data[i])
                        mass += y
                        if y > 0 { total += y * (logSum - Double(output.data[i])) }
                    }
                    for c in 0..<k {
                        let i = (b * k + c) * time + t
                        let p = Foundation.exp(Double(output.data[i]) - logSum)
                        gradient[i] = Float(p * mass - Double(targets.data[i])) / validCount
                    }
                }
            }
        case .crossEntropy:
            let expected = output.shape.count == 3 ? [batch, time] : [batch]
            guard targets.shape == expected else {
                throw TCNError.shapeMismatch(name: "class targets", expected: expected, actual: targets.shape)
            }
            guard validCount > 0 else {
                throw TCNError.invalidParameter(name: "targets", value: "\(targets.shape)", reason: "no valid step")
            }
            for b in 0..<batch {
                for t in 0..<time where valid[b * time + t] > 0 {
                    let target = targets.data[b * time + t]
                    guard target >= 0, target < Float(k), target == target.rounded() else {
                        throw TCNError.invalidParameter(
                            name: "targets[\(b * time + t)]", value: "\(target)", reason: "not a class in 0..<\(k)")
                    }
                    let logSum = Self.logSumExp(output.data, b: b, k: k, t: t, time: time)
                    total += logSum - Double(output.data[(b * k + Int(target)) * time + t])
                    for c in 0..<k {
                        let i = (b * k + c) * time + t
                        let p = Float(Foundation.exp(Double(output.data[i]) - logSum))
                        gradient[i] = (p - (c == Int(target) ? 1 : 0)) / validCount
                    }
                }
            }
        case .mse, .mae, .huber:
            guard targets.shape == output.shape else {
                throw TCNError.shapeMismatch(name: "regression targets", expected: output.shape, actual: targets.shape)
            }
            let terms = validCount * Float(k)
            guard terms > 0 else {
                throw TCNError.invalidParameter(name: "targets", value: "\(targets.shape)", reason: "no valid step")
            }
            for b in 0..<batch {
                for c in 0..<k {
                    for t in 0..<time where valid[b * time + t] > 0 {
                        let i = (b * k + c) * time + t
                        let d = output.data[i] - targets.data[i]
                        let (value, slope): (Float, Float)
                        switch self {
                        case .mse: (value, slope) = (d * d, 2 * d)
                        case .mae: (value, slope) = (abs(d), d > 0 ? 1 : (d < 0 ? -1 : 0))
                        default:
                            (value, slope) =
                                abs(d) <= huberDelta
                                ? (0.5 * d * d, d)
                                : (huberDelta * (abs(d) - 0.5 * huberDelta), huberDelta * (d > 0 ? 1 : -1))
                        }
                        total += Double(value)
                        gradient[i] = slope / terms
                    }
                }
            }
            return (Float(total / Double(terms)), Tensor(uncheckedShape: output.shape, data: gradient))
        }
        return (Float(total / Double(validCount)), Tensor(uncheckedShape: output.shape, data: gradient))
    }

    /// `log Σ_c exp(z[b, c, t])` over the `k` logits of one step of `[B, K, T]` data, shifted by their maximum.
    private static func logSumExp(_ z: [Float], b: Int, k: Int, t: Int, time: Int) -> Double {
        var maxLogit = -Float.infinity
        for c in 0..<k { maxLogit = max(maxLogit, z[(b * k + c) * time + t]) }
        var sum: Double = 0
        for c in 0..<k { sum += Foundation.exp(Double(z[(b * k + c) * time + t] - maxLogit)) }
        return Double(maxLogit) + Foundation.log(sum)
    }
}
