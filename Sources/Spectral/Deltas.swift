import Foundation

/// How time derivatives of features are estimated.
public enum DeltaMethod: Sendable, Equatable, Hashable {
    /// librosa's `feature.delta(width=, order=, mode='interp')`: a Savitzky–Golay derivative of polynomial degree
    /// `order` over `width` frames (odd, ≥ 3, default 9); the first and last `width / 2` frames take the value of
    /// the polynomial fitted to the first/last `width` frames, as scipy's `savgol_filter(mode='interp')`.
    case savitzkyGolay(width: Int)
    /// Kaldi's `ComputeDeltas` and python_speech_features' `delta(feat, N)`: the regression
    /// `Δx_t = Σ_{n=1}^{N} n (x_{t+n} − x_{t−n}) / (2 Σ n²)` with frames outside the signal replaced by the edge
    /// frame; order 2 applies Kaldi's composed kernel to the clamped input (default `window` 2).
    case regression(window: Int)
}

/// The `order`-th time derivative of features `[frames, dims]`, `[frames, dims]`.
///
/// - Parameters:
///   - features: row-major `[frames, dims]` (one channel).
///   - dims: values per frame.
///   - order: derivative order, ≥ 1 (1 = delta, 2 = delta-delta).
///   - method: the estimator (librosa's or Kaldi's).
/// - Throws: `SpectralError.invalidParameter` for `order < 1`, a bad width or window, or (Savitzky–Golay) fewer
///   frames than `width`, as librosa refuses.
public func deltas(
    _ features: [Float], dims: Int, order: Int = 1, method: DeltaMethod = .savitzkyGolay(width: 9)
) throws(SpectralError) -> [Float] {
    try SpectralError.require(dims >= 1, "dims", dims, "must be ≥ 1")
    try SpectralError.require(features.count % dims == 0, "features.count", features.count, "not a multiple of \(dims)")
    try SpectralError.require(order >= 1, "order", order, "must be ≥ 1")
    let frames = features.count / dims
    var output = [Float](repeating: 0, count: features.count)
    switch method {
    case .savitzkyGolay(let width):
        try SpectralError.require(width >= 3 && width % 2 == 1, "width", width, "must be odd and ≥ 3")
        try SpectralError.require(order < width, "order", order, "must be < width = \(width)")
        try SpectralError.require(
            frames >= width, "frames", frames, "must be ≥ width = \(width) for mode 'interp' (librosa)")
        let half = width / 2
        let kernel = savitzkyGolayDerivative(half: half, order: order)
        for t in half..<(frames - half) {
            for d in 0..<dims {
                var sum = 0.0
                for n in -half...half { sum += kernel[n + half] * Double(features[(t + n) * dims + d]) }
                output[t * dims + d] = Float(sum)
            }
        }
        // deriv = polyorder: the fitted polynomial's derivative is constant over the edge windows.
        for t in 0..<half {
            for d in 0..<dims {
                output[t * dims + d] = output[half * dims + d]
                output[(frames - 1 - t) * dims + d] = output[(frames - 1 - half) * dims + d]
            }
        }
    case .regression(let window):
        try SpectralError.require(window >= 1, "window", window, "must be ≥ 1")
        let kernel = regressionKernel(window: window, order: order)
        let half = kernel.count / 2
        for t in 0..<frames {
            for d in 0..<dims {
                var sum = 0.0
                for n in -half...half {
                    let source = min(max(t + n, 0), frames - 1)
                    sum += kernel[n + half] * Double(features[source * dims + d])
                }
                output[t * dims + d] = Float(sum)
            }
        }
    }
    return output
}

/// Savitzky–Golay weights of the `order`-th derivative at the centre of a `2·half + 1` window for a polynomial of
/// degree `order`: `order! · p(n) / Σ p²`, with `p` the monic degree-`order` polynomial orthogonal to lower ones.
func savitzkyGolayDerivative(half: Int, order: Int) -> [Double] {
    let points = (-half...half).map(Double.init)
    var basis: [[Double]] = []
    for degree in 0...order {
        var p = points.map { pow($0, Double(degree)) }
        for q in basis {
            let projection = zip(p, q).map(*).reduce(0, +) / q.map { $0 * $0 }.reduce(0, +)
            p = zip(p, q).map { $0 - projection * $1 }
        }
        basis.append(p)
    }
    let top = basis[order]
    let norm = top.map { $0 * $0 }.reduce(0, +)
    let factorial = (1...order).reduce(1.0) { $0 * Double($1) }
    return top.map { factorial * $0 / norm }
}

/// Kaldi's `DeltaFeatures` scales for `order`: the order-fold composition of `n / Σ_{j=-w}^{w} j²`.
func regressionKernel(window: Int, order: Int) -> [Double] {
    var scales = [1.0]
    let normalizer = Double((-window...window).map { $0 * $0 }.reduce(0, +))
    for _ in 0..<order {
        let previousHalf = (scales.count - 1) / 2
        var next = [Double](repeating: 0, count: scales.count + 2 * window)
        let half = previousHalf + window
        for j in -window...window {
            for k in -previousHalf...previousHalf {
                next[j + k + half] += Double(j) * scales[k + previousHalf]
            }
        }
        scales = next.map { $0 / normalizer }
    }
    return scales
}

extension Features {
    /// The `order`-th time derivative of every channel, `[channels, frames, dims]` (`librosa.feature.delta` on
    /// each channel with `.savitzkyGolay(width: 9)`, Kaldi's `add-deltas` per order with `.regression(window: 2)`).
    ///
    /// - Throws: as `deltas(_:dims:order:method:)`.
    public func deltas(order: Int = 1, method: DeltaMethod = .savitzkyGolay(width: 9)) throws(SpectralError) -> Features
    {
        var values = [Float]()
        values.reserveCapacity(self.values.count)
        for c in 0..<channels {
            values += try Spectral.deltas(Array(channel(c)), dims: dims, order: order, method: method)
        }
        return Features(unchecked: channels, frames: frames, dims: dims, values: values)
    }
}
