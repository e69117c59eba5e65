import Foundation

/// A tapering window applied to each frame before the FFT.
///
/// Values are computed in double precision and rounded once to Float, matching
/// `scipy.signal.get_window(name, n, fftbins=periodic)` (and so `librosa.filters.get_window`), and
/// `torch.hann_window(n, periodic=)` / `torch.hamming_window` to float32 rounding. A *periodic* window of length
/// `n` is the symmetric window of length `n + 1` without its last sample — the right choice for spectral analysis
/// (`fftbins=True`, librosa's and torch's default); a *symmetric* window suits filter design (and Kaldi).
public enum WindowFunction: Sendable, Equatable, Hashable {
    /// All ones (`boxcar`): python_speech_features' default and scipy's periodogram default.
    case rectangular
    /// `0.5 − 0.5 cos(2πn/M)`: librosa's, torch's and Whisper's default.
    case hann
    /// `0.54 − 0.46 cos(2πn/M)`.
    case hamming
    /// `0.42 − 0.5 cos(2πn/M) + 0.08 cos(4πn/M)`.
    case blackman
    /// Kaldi's default, `hann^0.85` (`(0.5 − 0.5 cos(2πn/M))^0.85`, feature-window.cc).
    case povey
    /// `I₀(β √(1 − (2n/M − 1)²)) / I₀(β)` (scipy `('kaiser', beta)`); β = 0 is rectangular, ≈ 8.6 is Blackman-like.
    case kaiser(beta: Double)
    /// Flat top with cosine tapers over a fraction `alpha` of the window (scipy `('tukey', alpha)`, default 0.5);
    /// `alpha = 0` is rectangular and `alpha = 1` is Hann.
    case tukey(alpha: Double)
    /// `sin(π(n + ½)/(M + 1))`, scipy's `cosine` window (also called the sine window; MDCT/Vorbis use it).
    case sine

    /// The window's `length` values.
    ///
    /// ```
    /// M = length − 1 (symmetric) or length (periodic);  n = 0 … length − 1
    /// ```
    ///
    /// - Parameters:
    ///   - length: number of samples (0 gives `[]`, 1 gives `[1]` as scipy does).
    ///   - periodic: `true` for spectral analysis (scipy `fftbins=True`, torch `periodic=True`), `false` for the
    ///     symmetric window (Kaldi, `sym=True`).
    /// - Throws: `SpectralError.invalidParameter` for a negative length, a Tukey `alpha` outside `0…1` or a
    ///   negative or non-finite Kaiser `beta`.
    public func values(length: Int, periodic: Bool = true) throws(SpectralError) -> [Float] {
        try SpectralError.require(length >= 0, "windowLength", length, "must be ≥ 0")
        switch self {
        case .kaiser(let beta):
            try SpectralError.require(beta.isFinite && beta >= 0, "kaiser beta", beta, "must be finite and ≥ 0")
        case .tukey(let alpha):
            try SpectralError.require(
                alpha.isFinite && alpha >= 0 && alpha <= 1, "tukey alpha", alpha, "must be in 0…1")
        default: break
        }
        if length <= 1 { return [Float](repeating: 1, count: length) }
        // scipy: a periodic window is the symmetric window of length + 1, truncated.
        let m = periodic ? length + 1 : length
        let denominator = Double(m - 1)
        return (0..<length).map { n in Float(symmetricValue(Double(n), m: m, denominator: denominator)) }
    }

    /// The symmetric window of length `m` evaluated at sample `n` (`denominator = m − 1`).
    private func symmetricValue(_ n: Double, m: Int, denominator: Double) -> Double {
        let phase = 2 * Double.pi * n / denominator
        switch self {
        case .rectangular:
            return 1
        case .hann:
            return 0.5 - 0.5 * cos(phase)
        case .hamming:
            return 0.54 - 0.46 * cos(phase)
        case .blackman:
            return 0.42 - 0.5 * cos(phase) + 0.08 * cos(2 * phase)
        case .povey:
            return pow(0.5 - 0.5 * cos(phase), 0.85)
        case .kaiser(let beta):
            let alpha = denominator / 2
            let ratio = (n - alpha) / alpha
            return besselI0(beta * (max(0, 1 - ratio * ratio)).squareRoot()) / besselI0(beta)
        case .tukey(let alpha):
            return tukeyValue(n, m: m, alpha: alpha)
        case .sine:
            return sin(Double.pi / Double(m) * (n + 0.5))
        }
    }

    /// scipy.signal.windows.tukey (symmetric, length `m`) at sample `n`.
    private func tukeyValue(_ n: Double, m: Int, alpha: Double) -> Double {
        if alpha <= 0 { return 1 }
        if alpha >= 1 { return WindowFunction.hann.symmetricValue(n, m: m, denominator: Double(m - 1)) }
        let denominator = Double(m - 1)
        let width = Int((alpha * denominator / 2).rounded(.down))
        let i = Int(n)
        if i <= width {
            return 0.5 * (1 + cos(Double.pi * (-1 + 2 * n / alpha / denominator)))
        }
        if i < m - width - 1 { return 1 }
        return 0.5 * (1 + cos(Double.pi * (-2 / alpha + 1 + 2 * n / alpha / denominator)))
    }

    /// The window of `windowLength` samples centred in `nFFT` samples with zeros either side, as librosa's
    /// `pad_center(get_window(window, win_length), size=n_fft)` and `torch.stft(window=…, win_length<n_fft)` do.
    ///
    /// ```
    /// left = (nFFT − windowLength) / 2   (floor);  right = nFFT − windowLength − left
    /// ```
    ///
    /// - Throws: `SpectralError.invalidParameter` when `windowLength > nFFT` or either is negative.
    public func padded(windowLength: Int, nFFT: Int, periodic: Bool = true) throws(SpectralError) -> [Float] {
        try SpectralError.require(
            windowLength <= nFFT, "winLength", windowLength, "must be ≤ nFFT = \(nFFT)")
        let window = try values(length: windowLength, periodic: periodic)
        return padCenter(window, size: nFFT)
    }
}

/// `librosa.util.pad_center`: `values` centred in `size` samples, zero-padded, left pad `(size − count) / 2`.
func padCenter(_ values: [Float], size: Int) -> [Float] {
    let left = (size - values.count) / 2
    var result = [Float](repeating: 0, count: size)
    for (i, value) in values.enumerated() { result[left + i] = value }
    return result
}

/// The modified Bessel function of the first kind, order 0 (power series; converges for every finite x).
///
/// ```
/// I₀(x) = Σ_k ((x/2)^k / k!)²
/// ```
func besselI0(_ x: Double) -> Double {
    let quarter = x * x / 4
    var term = 1.0
    var sum = 1.0
    var k = 1.0
    while term > sum * 1e-17 {
        term *= quarter / (k * k)
        sum += term
        k += 1
    }
    return sum
}
