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
    ///
    /// Channels are independent: statistics, normalisation and gradients run in parallel over channels, each
    /// channel's sums in a fixed order (Double, four interleaved partial sums), whatever the thread count.
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
            var means = [Double](repeating: 0, count: channels)
            var variances = [Double](repeating: 0, count: channels)
            x.data.withUnsafeBufferPointer { xp in
                means.withUnsafeMutableBufferPointer { mp in
                    variances.withUnsafeMutableBufferPointer { vp in
                        guard let xBase = xp.baseAddress, let mBase = mp.baseAddress, let vBase = vp.baseAddress
                        else { return }
                        TCNThreads.forEachRange(channels, grain: max(1, TCNThreads.elementGrain / max(1, n))) { cs in
                            for c in cs {
                                var s = 0.0
                                for b in 0..<batch { s += sum(xBase + (b * channels + c) * time, time) }
                                let mu = s / Double(n)
                                var v = 0.0
                                for b in 0..<batch {
                                    v += squaredDeviations(xBase + (b * channels + c) * time, time, from: mu)
                                }
                                mBase[c] = mu
                                vBase[c] = v
                            }
                        }
                    }
                }
            }
            for c in 0..<channels {
                let mu = means[c]
                let v = variances[c]
                mean[c] = Float(mu)
                inverseStd[c] = Float(1 / (v / Double(n) + Double(epsilon)).squareRoot())
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
        var normalized = [Float](repeating: 0, count: x.count)
        var y = [Float](repeating: 0, count: x.count)
        let (g, beta) = (weight.data, bias.data)
        x.data.withUnsafeBufferPointer { xp in
            normalized.withUnsafeMutableBufferPointer { hp in
                y.withUnsafeMutableBufferPointer { yp in
                    guard let xBase = xp.baseAddress, let hBase = hp.baseAddress, let yBase = yp.baseAddress else {
                        return
                    }
                    TCNThreads.forEachRange(batch * channels, grain: max(1, TCNThreads.elementGrain / max(1, time))) {
                        rows in
                        for row in rows {
                            let c = row % channels
                            let (mu, s, gc, bc) = (mean[c], inverseStd[c], g[c], beta[c])
                            let (xr, hr, yr) = (xBase + row * time, hBase + row * time, yBase + row * time)
                            for t in 0..<time {
                                let h = (xr[t] - mu) * s
                                hr[t] = h
                                yr[t] = gc * h + bc
                            }
                        }
                    }
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
        var dx = [Float](repeating: 0, count: dy.count)
        let g = weight.data
        dy.data.withUnsafeBufferPointer { gp in
            cache.normalized.withUnsafeBufferPointer { hp in
                dx.withUnsafeMutableBufferPointer { dxp in
                    dGamma.withUnsafeMutableBufferPointer { dgp in
                        dBeta.withUnsafeMutableBufferPointer { dbp in
                            guard let gBase = gp.baseAddress, let hBase = hp.baseAddress, let dxBase = dxp.baseAddress,
                                let dgBase = dgp.baseAddress, let dbBase = dbp.baseAddress
                            else { return }
                            let grain = max(1, TCNThreads.elementGrain / max(1, batch * time))
                            TCNThreads.forEachRange(channels, grain: grain) { cs in
                                for c in cs {
                                    var sumDy = 0.0
                                    var sumDyH = 0.0
                                    for b in 0..<batch {
                                        let base = (b * channels + c) * time
                                        sumDy += sum(gBase + base, time)
                                        sumDyH += dot(gBase + base, hBase + base, time)
                                    }
                                    dbBase[c] = Float(sumDy)
                                    dgBase[c] = Float(sumDyH)
                                    let scale = g[c] * cache.inverseStd[c]
                                    // dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy · x̂)) in training, γ/σ · dy in eval.
                                    let meanDy = cache.training ? Float(sumDy) / n : 0
                                    let meanDyH = cache.training ? Float(sumDyH) / n : 0
                                    for b in 0..<batch {
                                        let base = (b * channels + c) * time
                                        let (gr, hr, dr) = (gBase + base, hBase + base, dxBase + base)
                                        for t in 0..<time { dr[t] = scale * (gr[t] - meanDy - hr[t] * meanDyH) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        gradients.accumulate(prefix + "weight", Tensor(uncheckedShape: [channels], data: dGamma))
        gradients.accumulate(prefix + "bias", Tensor(uncheckedShape: [channels], data: dBeta))
        return Tensor(uncheckedShape: dy.shape, data: dx)
    }
}

/// `Σ p[i]` over `count` values in Double, as four interleaved partial sums (a fixed order).
@inline(__always)
private func sum(_ p: UnsafePointer<Float>, _ count: Int) -> Double {
    var (s0, s1, s2, s3) = (0.0, 0.0, 0.0, 0.0)
    var i = 0
    while i + 4 <= count {
        s0 += Double(p[i])
        s1 += Double(p[i + 1])
        s2 += Double(p[i + 2])
        s3 += Double(p[i + 3])
        i += 4
    }
    while i < count {
        s0 += Double(p[i])
        i += 1
    }
    return (s0 + s1) + (s2 + s3)
}

/// `Σ (p[i] − mean)²` over `count` values in Double, as four interleaved partial sums.
@inline(__always)
private func squaredDeviations(_ p: UnsafePointer<Float>, _ count: Int, from mean: Double) -> Double {
    var (s0, s1, s2, s3) = (0.0, 0.0, 0.0, 0.0)
    var i = 0
    while i + 4 <= count {
        let (d0, d1) = (Double(p[i]) - mean, Double(p[i + 1]) - mean)
        let (d2, d3) = (Double(p[i + 2]) - mean, Double(p[i + 3]) - mean)
        s0 += d0 * d0
        s1 += d1 * d1
        s2 += d2 * d2
        s3 += d3 * d3
        i += 4
    }
    while i < count {
        let d = Double(p[i]) - mean
        s0 += d * d
        i += 1
    }
    return (s0 + s1) + (s2 + s3)
}

/// `Σ p[i] · q[i]` over `count` values in Double, as four interleaved partial sums.
@inline(__always)
private func dot(_ p: UnsafePointer<Float>, _ q: UnsafePointer<Float>, _ count: Int) -> Double {
    var (s0, s1, s2, s3) = (0.0, 0.0, 0.0, 0.0)
    var i = 0
    while i + 4 <= count {
        s0 += Double(p[i]) * Double(q[i])
        s1 += Double(p[i + 1]) * Double(q[i + 1])
        s2 += Double(p[i + 2]) * Double(q[i + 2])
        s3 += Double(p[i + 3]) * Double(q[i + 3])
        i += 4
    }
    while i < count {
        s0 += Double(p[i]) * Double(q[i])
        i += 1
    }
    return (s0 + s1) + (s2 + s3)
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
    ///
    /// Each example runs on its own thread; the per-step sums over channels accumulate whole rows (`[time]` at a
    /// time), in channel order.
    func forward(_ x: Tensor) throws -> (output: Tensor, cache: Cache) {
        let (batch, _, time) = try x.batchChannelsTime(name: "layer norm input", channels: channels)
        var normalized = [Float](repeating: 0, count: x.count)
        var y = [Float](repeating: 0, count: x.count)
        var inverseStd = [Float](repeating: 0, count: batch * time)
        let (g, beta, eps, n) = (weight.data, bias.data, epsilon, Float(channels))
        x.data.withUnsafeBufferPointer { xp in
            normalized.withUnsafeMutableBufferPointer { hp in
                y.withUnsafeMutableBufferPointer { yp in
                    inverseStd.withUnsafeMutableBufferPointer { ip in
                        guard let xBase = xp.baseAddress, let hBase = hp.baseAddress, let yBase = yp.baseAddress,
                            let iBase = ip.baseAddress
                        else { return }
                        TCNThreads.forEachRange(batch) { examples in
                            var mean = [Float](repeating: 0, count: time)
                            var variance = [Float](repeating: 0, count: time)
                            for b in examples {
                                let base = b * channels * time
                                for t in 0..<time { mean[t] = 0 }
                                for t in 0..<time { variance[t] = 0 }
                                for c in 0..<channels {
                                    let xr = xBase + base + c * time
                                    for t in 0..<time { mean[t] += xr[t] }
                                }
                                for t in 0..<time { mean[t] /= n }
                                for c in 0..<channels {
                                    let xr = xBase + base + c * time
                                    for t in 0..<time {
                                        let d = xr[t] - mean[t]
                                        variance[t] += d * d
                                    }
                                }
                                let inv = iBase + b * time
                                for t in 0..<time { inv[t] = 1 / (variance[t] / n + eps).squareRoot() }
                                for c in 0..<channels {
                                    let o = base + c * time
                                    let (xr, hr, yr) = (xBase + o, hBase + o, yBase + o)
                                    let (gc, bc) = (g[c], beta[c])
                                    for t in 0..<time {
                                        let h = (xr[t] - mean[t]) * inv[t]
                                        hr[t] = h
                                        yr[t] = gc * h + bc
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (Tensor(uncheckedShape: x.shape, data: y), Cache(normalized: normalized, inverseStd: inverseStd))
    }

    /// Adds `weight`/`bias` gradients under `prefix` and returns the input gradient.
    ///
    /// Examples run in parallel; the `γ`/`β` gradients are summed per example and then over examples in order,
    /// so they do not depend on the thread count.
    func backward(_ dy: Tensor, cache: Cache, prefix: String, gradients: inout TensorDictionary) -> Tensor {
        let batch = dy.shape[0]
        let time = dy.shape[2]
        var partials = [Float](repeating: 0, count: batch * 2 * channels)
        var dx = [Float](repeating: 0, count: dy.count)
        let (g, n) = (weight.data, Float(channels))
        dy.data.withUnsafeBufferPointer { gp in
            cache.normalized.withUnsafeBufferPointer { hp in
                cache.inverseStd.withUnsafeBufferPointer { ip in
                    dx.withUnsafeMutableBufferPointer { dxp in
                        partials.withUnsafeMutableBufferPointer { pp in
                            guard let gBase = gp.baseAddress, let hBase = hp.baseAddress, let iBase = ip.baseAddress,
                                let dxBase = dxp.baseAddress, let pBase = pp.baseAddress
                            else { return }
                            TCNThreads.forEachRange(batch) { examples in
                                var sumDh = [Float](repeating: 0, count: time)
                                var sumDhH = [Float](repeating: 0, count: time)
                                for b in examples {
                                    let base = b * channels * time
                                    for t in 0..<time { sumDh[t] = 0 }
                                    for t in 0..<time { sumDhH[t] = 0 }
                                    let dGamma = pBase + b * 2 * channels
                                    let dBeta = dGamma + channels
                                    for c in 0..<channels {
                                        let (gr, hr) = (gBase + base + c * time, hBase + base + c * time)
                                        var (sg, sb) = (Float(0), Float(0))
                                        let gc = g[c]
                                        for t in 0..<time {
                                            sg += gr[t] * hr[t]
                                            sb += gr[t]
                                            let dh = gr[t] * gc
                                            sumDh[t] += dh
                                            sumDhH[t] += dh * hr[t]
                                        }
                                        dGamma[c] = sg
                                        dBeta[c] = sb
                                    }
                                    let inv = iBase + b * time
                                    for c in 0..<channels {
                                        let o = base + c * time
                                        let (gr, hr, dr) = (gBase + o, hBase + o, dxBase + o)
                                        let gc = g[c]
                                        for t in 0..<time {
                                            dr[t] = inv[t] * (gr[t] * gc - sumDh[t] / n - hr[t] * sumDhH[t] / n)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        var dGamma = [Float](repeating: 0, count: channels)
        var dBeta = [Float](repeating: 0, count: channels)
        for b in 0..<batch {
            for c in 0..<channels {
                dGamma[c] += partials[b * 2 * channels + c]
                dBeta[c] += partials[b * 2 * channels + channels + c]
            }
        }
        gradients.accumulate(prefix + "weight", Tensor(uncheckedShape: [channels], data: dGamma))
        gradients.accumulate(prefix + "bias", Tensor(uncheckedShape: [channels], data: dBeta))
        return Tensor(uncheckedShape: dy.shape, data: dx)
    }
}
