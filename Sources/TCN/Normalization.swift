/// Which normalisation a `TemporalBlock` applies after each convolution.
public enum Normalization: String, Sendable, Codable, CaseIterable {
    /// No normalisation.
    case none
    /// Weight normalisation of the convolutions (`torch.nn.utils.weight_norm`, locuslab/TCN's choice):
    /// parameters `weight_g` `[out, 1, 1]` and `weight_v` `[out, in, k]`.
    case weightNorm
    /// `torch.nn.BatchNorm1d(channels)` over `[batch, channels, time]` (statistics over batch and time).
    case batchNorm
    /// `torch.nn.LayerNorm(channels)` applied at each `[batch, ·, time]` position (over channels), as
    /// pytorch-tcn's `use_norm="layer_norm"` (which transposes to `[batch, time, channels]` first).
    case layerNorm
}

/// Batch normalisation over `[batch, channels, time]`, as `torch.nn.BatchNorm1d(channels)` with its defaults
/// (`eps = 1e-5`, `momentum = 0.1`, affine, tracking running statistics).
///
/// ```
/// training: μ, σ² = mean and biased variance over (batch, time) per channel
///           y = γ · (x − μ)/√(σ² + eps) + β
///           running_mean ← (1 − m)·running_mean + m·μ;  running_var ← (1 − m)·running_var + m·σ²·N/(N−1)
/// eval:     y = γ · (x − running_mean)/√(running_var + eps) + β
/// ```
public struct BatchNorm1d: Sendable, Equatable {
    /// Channels `C`.
    public let channels: Int
    /// Added to the variance (default 1e-5, as torch).
    public let epsilon: Float
    /// Running-statistics update weight (default 0.1, as torch).
    public let momentum: Float
    /// Scale γ `[C]` (`weight`).
    public var weight: Tensor
    /// Shift β `[C]` (`bias`).
    public var bias: Tensor
    /// Running mean `[C]` (`running_mean` buffer).
    public var runningMean: Tensor
    /// Running unbiased variance `[C]` (`running_var` buffer).
    public var runningVariance: Tensor
    /// Training batches seen (`num_batches_tracked` buffer).
    public var batchesTracked: Int

    /// Creates a batch norm with γ = 1, β = 0, running mean 0 and variance 1 (torch's initial state).
    ///
    /// - Throws: `TCNError.invalidParameter` for `channels < 1`.
    public init(channels: Int, epsilon: Float = 1e-5, momentum: Float = 0.1) throws {
        guard channels >= 1 else {
            throw TCNError.invalidParameter(name: "channels", value: "\(channels)", reason: "must be ≥ 1")
        }
        self.channels = channels
        self.epsilon = epsilon
        self.momentum = momentum
        weight = Tensor(zeros: [channels], value: 1)
        bias = Tensor(zeros: [channels])
        runningMean = Tensor(zeros: [channels])
        runningVariance = Tensor(zeros: [channels], value: 1)
        batchesTracked = 0
    }

    /// What the backward pass needs.
    struct Cache {
        var normalized: [Float]
        var inverseStd: [Float]
        var training: Bool
    }

    /// Normalises `x` `[batch, C, time]`; in training, uses batch statistics and updates the running ones.
    mutating func forward(_ x: Tensor, training: Bool) throws -> (output: Tensor, cache: Cache) {
        let (batch, _, time) = try x.batchChannelsTime(name: "batch norm input", channels: channels)
        let n = batch * time
        var mean = [Float](repeating: 0, count: channels)
        var inverseStd = [Float](repeating: 0, count: channels)
        if training {
            guard n > 1 else {
                throw TCNError.invalidParameter(
                    name: "batch norm input", value: "\(x.shape)",
                    reason: "training needs more than one value per channel")
            }
            for c in 0..<channels {
                var s: Double = 0
                for b in 0..<batch {
                    let base = (b * channels + c) * time
                    for t in 0..<time { s += Double(x.data[base + t]) }
                }
                let mu = s / Double(n)
                var v: Double = 0
                for b in 0..<batch {
                    let base = (b * channels + c) * time
                    for t in 0..<time {
                        let d = Double(x.data[base + t]) - mu
                        v += d * d
                    }
                }
                let biased = v / Double(n)
                mean[c] = Float(mu)
                inverseStd[c] = Float(1 / (biased + Double(epsilon)).squareRoot())
                runningMean.data[c] = (1 - momentum) * runningMean.data[c] + momentum * Float(mu)
                runningVariance.data[c] =
                    (1 - momentum) * runningVariance.data[c] + momentum * Float(v / Double(n - 1))
            }
            batchesTracked += 1
        } else {
            for c in 0..<channels {
                mean[c] = runningMean.data[c]
                inverseStd[c] = 1 / (runningVariance.data[c] + epsilon).squareRoot()
            }
        }
        var normalized = x.data
        var y = x.data
        for b in 0..<batch {
            for c in 0..<channels {
                let base = (b * channels + c) * time
                let mu = mean[c]
                let s = inverseStd[c]
                let g = weight.data[c]
                let beta = bias.data[c]
                for t in 0..<time {
                    let h = (x.data[base + t] - mu) * s
                    normalized[base + t] = h
                    y[base + t] = g * h + beta
                }
            }
        }
        return (
            Tensor(uncheckedShape: x.shape, data: y),
            Cache(normalized: normalized, inverseStd: inverseStd, training: training)
        )
    }

    /// Adds `weight`/`bias` gradients under `prefix` and returns the input gradient.
    func backward(_ dy: Tensor, cache: Cache, prefix: String, gradients: inout TensorDictionary) -> Tensor {
        let batch = dy.shape[0]
        let time = dy.shape[2]
        let n = Float(batch * time)
        var dGamma = [Float](repeating: 0, count: channels)
        var dBeta = [Float](repeating: 0, count: channels)
        for b in 0..<batch {
            for c in 0..<channels {
                let base = (b * channels + c) * time
                for t in 0..<time {
                    dGamma[c] += dy.data[base + t] * cache.normalized[base + t]
                    dBeta[c] += dy.data[base + t]
                }
            }
        }
        gradients.accumulate(prefix + "weight", Tensor(uncheckedShape: [channels], data: dGamma))
        gradients.accumulate(prefix + "bias", Tensor(uncheckedShape: [channels], data: dBeta))
        var dx = dy.data
        for b in 0..<batch {
            for c in 0..<channels {
                let base = (b * channels + c) * time
                let g = weight.data[c] * cache.inverseStd[c]
                if cache.training {
                    // dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy · x̂))
                    let meanDy = dBeta[c] / n
                    let meanDyH = dGamma[c] / n
                    for t in 0..<time {
                        dx[base + t] = g * (dy.data[base + t] - meanDy - cache.normalized[base + t] * meanDyH)
                    }
                } else {
                    for t in 0..<time { dx[base + t] = g * dy.data[base + t] }
                }
            }
        }
        return Tensor(uncheckedShape: dy.shape, data: dx)
    }
}

/// Layer normalisation over channels at each `[batch, ·, time]` position, as `torch.nn.LayerNorm(channels)`
/// applied to `x.transpose(1, 2)` (`eps = 1e-5`, affine).
///
/// ```
/// y[b, :, t] = γ · (x[b, :, t] − mean_c) / √(var_c + eps) + β     (biased variance over channels)
/// ```
public struct LayerNormChannels: Sendable, Equatable {
    /// Channels `C`.
    public let channels: Int
    /// Added to the variance (default 1e-5, as torch).
    public let epsilon: Float
    /// Scale γ `[C]` (`weight`).
    public var weight: Tensor
    /// Shift β `[C]` (`bias`).
    public var bias: Tensor

    /// Creates a layer norm with γ = 1, β = 0 (torch's initial state).
    ///
    /// - Throws: `TCNError.invalidParameter` for `channels < 1`.
    public init(channels: Int, epsilon: Float = 1e-5) throws {
        guard channels >= 1 else {
            throw TCNError.invalidParameter(name: "channels", value: "\(channels)", reason: "must be ≥ 1")
        }
        self.channels = channels
        self.epsilon = epsilon
        weight = Tensor(zeros: [channels], value: 1)
        bias = Tensor(zeros: [channels])
    }

    /// What the backward pass needs.
    struct Cache {
        var normalized: [Float]
        var inverseStd: [Float]
    }

    /// Normalises `x` `[batch, C, time]` over channels.
    func forward(_ x: Tensor) throws -> (output: Tensor, cache: Cache) {
        let (batch, _, time) = try x.batchChannelsTime(name: "layer norm input", channels: channels)
        var normalized = x.data
        var y = x.data
        var inverseStd = [Float](repeating: 0, count: batch * time)
        for b in 0..<batch {
            let base = b * channels * time
            for t in 0..<time {
                var s: Float = 0
                for c in 0..<channels { s += x.data[base + c * time + t] }
                let mu = s / Float(channels)
                var v: Float = 0
                for c in 0..<channels {
                    let d = x.data[base + c * time + t] - mu
                    v += d * d
                }
                let inv = 1 / (v / Float(channels) + epsilon).squareRoot()
                inverseStd[b * time + t] = inv
                for c in 0..<channels {
                    let h = (x.data[base + c * time + t] - mu) * inv
                    normalized[base + c * time + t] = h
                    y[base + c * time + t] = weight.data[c] * h + bias.data[c]
                }
            }
        }
        return (Tensor(uncheckedShape: x.shape, data: y), Cache(normalized: normalized, inverseStd: inverseStd))
    }

    /// Adds `weight`/`bias` gradients under `prefix` and returns the input gradient.
    func backward(_ dy: Tensor, cache: Cache, prefix: String, gradients: inout TensorDictionary) -> Tensor {
        let batch = dy.shape[0]
        let time = dy.shape[2]
        var dGamma = [Float](repeating: 0, count: channels)
        var dBeta = [Float](repeating: 0, count: channels)
        var dx = dy.data
        let n = Float(channels)
        for b in 0..<batch {
            let base = b * channels * time
            for t in 0..<time {
                var sumDh: Float = 0
                var sumDhH: Float = 0
                for c in 0..<channels {
                    let i = base + c * time + t
                    dGamma[c] += dy.data[i] * cache.normalized[i]
                    dBeta[c] += dy.data[i]
                    let dh = dy.data[i] * weight.data[c]
                    sumDh += dh
                    sumDhH += dh * cache.normalized[i]
                }
                let inv = cache.inverseStd[b * time + t]
                for c in 0..<channels {
                    let i = base + c * time + t
                    let dh = dy.data[i] * weight.data[c]
                    dx[i] = inv * (dh - sumDh / n - cache.normalized[i] * sumDhH / n)
                }
            }
        }
        gradients.accumulate(prefix + "weight", Tensor(uncheckedShape: [channels], data: dGamma))
        gradients.accumulate(prefix + "bias", Tensor(uncheckedShape: [channels], data: dBeta))
        return Tensor(uncheckedShape: dy.shape, data: dx)
    }
}
