import AudioIO
import Foundation
import Windowing

/// Short-time Fourier transform parameters. Defaults are `librosa.stft`'s (librosa 1.0).
public struct STFTOptions: Sendable, Hashable {
    /// FFT size (samples per frame); bins = `nFFT / 2 + 1`. librosa 2048.
    public var nFFT: Int = 2048
    /// Samples between frames; `nil` = `winLength / 4` (librosa; torch uses `n_fft // 4` likewise).
    public var hopLength: Int? = nil
    /// Window length, ≤ `nFFT`, centred in the frame with zeros around it; `nil` = `nFFT`.
    public var winLength: Int? = nil
    /// The window (periodic, as `scipy.signal.get_window(fftbins=True)` and `torch.hann_window`).
    public var window: WindowFunction = .hann
    /// Centre frame m on sample `m · hop` by padding `nFFT / 2` samples each side (librosa and torch `center=True`).
    public var center: Bool = true
    /// Padding when `center`: `.zeros` (librosa ≥ 0.10 `pad_mode="constant"`), `.reflect` (torch's default).
    public var padMode: PadMode = .zeros

    /// librosa's defaults.
    public init() {}

    /// Options with every field given.
    public init(
        nFFT: Int, hopLength: Int? = nil, winLength: Int? = nil, window: WindowFunction = .hann, center: Bool = true,
        padMode: PadMode = .zeros
    ) {
        self.nFFT = nFFT
        self.hopLength = hopLength
        self.winLength = winLength
        self.window = window
        self.center = center
        self.padMode = padMode
    }

    /// `torch.stft(n_fft, hop_length, win_length, window=torch.hann_window(win_length), center=True,
    /// pad_mode="reflect")`'s conventions for the given sizes.
    public static func torch(nFFT: Int, hopLength: Int? = nil, winLength: Int? = nil) -> STFTOptions {
        STFTOptions(nFFT: nFFT, hopLength: hopLength, winLength: winLength, center: true, padMode: .reflect)
    }

    /// The effective window length.
    public var effectiveWinLength: Int { winLength ?? nFFT }
    /// The effective hop.
    public var effectiveHop: Int { hopLength ?? max(1, effectiveWinLength / 4) }

    func validate() throws(SpectralError) {
        try SpectralError.require(nFFT >= 1, "nFFT", nFFT, "must be ≥ 1")
        try SpectralError.require(
            effectiveWinLength >= 1 && effectiveWinLength <= nFFT, "winLength", effectiveWinLength,
            "must be in 1…nFFT = \(nFFT)")
        try SpectralError.require(effectiveHop >= 1, "hopLength", effectiveHop, "must be ≥ 1")
    }

    func frameOptions() throws(SpectralError) -> FrameOptions {
        do {
            return try FrameOptions(length: nFFT, hop: effectiveHop, boundary: center ? .center(padMode) : .valid)
        } catch {
            throw SpectralError.invalidParameter(name: "hopLength", value: "\(effectiveHop)", reason: "\(error)")
        }
    }
}

/// A complex spectrogram `[channels, frames, bins]`, stored interleaved `[channels, frames, bins, 2]`
/// (real, imaginary) — `torch.view_as_real(torch.stft(...)).transpose(-3, -2)`, or librosa's `[…, bins, frames]`
/// transposed.
public struct ComplexSpectrogram: Sendable, Equatable {
    /// Number of channels.
    public let channels: Int
    /// Frames per channel.
    public let frames: Int
    /// Frequency bins, `nFFT / 2 + 1`.
    public let bins: Int
    /// Interleaved values `[channels, frames, bins, 2]`.
    public var values: [Float]

    /// Creates a spectrogram from interleaved values (`values.count == 2 · channels · frames · bins`).
    ///
    /// - Throws: `SpectralError.invalidParameter` when the count does not match the shape.
    public init(channels: Int, frames: Int, bins: Int, values: [Float]) throws(SpectralError) {
        try SpectralError.require(
            channels >= 0 && frames >= 0 && bins >= 1 && values.count == 2 * channels * frames * bins,
            "values.count", values.count, "expected 2 × \(channels) × \(frames) × \(bins)")
        self.channels = channels
        self.frames = frames
        self.bins = bins
        self.values = values
    }

    /// `|X|²`, `[channels, frames, bins]` (librosa `np.abs(S)**2`).
    public func power() -> [Float] {
        (0..<(values.count / 2)).map { values[2 * $0] * values[2 * $0] + values[2 * $0 + 1] * values[2 * $0 + 1] }
    }

    /// `|X|`, `[channels, frames, bins]` (librosa `np.abs(S)`).
    public func magnitude() -> [Float] {
        power().map { $0.squareRoot() }
    }
}

/// The short-time Fourier transform and its inverse, as `librosa.stft` / `librosa.istft` and `torch.stft` /
/// `torch.istft`.
///
/// ```
/// X[c, m, k] = Σ_{n<nFFT} w[n] x_c[m·hop − nFFT/2 + n] e^{−2πi kn/nFFT}      (center; x padded per padMode)
/// ```
///
/// Frames come from `Windowing.Framer` (`.center(padMode)` or `.valid`); the FFT is the cached FFTW plan.
public struct STFT: Sendable {
    /// The transform's parameters.
    public let options: STFTOptions
    let window: [Float]
    let fft: RealFFT

    /// Validates `options` and prepares the window and the FFT plan.
    ///
    /// - Throws: `SpectralError.invalidParameter` naming `nFFT`, `winLength` (> `nFFT`) or `hopLength` (0).
    public init(options: STFTOptions = STFTOptions()) throws(SpectralError) {
        try options.validate()
        self.options = options
        window = try options.window.padded(windowLength: options.effectiveWinLength, nFFT: options.nFFT)
        fft = try RealFFT.shared(size: options.nFFT)
    }

    /// The STFT of `signal`, `[channels, frames, bins]`.
    public func callAsFunction(_ signal: Signal) throws(SpectralError) -> ComplexSpectrogram {
        try callAsFunction(samples: signal.samples, channels: signal.channels)
    }

    /// The STFT of planar samples `[channels, frames]`.
    ///
    /// - Throws: `SpectralError.invalidParameter` when `samples.count` is not a multiple of `channels`,
    ///   `.invalidInput` naming the first NaN or infinity (as librosa refuses non-finite audio).
    public func callAsFunction(samples: [Float], channels: Int) throws(SpectralError) -> ComplexSpectrogram {
        try requireFinite(samples, channels: channels)
        let view: FrameView
        do {
            view = try Framer(try options.frameOptions()).view(of: samples, channels: channels)
        } catch let error as SpectralError {
            throw error
        } catch {
            throw SpectralError.invalidParameter(name: "samples", value: "\(samples.count)", reason: "\(error)")
        }
        let frames = view.count
        let bins = fft.bins
        let nFFT = options.nFFT
        var values = [Float](repeating: 0, count: 2 * channels * frames * bins)
        let workspace = FFTWorkspace(size: nFFT)
        values.withUnsafeMutableBufferPointer { out in
            guard let base = out.baseAddress else { return }
            for c in 0..<channels {
                for m in 0..<frames {
                    view.copyWindow(m, channel: c, into: UnsafeMutableBufferPointer(start: workspace.real, count: nFFT))
                    for i in 0..<nFFT { workspace.real[i] *= window[i] }
                    fft.forward(workspace)
                    (base + 2 * (c * frames + m) * bins).update(from: workspace.complexFloats, count: 2 * bins)
                }
            }
        }
        return try ComplexSpectrogram(channels: channels, frames: frames, bins: bins, values: values)
    }

    /// The inverse STFT by weighted overlap-add, `librosa.istft(S, hop_length=, win_length=, n_fft=, window=,
    /// center=, length=)`: planar `[channels, samples]`.
    ///
    /// ```
    /// y[t] = Σ_m w[t − m·hop] · irfft(X[m])[t − m·hop] / Σ_m w²[t − m·hop]    (where the sum exceeds float tiny)
    /// ```
    /// then `nFFT / 2` samples are trimmed from each side when `center`. With `length`, the output is cut or
    /// zero-padded to exactly `length` samples (and only the frames needed are used), so
    /// `istft(stft(x), length: x.count) ≈ x` wherever the window overlap is non-zero.
    ///
    /// - Throws: `SpectralError.invalidParameter` when `spectrogram.bins` is not `nFFT / 2 + 1` or `length < 0`.
    public func inverse(_ spectrogram: ComplexSpectrogram, length: Int? = nil) throws(SpectralError) -> [Float] {
        let nFFT = options.nFFT
        let hop = options.effectiveHop
        try SpectralError.require(
            spectrogram.bins == fft.bins, "bins", spectrogram.bins, "must be nFFT / 2 + 1 = \(fft.bins)")
        if let length { try SpectralError.require(length >= 0, "length", length, "must be ≥ 0") }
        var frames = spectrogram.frames
        let half = options.center ? nFFT / 2 : 0
        if let length {
            let padded = length + 2 * half
            frames = min(frames, (padded + hop - 1) / hop)
        }
        let expected = frames > 0 ? nFFT + hop * (frames - 1) : 0
        let outputLength = length ?? max(0, expected - 2 * half)
        var output = [Float](repeating: 0, count: spectrogram.channels * outputLength)
        // Window sum of squares (librosa.filters.window_sumsquare).
        var windowSum = [Float](repeating: 0, count: expected)
        for m in 0..<frames {
            for i in 0..<nFFT { windowSum[m * hop + i] += window[i] * window[i] }
        }
        let tiny = Float.leastNormalMagnitude
        let workspace = FFTWorkspace(size: nFFT)
        let bins = fft.bins
        var y = [Float](repeating: 0, count: expected)
        for c in 0..<spectrogram.channels {
            for i in 0..<expected { y[i] = 0 }
            for m in 0..<frames {
                let start = 2 * (c * spectrogram.frames + m) * bins
                for i in 0..<(2 * bins) { workspace.complexFloats[i] = spectrogram.values[start + i] }
                // numpy's irfft ignores the imaginary parts of the DC and Nyquist bins; so does a c2r transform.
                fft.inverse(workspace)
                let scale = 1 / Float(nFFT)
                for i in 0..<nFFT { y[m * hop + i] += window[i] * workspace.real[i] * scale }
            }
            for i in 0..<expected where windowSum[i] > tiny { y[i] /= windowSum[i] }
            for i in 0..<outputLength where half + i < expected {
                output[c * outputLength + i] = y[half + i]
            }
        }
        return output
    }
}
