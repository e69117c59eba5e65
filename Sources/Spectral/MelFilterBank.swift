import COpenBLAS
import Foundation

/// How hertz map to mels.
public enum MelScale: Sendable, Equatable, Hashable {
    /// Slaney's Auditory Toolbox scale: linear below 1 kHz (`f / (200/3)`), logarithmic above
    /// (`15 + ln(f / 1000) / (ln 6.4 / 27)`). librosa's default (`htk=False`), Whisper's.
    case slaney
    /// `2595 log10(1 + f / 700)`: HTK's scale, torchaudio's default (`mel_scale="htk"`), python_speech_features'.
    case htk
    /// `1127 ln(1 + f / 700)`: Kaldi's `MelScale` (mel-computations.h); the same shape as HTK's.
    case kaldi

    /// Mels of `hz` on this scale.
    public func mel(_ hz: Double) -> Double {
        switch self {
        case .htk:
            return 2595 * log10(1 + hz / 700)
        case .kaldi:
            return 1127 * log(1 + hz / 700)
        case .slaney:
            let linearStep = 200.0 / 3
            let minLogHz = 1000.0
            let minLogMel = minLogHz / linearStep
            let logStep = log(6.4) / 27
            return hz >= minLogHz ? minLogMel + log(hz / minLogHz) / logStep : hz / linearStep
        }
    }

    /// Hertz of `mel` on this scale (the inverse of `mel(_:)`).
    public func hz(_ mel: Double) -> Double {
        switch self {
        case .htk:
            return 700 * (pow(10, mel / 2595) - 1)
        case .kaldi:
            return 700 * (exp(mel / 1127) - 1)
        case .slaney:
            let linearStep = 200.0 / 3
            let minLogHz = 1000.0
            let minLogMel = minLogHz / linearStep
            let logStep = log(6.4) / 27
            return mel >= minLogMel ? minLogHz * exp(logStep * (mel - minLogMel)) : linearStep * mel
        }
    }
}

/// How each mel filter is scaled.
public enum MelNorm: Sendable, Equatable, Hashable {
    /// Peak 1 for every triangle (torchaudio's and Kaldi's default, librosa `norm=None`).
    case none
    /// Unit area: each triangle is scaled by `2 / (f_{i+2} − f_i)` (librosa's default `norm='slaney'`, Whisper).
    case slaney
}

/// Where the mel triangles are linear.
public enum MelTriangles: Sendable, Equatable, Hashable {
    /// Triangles linear in hertz between mel-spaced corner frequencies (`librosa.filters.mel`,
    /// `torchaudio.functional.melscale_fbanks`); the Nyquist bin takes part.
    case hertz
    /// Triangles linear in mels, with the weight at bin k from `mel(k · sr / nFFT)` strictly inside the
    /// triangle, and the Nyquist bin left out (Kaldi's `MelBanks`, kaldi-native-fbank, torchaudio.compliance.kaldi).
    case kaldi
    /// python_speech_features' `get_filterbanks`: corners rounded down to FFT bins,
    /// `floor((nFFT + 1) · hz / sr)`, triangles linear in bins.
    case psf
}

/// The frequency assigned to FFT bin `k` when building `.hertz` triangles.
public enum MelBinFrequencies: Sendable, Equatable, Hashable {
    /// `k · sr / nFFT` (`librosa.fft_frequencies`, `numpy.fft.rfftfreq`).
    case exact
    /// `linspace(0, floor(sr / 2), nFFT / 2 + 1)` as `torchaudio.functional.melscale_fbanks` builds it; equal to
    /// `.exact` for an even `nFFT` and an even rate.
    case torchaudio
}

/// The parameters of a mel filter bank. Defaults are librosa's (`librosa.filters.mel`).
public struct MelOptions: Sendable, Equatable, Hashable {
    /// Number of mel bands (librosa 128, torchaudio 128, Kaldi 23, Whisper 80).
    public var bands: Int = 128
    /// Lowest frequency (Hz): librosa 0, Kaldi 20.
    public var minHz: Double = 0
    /// Highest frequency (Hz); `nil` means Nyquist. With `.kaldi` triangles a value ≤ 0 is an offset from Nyquist,
    /// as Kaldi's `--high-freq=-400` means `sr/2 − 400`.
    public var maxHz: Double? = nil
    /// The hertz-to-mel mapping (librosa Slaney, torchaudio HTK).
    public var scale: MelScale = .slaney
    /// Filter normalisation (librosa Slaney, torchaudio none).
    public var norm: MelNorm = .slaney
    /// Where the triangles are linear (hertz for librosa/torchaudio, mels for Kaldi).
    public var triangles: MelTriangles = .hertz
    /// The frequency grid of the FFT bins (only `.torchaudio` differs, for odd `nFFT`).
    public var binFrequencies: MelBinFrequencies = .exact
    /// Accept bands with no non-zero weight (torchaudio only warns; librosa warns). Default `false`: an empty
    /// band throws `SpectralError.emptyMelFilter` naming it.
    public var allowEmptyFilters: Bool = false

    /// librosa's defaults (128 Slaney bands, Slaney norm, 0 Hz … Nyquist).
    public init() {}

    /// Options with every field given; unspecified fields take librosa's defaults.
    public init(
        bands: Int, minHz: Double = 0, maxHz: Double? = nil, scale: MelScale = .slaney, norm: MelNorm = .slaney,
        triangles: MelTriangles = .hertz, binFrequencies: MelBinFrequencies = .exact, allowEmptyFilters: Bool = false
    ) {
        self.bands = bands
        self.minHz = minHz
        self.maxHz = maxHz
        self.scale = scale
        self.norm = norm
        self.triangles = triangles
        self.binFrequencies = binFrequencies
        self.allowEmptyFilters = allowEmptyFilters
    }
}

/// A mel filter bank: non-negative weights `[bands, bins]` that project a power (or magnitude) spectrum
/// `[frames, bins]` onto mel bands `[frames, bands]`.
///
/// Matches `librosa.filters.mel(sr=, n_fft=, n_mels=, fmin=, fmax=, htk=, norm=)` (as `[n_mels, 1 + n_fft/2]`),
/// `torchaudio.functional.melscale_fbanks(...)` (transposed), Kaldi's `MelBanks` and python_speech_features'
/// `get_filterbanks`, depending on `MelOptions`.
public struct MelFilterBank: Sendable, Equatable {
    /// Number of mel bands.
    public let bands: Int
    /// Number of FFT bins, `nFFT / 2 + 1`.
    public let bins: Int
    /// Weights `[bands, bins]`, row-major.
    public let weights: [Float]
    /// The bank cut into groups of consecutive bands with the bin span where any of them is non-zero, so that
    /// `apply` multiplies only those spans (a mel bank is > 90 % zeros).
    let groups: [BandGroup]

    /// Bands `firstBand ..< firstBand + bandCount`, non-zero only on bins `firstBin ..< firstBin + binCount`,
    /// with their weights packed `[bandCount, binCount]`.
    struct BandGroup: Sendable, Equatable {
        let firstBand: Int
        let bandCount: Int
        let firstBin: Int
        let binCount: Int
        let packed: [Float]
    }

    /// Bands per group: small enough to skip most zeros, large enough for an efficient `sgemm` kernel.
    static let groupSize = 8
    /// Below this many frames the projection uses plain loops instead of `sgemm`.
    static let sgemmMinimumFrames = 4

    static func makeGroups(weights: [Float], bands: Int, bins: Int) -> [BandGroup] {
        stride(from: 0, to: bands, by: groupSize).map { first in
            let count = min(groupSize, bands - first)
            var low = bins
            var high = 0
            for b in first..<(first + count) {
                for k in 0..<bins where weights[b * bins + k] != 0 {
                    low = min(low, k)
                    high = max(high, k + 1)
                }
            }
            if high <= low {
                return BandGroup(firstBand: first, bandCount: count, firstBin: 0, binCount: 0, packed: [])
            }
            var packed = [Float](repeating: 0, count: count * (high - low))
            for b in 0..<count {
                for k in low..<high { packed[b * (high - low) + k - low] = weights[(first + b) * bins + k] }
            }
            return BandGroup(firstBand: first, bandCount: count, firstBin: low, binCount: high - low, packed: packed)
        }
    }

    /// Builds the filter bank for an `nFFT`-point FFT at `sampleRate`.
    ///
    /// ```
    /// hertz:  f_i = hz(linspace(mel(fmin), mel(fmax), bands + 2)[i]);
    ///         w[b, k] = max(0, min((f_k − f_b)/(f_{b+1} − f_b), (f_{b+2} − f_k)/(f_{b+2} − f_{b+1})))
    /// kaldi:  m_i = mel(fmin) + i Δ, Δ = (mel(fmax) − mel(fmin)) / (bands + 1), m = mel(k sr / nFFT), k < nFFT/2
    ///         w[b, k] = (m − m_b)/(m_{b+1} − m_b) if m_b < m ≤ m_{b+1};  (m_{b+2} − m)/(m_{b+2} − m_{b+1}) if … < m_{b+2}
    /// slaney norm:  w[b, :] *= 2 / (f_{b+2} − f_b)
    /// ```
    ///
    /// - Throws: `SpectralError.invalidParameter` for `bands < 1`, `nFFT < 1`, a non-positive rate, a negative
    ///   `minHz`, `maxHz` above Nyquist or not above `minHz`; `.emptyMelFilter` naming the first empty band unless
    ///   `allowEmptyFilters`.
    public init(options: MelOptions, nFFT: Int, sampleRate: Double) throws(SpectralError) {
        try SpectralError.require(options.bands >= 1, "melBands", options.bands, "must be ≥ 1")
        try SpectralError.require(nFFT >= 1, "nFFT", nFFT, "must be ≥ 1")
        try SpectralError.require(sampleRate > 0 && sampleRate.isFinite, "sampleRate", sampleRate, "must be > 0")
        let nyquist = sampleRate / 2
        var maxHz = options.maxHz ?? nyquist
        if options.triangles == .kaldi && maxHz <= 0 { maxHz += nyquist }
        try SpectralError.require(
            options.minHz >= 0 && options.minHz < nyquist, "fmin", options.minHz, "must be in [0, Nyquist = \(nyquist))"
        )
        try SpectralError.require(maxHz <= nyquist, "fmax", maxHz, "must be ≤ Nyquist = \(nyquist) Hz")
        try SpectralError.require(maxHz > options.minHz, "fmax", maxHz, "must be > fmin = \(options.minHz) Hz")
        let bins = nFFT / 2 + 1
        let bands = options.bands
        var weights = [Float](repeating: 0, count: bands * bins)
        var corners: [Double]  // the bands + 2 corner frequencies (Hz), for the empty-filter message
        switch options.triangles {
        case .hertz:
            corners = Self.hertzTriangles(&weights, options: options, maxHz: maxHz, nFFT: nFFT, sampleRate: sampleRate)
        case .kaldi:
            corners = Self.kaldiTriangles(&weights, options: options, maxHz: maxHz, nFFT: nFFT, sampleRate: sampleRate)
        case .psf:
            corners = Self.psfTriangles(&weights, options: options, maxHz: maxHz, nFFT: nFFT, sampleRate: sampleRate)
        }
        if options.norm == .slaney {
            for b in 0..<bands {
                let scale = 2 / (corners[b + 2] - corners[b])
                for k in 0..<bins { weights[b * bins + k] = Float(Double(weights[b * bins + k]) * scale) }
            }
        }
        if !options.allowEmptyFilters {
            for b in 0..<bands where !weights[(b * bins)..<((b + 1) * bins)].contains(where: { $0 > 0 }) {
                throw SpectralError.emptyMelFilter(
                    band: b, lowHz: corners[b], highHz: corners[b + 2], bands: bands, nFFT: nFFT)
            }
        }
        self.bands = bands
        self.bins = bins
        self.weights = weights
        self.groups = Self.makeGroups(weights: weights, bands: bands, bins: bins)
    }

    private static func hertzTriangles(
        _ weights: inout [Float], options: MelOptions, maxHz: Double, nFFT: Int, sampleRate: Double
    ) -> [Double] {
        let bins = nFFT / 2 + 1
        let bands = options.bands
        let lowMel = options.scale.mel(options.minHz)
        let highMel = options.scale.mel(maxHz)
        let corners = linspace(lowMel, highMel, count: bands + 2).map(options.scale.hz)
        let frequencies: [Double] = (0..<bins).map { k in
            switch options.binFrequencies {
            case .exact:
                return Double(k) * sampleRate / Double(nFFT)
            case .torchaudio:
                return bins == 1 ? 0 : (sampleRate / 2).rounded(.down) * Double(k) / Double(bins - 1)
            }
        }
        for b in 0..<bands {
            let lowerWidth = corners[b + 1] - corners[b]
            let upperWidth = corners[b + 2] - corners[b + 1]
            for k in 0..<bins {
                let lower = (frequencies[k] - corners[b]) / lowerWidth
                let upper = (corners[b + 2] - frequencies[k]) / upperWidth
                weights[b * bins + k] = Float(max(0, min(lower, upper)))
            }
        }
        return corners
    }

    private static func kaldiTriangles(
        _ weights: inout [Float], options: MelOptions, maxHz: Double, nFFT: Int, sampleRate: Double
    ) -> [Double] {
        let bins = nFFT / 2 + 1
        let bands = options.bands
        let lowMel = options.scale.mel(options.minHz)
        let highMel = options.scale.mel(maxHz)
        let delta = (highMel - lowMel) / Double(bands + 1)
        let binWidth = sampleRate / Double(nFFT)
        for b in 0..<bands {
            let left = lowMel + Double(b) * delta
            let center = lowMel + Double(b + 1) * delta
            let right = lowMel + Double(b + 2) * delta
            for k in 0..<(nFFT / 2) {
                let mel = options.scale.mel(binWidth * Double(k))
                guard mel > left && mel < right else { continue }
                let weight = mel <= center ? (mel - left) / (center - left) : (right - mel) / (right - center)
                weights[b * bins + k] = Float(weight)
            }
        }
        return (0..<(bands + 2)).map { options.scale.hz(lowMel + Double($0) * delta) }
    }

    private static func psfTriangles(
        _ weights: inout [Float], options: MelOptions, maxHz: Double, nFFT: Int, sampleRate: Double
    ) -> [Double] {
        let bins = nFFT / 2 + 1
        let bands = options.bands
        let lowMel = options.scale.mel(options.minHz)
        let highMel = options.scale.mel(maxHz)
        let corners = linspace(lowMel, highMel, count: bands + 2).map(options.scale.hz)
        let cornerBins = corners.map { Int((Double(nFFT + 1) * $0 / sampleRate).rounded(.down)) }
        for b in 0..<bands {
            let (low, mid, high) = (cornerBins[b], cornerBins[b + 1], cornerBins[b + 2])
            for k in stride(from: max(low, 0), to: min(mid, bins), by: 1) {
                weights[b * bins + k] = Float(Double(k - low) / Double(mid - low))
            }
            for k in stride(from: max(mid, 0), to: min(high, bins), by: 1) {
                weights[b * bins + k] = Float(Double(high - k) / Double(high - mid))
            }
        }
        return corners
    }

    /// Projects spectra onto the mel bands with `cblas_sgemm` over the block of frames, one product per group of
    /// eight bands restricted to the bins where that group is non-zero (the result equals the dense product).
    ///
    /// ```
    /// out[f, b] = Σ_k spectrum[f, k] · weights[b, k]
    /// ```
    ///
    /// - Parameters:
    ///   - spectrum: `[frames, bins]` row-major (power or magnitude).
    ///   - frames: number of rows.
    ///   - output: `[frames, bands]`, overwritten.
    func apply(_ spectrum: UnsafePointer<Float>, frames: Int, into output: UnsafeMutablePointer<Float>) {
        guard frames > 0 else { return }
        if frames < Self.sgemmMinimumFrames {
            // A stream's few frames: plain dot products over each band's span beat BLAS call and packing costs.
            for group in groups {
                for f in 0..<frames {
                    let row = spectrum + f * bins + group.firstBin
                    for b in 0..<group.bandCount {
                        var sum: Float = 0
                        let weightsBase = b * group.binCount
                        for k in 0..<group.binCount { sum += row[k] * group.packed[weightsBase + k] }
                        output[f * bands + group.firstBand + b] = sum
                    }
                }
            }
            return
        }
        for group in groups {
            guard group.binCount > 0 else {
                for f in 0..<frames {
                    (output + f * bands + group.firstBand).update(repeating: 0, count: group.bandCount)
                }
                continue
            }
            group.packed.withUnsafeBufferPointer { w in
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasTrans, Int32(frames), Int32(group.bandCount),
                    Int32(group.binCount), 1, spectrum + group.firstBin, Int32(bins), w.baseAddress,
                    Int32(group.binCount), 0, output + group.firstBand, Int32(bands))
            }
        }
    }

    /// Projects spectra `[frames, bins]` onto the mel bands: `[frames, bands]`
    /// (`librosa.feature.melspectrogram(S=…)` transposed).
    ///
    /// - Throws: `SpectralError.invalidParameter` when `spectrum.count` is not a multiple of `bins`.
    public func callAsFunction(_ spectrum: [Float]) throws(SpectralError) -> [Float] {
        try SpectralError.require(
            spectrum.count % bins == 0, "spectrum.count", spectrum.count, "must be a multiple of bins = \(bins)")
        let frames = spectrum.count / bins
        var output = [Float](repeating: 0, count: frames * bands)
        spectrum.withUnsafeBufferPointer { s in
            output.withUnsafeMutableBufferPointer { o in
                guard let source = s.baseAddress, let target = o.baseAddress else { return }
                apply(source, frames: frames, into: target)
            }
        }
        return output
    }
}

/// `numpy.linspace(start, stop, count)`: `start + i · step` with `step = (stop − start) / (count − 1)`, and the last
/// value exactly `stop`.
func linspace(_ start: Double, _ stop: Double, count: Int) -> [Double] {
    guard count > 1 else { return count == 1 ? [start] : [] }
    let step = (stop - start) / Double(count - 1)
    var values = (0..<count).map { start + Double($0) * step }
    values[count - 1] = stop
    return values
}
