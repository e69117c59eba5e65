import Foundation
import Windowing

/// What is removed from each segment before the window (`scipy.signal.welch(detrend=)`).
public enum Detrend: Sendable, Hashable {
    /// Nothing (`detrend=False`).
    case none
    /// The segment mean (`'constant'`, scipy's default).
    case constant
    /// The least-squares line (`'linear'`).
    case linear
}

/// The unit of a power spectrum estimate.
public enum PSDScaling: Sendable, Hashable {
    /// Power spectral density, V²/Hz: `|X|² / (fs · Σ w²)` (scipy's default `'density'`).
    case density
    /// Power spectrum, V²: `|X|² / (Σ w)²` (`'spectrum'`); a sine of amplitude A shows A²/2 at its bin.
    case spectrum
}

/// How the segment spectra are combined.
public enum PSDAverage: Sendable, Hashable {
    /// The mean (scipy's default).
    case mean
    /// The median divided by scipy's bias `1 + Σ_{k=1}^{(n−1)/2} (1/(2k+1) − 1/(2k))`, robust to bursts.
    case median
}

/// Welch's method parameters. Defaults are `scipy.signal.welch`'s.
public struct WelchOptions: Sendable, Hashable {
    /// Sample rate `fs` (Hz); scipy's default is 1.
    public var sampleRate: Double = 1
    /// Segment window (periodic, `scipy.signal.get_window(window, nperseg)`); Hann by default.
    public var window: WindowFunction = .hann
    /// Samples per segment (`nperseg`, default 256; the signal length if that is shorter, as scipy warns).
    public var segmentLength: Int = 256
    /// Samples shared by consecutive segments (`noverlap`); `nil` = `segmentLength / 2`.
    public var overlap: Int? = nil
    /// FFT size ≥ `segmentLength` (`nfft`); `nil` = `segmentLength`.
    public var nFFT: Int? = nil
    /// Per-segment detrending, default `.constant`.
    public var detrend: Detrend = .constant
    /// Density (V²/Hz) or spectrum (V²).
    public var scaling: PSDScaling = .density
    /// Mean or bias-corrected median over segments.
    public var average: PSDAverage = .mean

    /// scipy's defaults.
    public init() {}

    /// Options with every field given.
    public init(
        sampleRate: Double, window: WindowFunction = .hann, segmentLength: Int = 256, overlap: Int? = nil,
        nFFT: Int? = nil, detrend: Detrend = .constant, scaling: PSDScaling = .density, average: PSDAverage = .mean
    ) {
        self.sampleRate = sampleRate
        self.window = window
        self.segmentLength = segmentLength
        self.overlap = overlap
        self.nFFT = nFFT
        self.detrend = detrend
        self.scaling = scaling
        self.average = average
    }
}

/// A one-sided power spectrum estimate, `[channels, bins]`, with its frequencies.
public struct PowerSpectrum: Sendable, Equatable {
    /// Bin frequencies (Hz), `k · fs / nFFT` (`scipy.fft.rfftfreq`).
    public let frequencies: [Double]
    /// Number of channels.
    public let channels: Int
    /// Values `[channels, bins]` in V²/Hz (density) or V² (spectrum).
    public let values: [Float]
    /// Segments averaged per channel.
    public let segments: Int
}

/// Welch's power spectrum estimate of planar samples `[channels, frames]`, `scipy.signal.welch(x, fs=, window=,
/// nperseg=, noverlap=, nfft=, detrend=, return_onesided=True, scaling=, average=)`.
///
/// ```
/// P[k] = avg_m  c_k |FFT(w · detrend(x_m))[k]|² · s,   s = 1/(fs Σw²) or 1/(Σw)²,  c_k = 2 except DC (and Nyquist)
/// ```
/// Segments come from `Windowing.Framer` in `.valid` mode with hop `segmentLength − overlap`.
///
/// - Throws: `SpectralError.invalidParameter` for an empty signal, `segmentLength < 1`, `overlap` outside
///   `0..<segmentLength`, `nFFT < segmentLength`, a non-positive rate or a bad channel count.
public func welch(
    _ samples: [Float], channels: Int, options: WelchOptions = WelchOptions()
) throws(SpectralError) -> PowerSpectrum {
    try SpectralError.require(channels >= 1, "channels", channels, "must be ≥ 1")
    try SpectralError.require(
        samples.count % channels == 0, "samples.count", samples.count, "must be a multiple of \(channels)")
    let length = samples.count / channels
    try SpectralError.require(length >= 1, "samples", length, "need at least one sample per channel")
    try SpectralError.require(
        options.sampleRate > 0 && options.sampleRate.isFinite, "fs", options.sampleRate, "must be > 0")
    try SpectralError.require(options.segmentLength >= 1, "nperseg", options.segmentLength, "must be ≥ 1")
    let segmentLength = min(options.segmentLength, length)
    let overlap = options.overlap ?? segmentLength / 2
    try SpectralError.require(
        overlap >= 0 && overlap < segmentLength, "noverlap", overlap, "must be in 0..<nperseg = \(segmentLength)")
    let nFFT = options.nFFT ?? segmentLength
    try SpectralError.require(nFFT >= segmentLength, "nfft", nFFT, "must be ≥ nperseg = \(segmentLength)")
    let window = try options.window.values(length: segmentLength, periodic: true)
    let fft = try RealFFT.shared(size: nFFT)
    let bins = fft.bins
    let view: FrameView
    do {
        let frameOptions = try FrameOptions(length: segmentLength, hop: segmentLength - overlap, boundary: .valid)
        view = try Framer(frameOptions).view(of: samples, channels: channels)
    } catch {
        throw SpectralError.invalidParameter(name: "nperseg", value: "\(segmentLength)", reason: "\(error)")
    }
    let segments = view.count
    let windowSquares = window.reduce(0.0) { $0 + Double($1) * Double($1) }
    let windowSum = window.reduce(0.0) { $0 + Double($1) }
    let scale: Double
    switch options.scaling {
    case .density: scale = 1 / (options.sampleRate * windowSquares)
    case .spectrum: scale = 1 / (windowSum * windowSum)
    }
    let workspace = FFTWorkspace(size: nFFT)
    var values = [Float](repeating: 0, count: channels * bins)
    var perSegment = [Double](repeating: 0, count: segments * bins)
    for c in 0..<channels {
        for m in 0..<segments {
            let real = workspace.real
            view.copyWindow(m, channel: c, into: UnsafeMutableBufferPointer(start: real, count: segmentLength))
            removeTrend(real, count: segmentLength, detrend: options.detrend)
            for i in 0..<segmentLength { real[i] *= window[i] }
            for i in segmentLength..<nFFT { real[i] = 0 }
            fft.forward(workspace)
            let spectrum = workspace.complexFloats
            for k in 0..<bins {
                let re = Double(spectrum[2 * k])
                let im = Double(spectrum[2 * k + 1])
                let doubled = k > 0 && !(nFFT % 2 == 0 && k == bins - 1)
                perSegment[m * bins + k] = (re * re + im * im) * scale * (doubled ? 2 : 1)
            }
        }
        for k in 0..<bins {
            let column = (0..<segments).map { perSegment[$0 * bins + k] }
            switch options.average {
            case .mean:
                values[c * bins + k] = Float(column.reduce(0, +) / Double(segments))
            case .median:
                values[c * bins + k] = Float(median(column) / medianBias(segments))
            }
        }
    }
    let frequencies = (0..<bins).map { Double($0) * options.sampleRate / Double(nFFT) }
    return PowerSpectrum(frequencies: frequencies, channels: channels, values: values, segments: segments)
}

/// `scipy.signal.periodogram(x, fs=, window='boxcar', nfft=, detrend='constant', scaling=)`: one segment covering
/// the whole signal, `[channels, bins]`.
///
/// - Throws: as `welch`.
public func periodogram(
    _ samples: [Float], channels: Int, sampleRate: Double = 1, window: WindowFunction = .rectangular,
    nFFT: Int? = nil, detrend: Detrend = .constant, scaling: PSDScaling = .density
) throws(SpectralError) -> PowerSpectrum {
    let length = channels > 0 ? samples.count / channels : 0
    let options = WelchOptions(
        sampleRate: sampleRate, window: window, segmentLength: max(length, 1), overlap: 0, nFFT: nFFT,
        detrend: detrend, scaling: scaling)
    return try welch(samples, channels: channels, options: options)
}

/// Removes the mean or the least-squares line from `x[0..<count]` in place.
func removeTrend(_ x: UnsafeMutablePointer<Float>, count: Int, detrend: Detrend) {
    guard count > 0 else { return }
    switch detrend {
    case .none:
        return
    case .constant:
        var sum = 0.0
        for i in 0..<count { sum += Double(x[i]) }
        let mean = Float(sum / Double(count))
        for i in 0..<count { x[i] -= mean }
    case .linear:
        let n = Double(count)
        let tMean = (n - 1) / 2
        var xMean = 0.0
        for i in 0..<count { xMean += Double(x[i]) }
        xMean /= n
        var covariance = 0.0
        var variance = 0.0
        for i in 0..<count {
            let t = Double(i) - tMean
            covariance += t * (Double(x[i]) - xMean)
            variance += t * t
        }
        let slope = variance > 0 ? covariance / variance : 0
        for i in 0..<count { x[i] = Float(Double(x[i]) - xMean - slope * (Double(i) - tMean)) }
    }
}

/// The median (the mean of the two middle values for an even count), as `numpy.median`.
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    let n = sorted.count
    guard n > 0 else { return .nan }
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
}

/// scipy's `_median_bias(n)`: the bias of the median of n χ²₂ values relative to their mean.
func medianBias(_ n: Int) -> Double {
    var bias = 1.0
    var k = 1
    while k <= (n - 1) / 2 {
        bias += 1 / Double(2 * k + 1) - 1 / Double(2 * k)
        k += 1
    }
    return bias
}
