import Foundation
import Windowing

/// What each FFT bin becomes.
public enum SpectrumKind: Sendable, Hashable {
    /// `|X|²` (librosa `power=2`, Kaldi `use_power=true`).
    case power
    /// `|X|` (librosa `power=1`, Kaldi `use_power=false`).
    case magnitude
}

/// How (mel) energies are compressed.
public enum LogCompression: Sendable, Hashable {
    /// Keep energies linear (`librosa.feature.melspectrogram`, `torchaudio.transforms.MelSpectrogram`).
    case none
    /// `ln(max(x, floor))`: Kaldi (`floor = FLT_EPSILON`), python_speech_features (`floor = DBL_EPSILON`, which it
    /// substitutes for exact zeros).
    case natural(floor: Float)
    /// `librosa.power_to_db` with the given reference, floor and `top_db` (global over the whole output offline;
    /// over everything seen so far in a stream).
    case decibels(DecibelOptions)
    /// Whisper's `log_mel_spectrogram`: `y = log10(max(x, 1e-10)); y = max(y, max(y) − 8); (y + 4) / 4`, with the
    /// maximum global offline and running in a stream.
    case whisper
}

/// Where a per-frame log energy comes from.
public enum EnergySource: Sendable, Hashable {
    /// Kaldi `raw_energy=true`: `Σ x²` after dither and DC removal, before pre-emphasis and the window.
    case raw
    /// Kaldi `raw_energy=false`: `Σ x²` of the windowed frame.
    case windowed
    /// python_speech_features: the sum of the (scaled) power spectrum.
    case spectrum
}

/// Where the log energy goes in the output.
public enum EnergyPlacement: Sendable, Hashable {
    /// Not computed.
    case none
    /// Prepended as column 0 (Kaldi fbank `use_energy=true`, `htk_compat=false`).
    case prepend
    /// Replaces C0 of the cepstrum (Kaldi MFCC `use_energy=true`, python_speech_features `appendEnergy=True`).
    case replaceC0
}

/// The cepstral stage of an MFCC: orthonormal DCT-II of the log-mel energies, first `count`, then a lifter.
public struct CepstrumOptions: Sendable, Hashable {
    /// Coefficients kept (librosa 20, Kaldi and psf 13).
    public var count: Int
    /// Liftering (librosa none, Kaldi/psf `1 + 11 sin(πn/22)`).
    public var lifter: Lifter

    /// Creates cepstrum options.
    public init(count: Int, lifter: Lifter = .none) {
        self.count = count
        self.lifter = lifter
    }
}

/// Everything that defines a spectral feature, from framing to cepstrum. Presets are static values equal to the
/// named library's defaults (`.librosa`, `.torchaudio`, `.kaldi`, `.kaldiStreaming`, `.whisper`, `.psf`).
///
/// ```
/// frame (length frameLength, hop, boundary) → [× inputScale] → [conditioning] → × window → zero-pad to nFFT
///   → |FFT|² or |FFT| (× spectrumScale) → [mel] → log → [DCT, lifter] → [energy]
/// ```
///
/// Output layout `[channels, frames, dims]` with `dims` = mel bands, or FFT bins without mel, or cepstral
/// coefficients (+ 1 with `.prepend` energy).
public struct FeatureOptions: Sendable, Hashable {
    /// Input sample rate (Hz).
    public var sampleRate: Double
    /// Samples per analysis frame: `n_fft` for librosa/torch (the window is centred in it), the window size for
    /// Kaldi/psf (zero-padded to `nFFT` at the end).
    public var frameLength: Int
    /// Samples between frame starts (librosa `hop_length`, Kaldi frame shift).
    public var hopLength: Int
    /// FFT size, ≥ `frameLength` (Kaldi rounds the window size up to a power of two); bins = `nFFT / 2 + 1`.
    /// It is a separate field: after changing `frameLength` of a preset, set `nFFT` too.
    public var nFFT: Int
    /// Frame placement: `.center(.zeros)` librosa, `.center(.reflect)` torch/Whisper, `.valid` Kaldi
    /// `snip_edges=true`, `.kaldiMirror` Kaldi `snip_edges=false`, `.padEndToCover()` psf.
    public var boundary: BoundaryMode
    /// The analysis window.
    public var window: WindowFunction
    /// Periodic (librosa, torch) or symmetric (Kaldi) window.
    public var periodicWindow: Bool
    /// Window length (`win_length`), centred in the frame with zeros around it; `nil` = `frameLength`.
    public var windowLength: Int?
    /// Factor applied to the input first: 32768 feeds Kaldi the int16 scale it expects.
    public var inputScale: Float
    /// Whole-signal pre-emphasis `y[n] = x[n] − p x[n−1]` before framing (python_speech_features; 0 = off).
    public var signalPreemphasis: Float
    /// Kaldi per-frame dither, DC removal and pre-emphasis (`nil` = none).
    public var conditioning: FrameConditioning?
    /// Power or magnitude.
    public var spectrum: SpectrumKind
    /// Factor on every spectrum value (python_speech_features divides the power by `nFFT`).
    public var spectrumScale: Float
    /// Mel projection (`nil` = linear-frequency spectrogram).
    public var mel: MelOptions?
    /// Compression of the (mel) energies.
    public var log: LogCompression
    /// DCT and lifter for MFCCs (`nil` = none).
    public var cepstrum: CepstrumOptions?
    /// Whether and where the per-frame log energy is written.
    public var energy: EnergyPlacement
    /// Where the energy is measured.
    public var energySource: EnergySource
    /// Floor of the energy before the log (Kaldi FLT_EPSILON, psf DBL_EPSILON).
    public var energyEpsilon: Float
    /// Kaldi `energy_floor`: when > 0 the log energy is at least `ln(energyFloor)`.
    public var energyFloor: Float
    /// Drop the last frame (Whisper's `stft[..., :-1]`).
    public var dropLastFrame: Bool

    /// Creates options; every field defaults to librosa's `melspectrogram` + `power_to_db` at 22050 Hz.
    public init(
        sampleRate: Double = 22050, frameLength: Int = 2048, hopLength: Int = 512, nFFT: Int? = nil,
        boundary: BoundaryMode = .center(.zeros), window: WindowFunction = .hann, periodicWindow: Bool = true,
        windowLength: Int? = nil, inputScale: Float = 1, signalPreemphasis: Float = 0,
        conditioning: FrameConditioning? = nil, spectrum: SpectrumKind = .power, spectrumScale: Float = 1,
        mel: MelOptions? = MelOptions(), log: LogCompression = .decibels(DecibelOptions()),
        cepstrum: CepstrumOptions? = nil, energy: EnergyPlacement = .none, energySource: EnergySource = .raw,
        energyEpsilon: Float = .ulpOfOne, energyFloor: Float = 0, dropLastFrame: Bool = false
    ) {
        self.sampleRate = sampleRate
        self.frameLength = frameLength
        self.hopLength = hopLength
        self.nFFT = nFFT ?? frameLength
        self.boundary = boundary
        self.window = window
        self.periodicWindow = periodicWindow
        self.windowLength = windowLength
        self.inputScale = inputScale
        self.signalPreemphasis = signalPreemphasis
        self.conditioning = conditioning
        self.spectrum = spectrum
        self.spectrumScale = spectrumScale
        self.mel = mel
        self.log = log
        self.cepstrum = cepstrum
        self.energy = energy
        self.energySource = energySource
        self.energyEpsilon = energyEpsilon
        self.energyFloor = energyFloor
        self.dropLastFrame = dropLastFrame
    }

    /// Values per output frame.
    public var dims: Int {
        let base = cepstrum?.count ?? mel?.bands ?? (nFFT / 2 + 1)
        return energy == .prepend ? base + 1 : base
    }

    /// The framing these options imply.
    ///
    /// - Throws: `SpectralError.invalidParameter` for `frameLength < 1` or `hopLength < 1`.
    public func frameOptions() throws(SpectralError) -> FrameOptions {
        try SpectralError.require(frameLength >= 1, "frameLength", frameLength, "must be ≥ 1")
        try SpectralError.require(hopLength >= 1, "hopLength", hopLength, "must be ≥ 1")
        do {
            return try FrameOptions(length: frameLength, hop: hopLength, boundary: boundary)
        } catch {
            throw SpectralError.invalidParameter(
                name: "frame", value: "\(frameLength)/\(hopLength)", reason: "\(error)")
        }
    }
}

// MARK: - Presets

extension FeatureOptions {
    /// `librosa.feature.melspectrogram(y, sr=22050)` then `librosa.power_to_db` (librosa 1.0 defaults): n_fft 2048,
    /// hop 512, periodic Hann, `center=True, pad_mode="constant"`, power 2, 128 Slaney mels with Slaney norm,
    /// `ref=1.0, amin=1e-10, top_db=80`.
    public static let librosa = FeatureOptions()

    /// `librosa.feature.mfcc(y, sr=22050)`: the `librosa` log-mel, then DCT-II ortho, 20 coefficients, no lifter.
    public static let librosaMFCC: FeatureOptions = {
        var options = FeatureOptions.librosa
        options.cepstrum = CepstrumOptions(count: 20)
        return options
    }()

    /// `torchaudio.transforms.MelSpectrogram()` (torchaudio 2.11 defaults): 16 kHz, n_fft 400, hop 200, periodic
    /// Hann, `center=True, pad_mode="reflect"`, power 2, 128 HTK mels without norm (some of which are empty, as
    /// torchaudio warns), no log.
    public static let torchaudio = FeatureOptions(
        sampleRate: 16000, frameLength: 400, hopLength: 200, boundary: .center(.reflect),
        mel: MelOptions(
            bands: 128, scale: .htk, norm: .none, binFrequencies: .torchaudio, allowEmptyFilters: true),
        log: .none)

    /// kaldi-native-fbank `FbankOptions()` / Kaldi `compute-fbank-feats` with dither 0: 25 ms frames every 10 ms
    /// at 16 kHz, `snip_edges=true`, int16 scale, DC removal, pre-emphasis 0.97, Povey window, FFT 512, power,
    /// 23 mel bins (Kaldi triangles, 20 Hz … Nyquist), `ln(max(x, FLT_EPSILON))`, no energy.
    public static let kaldi = FeatureOptions(
        sampleRate: 16000, frameLength: 400, hopLength: 160, nFFT: 512, boundary: .valid, window: .povey,
        periodicWindow: false, inputScale: 32768, conditioning: FrameConditioning(),
        mel: MelOptions(bands: 23, minHz: 20, maxHz: 0, scale: .kaldi, norm: .none, triangles: .kaldi),
        log: .natural(floor: .ulpOfOne))

    /// The 80-bin Kaldi fbank of streaming ASR (k2 / sherpa-onnx / icefall): `.kaldi` with 80 bins and
    /// `snip_edges=false`, so frame m is centred on `m · 160 + 80`.
    public static let kaldiStreaming: FeatureOptions = {
        var options = FeatureOptions.kaldi
        options.boundary = .kaldiMirror
        options.mel?.bands = 80
        return options
    }()

    /// kaldi-native-fbank `MfccOptions()` / Kaldi `compute-mfcc-feats` with dither 0: the `.kaldi` front end,
    /// 13 cepstra, lifter 22, C0 replaced by the raw log energy.
    public static let kaldiMFCC: FeatureOptions = {
        var options = FeatureOptions.kaldi
        options.cepstrum = CepstrumOptions(count: 13, lifter: .kaldi(22))
        options.energy = .replaceC0
        return options
    }()

    /// OpenAI Whisper's `log_mel_spectrogram` (80 mels): 16 kHz, n_fft 400, hop 160, periodic Hann,
    /// `center=True, pad_mode="reflect"`, power, last frame dropped, librosa's Slaney mel bank,
    /// `log10(max(x, 1e-10))`, clamped at `max − 8`, then `(x + 4) / 4`.
    public static let whisper = FeatureOptions(
        sampleRate: 16000, frameLength: 400, hopLength: 160, boundary: .center(.reflect),
        mel: MelOptions(bands: 80), log: .whisper, dropLastFrame: true)

    /// `python_speech_features.mfcc(signal, 16000)` (0.6 defaults): whole-signal pre-emphasis 0.97, 25 ms frames
    /// every 10 ms, the last frame zero-padded, rectangular window, FFT 512, power / 512, 26 HTK mel filters on
    /// psf's integer bins, `ln`, DCT-II ortho, 13 cepstra, lifter 22, C0 replaced by the log frame energy.
    public static let psf = FeatureOptions(
        sampleRate: 16000, frameLength: 400, hopLength: 160, nFFT: 512, boundary: .padEndToCover(),
        window: .rectangular, signalPreemphasis: 0.97, spectrumScale: 1.0 / 512,
        mel: MelOptions(bands: 26, scale: .htk, norm: .none, triangles: .psf),
        log: .natural(floor: Float(Double.ulpOfOne)), cepstrum: CepstrumOptions(count: 13, lifter: .kaldi(22)),
        energy: .replaceC0, energySource: .spectrum, energyEpsilon: Float(Double.ulpOfOne))

    /// `python_speech_features.logfbank(signal, 16000)`: the `.psf` front end without DCT or energy.
    public static let psfLogFbank: FeatureOptions = {
        var options = FeatureOptions.psf
        options.cepstrum = nil
        options.energy = .none
        return options
    }()
}
