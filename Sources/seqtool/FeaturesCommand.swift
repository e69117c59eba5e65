import ArgumentParser
import AudioIO
import Foundation
import Spectral

/// `seqtool features`: audio files (or the windows of a `seqtool crop` run) → log-mel / MFCC / fbank `.npy`
/// arrays, plus `features.json`.
struct FeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Compute log-mel, MFCC or Kaldi fbank features of audio files or cropped windows as .npy arrays.",
        discussion: """
            Each input file gives one float32 array <DIR>/<name>.npy (names as `seqtool crop` gives them: the \
            path below the argument, folders joined by `__`): [frames, bands] for a mono file, [channels, \
            frames, bands] for a multichannel one (`bands` = mel bands, or cepstra for an MFCC preset). \
            <DIR>/features.json records the preset, the effective options and every output's shape.

            Presets reproduce a library's defaults exactly (sizes in samples):
              librosa          librosa melspectrogram + power_to_db: 2048/512, 128 mels
              librosa-mfcc     librosa.feature.mfcc: the above, then 20 cepstra
              torchaudio       torchaudio MelSpectrogram(): 400/200, 128 HTK mels, no log
              kaldi            kaldi-native-fbank fbank: 400/160, 23 bins, snip edges
              kaldi-streaming  k2/sherpa-onnx fbank: kaldi, 80 bins, snip_edges=false
              kaldi-mfcc       kaldi-native-fbank mfcc: 13 cepstra, C0 = log energy
              whisper          whisper.log_mel_spectrogram: 400/160, 80 mels
              psf              python_speech_features.mfcc: 13 cepstra of 26 filters
              psf-logfbank     python_speech_features.logfbank: 26 log filter energies
            Sizes (--n-fft, --hop, --win-length) are in samples, as in those libraries. Files are not \
            resampled: features use each file's own rate (the mel filters span 0 Hz to its Nyquist), so give \
            sizes for that rate, or --sample-rate to refuse files at any other rate. --n-fft is the frame length \
            of the centred presets (librosa, torchaudio, whisper; --win-length is then a shorter window centred \
            in it) and the FFT size of the Kaldi and psf presets (--win-length is then the frame length; Kaldi \
            presets round the FFT up to a power of two by default).

            --from-crop DIR reads a crop output folder (or its manifest.csv) instead: each array \
            arrays/<shard>.npy [windows, channels, samples] gives <DIR>/<shard>.npy [windows, frames, bands] for \
            mono windows ([windows, channels, frames, bands] otherwise), row w holding the features of window w. \
            Every window is treated as a whole signal on its own: its frames follow the preset's boundary rule \
            inside the window (centred presets: frame k is centred on sample k·hop of the window, the window \
            padded by n_fft/2 with zeros or reflection, never with its neighbours' samples; Kaldi and psf: frame k \
            starts at sample k·hop), and global log clamps (top_db, Whisper's max − 8) are taken per window.

            Outputs are written under temporary names and renamed when complete. A rerun keeps every output \
            that exists and was made with the same options (features.json records them) and computes the rest; \
            --force recomputes all.
            """
    )

    @Argument(help: "Audio files, folders (searched recursively) or glob patterns (not with --from-crop).")
    var inputs: [String] = []

    @Option(help: "A `seqtool crop` output folder or its manifest.csv: features of every window of its arrays.")
    var fromCrop: String?

    @Option(help: "Output folder (created if missing).")
    var out: String

    @Option(help: "Feature definition: \(FeaturePreset.allCases.map(\.rawValue).joined(separator: ", ")).")
    var preset: String

    @Option(help: "Mel bands (librosa n_mels, Kaldi num_mel_bins, psf nfilt).")
    var nMels: Int?

    @Option(
        name: .customLong("n-fft"),
        help: "FFT size in samples (also the frame length of the librosa, torchaudio and whisper presets).")
    var nFFT: Int?

    @Option(help: "Samples between frame starts (librosa hop_length, Kaldi frame shift).")
    var hop: Int?

    @Option(help: "Window length in samples (librosa win_length; the frame length of the Kaldi and psf presets).")
    var winLength: Int?

    @Option(
        name: .customLong("n-mfcc"),
        help: "Cepstral coefficients kept (MFCC presets only: librosa-mfcc, kaldi-mfcc, psf).")
    var nMFCC: Int?

    @Option(help: "Lowest mel filter frequency in Hz (librosa fmin, Kaldi low_freq).")
    var fmin: Double?

    @Option(
        help: """
            Highest mel filter frequency in Hz (librosa fmax, Kaldi high_freq); default the Nyquist frequency. \
            Kaldi presets take a value ≤ 0 as an offset below Nyquist, as Kaldi's --high-freq=-400 does.
            """)
    var fmax: Double?

    @Option(help: "Accept only files at this rate in Hz (default: each file is analysed at its own rate).")
    var sampleRate: Double?

    @OptionGroup var batch: RunOptions

    func validate() throws {
        if inputs.isEmpty && fromCrop == nil { throw ValidationError("give input files or --from-crop DIR") }
        if !inputs.isEmpty && fromCrop != nil {
            throw ValidationError("give input files or --from-crop DIR, not both")
        }
        if let sampleRate, !(sampleRate > 0 && sampleRate.isFinite) {
            throw ValidationError("--sample-rate must be > 0, got \(sampleRate)")
        }
        _ = try featureOptions()
    }

    /// The preset named by `--preset`.
    func presetValue() throws -> FeaturePreset {
        guard let value = FeaturePreset(rawValue: preset.lowercased()) else {
            throw ValidationError(
                "unknown --preset '\(preset)': use one of \(FeaturePreset.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        return value
    }

    /// The preset's options with the size flags applied (`sampleRate` is the preset's until a file sets it).
    ///
    /// - Throws: `ValidationError` naming the flag and its value.
    func featureOptions() throws -> FeatureOptions {
        try FeatureOverrides(
            nMels: nMels, nFFT: nFFT, hop: hop, winLength: winLength, nMFCC: nMFCC, fmin: fmin, fmax: fmax
        ).apply(to: try presetValue())
    }

    func run() throws {
        let started = Date()
        let job = FeaturesJob(
            outFolder: URL(fileURLWithPath: out), preset: try presetValue(), options: try featureOptions(),
            requiredRate: sampleRate, jobs: batch.jobs, stopOnError: batch.stopOnError, force: batch.force,
            quiet: batch.quiet)
        var summary: FeaturesSummary
        if let fromCrop {
            summary = try job.runCrop(CropSource(path: fromCrop))
        } else {
            let files = try InputExpander.expand(inputs, labels: .none)
            summary = try job.runFiles(files)
        }
        summary.elapsed = Date().timeIntervalSince(started)
        if !batch.quiet { printError(summary.description) }
    }
}

/// The `--preset` names and the `FeatureOptions` presets they stand for.
enum FeaturePreset: String, CaseIterable, Sendable {
    case librosa
    case librosaMFCC = "librosa-mfcc"
    case torchaudio
    case kaldi
    case kaldiStreaming = "kaldi-streaming"
    case kaldiMFCC = "kaldi-mfcc"
    case whisper
    case psf
    case psfLogFbank = "psf-logfbank"

    var options: FeatureOptions {
        switch self {
        case .librosa: return .librosa
        case .librosaMFCC: return .librosaMFCC
        case .torchaudio: return .torchaudio
        case .kaldi: return .kaldi
        case .kaldiStreaming: return .kaldiStreaming
        case .kaldiMFCC: return .kaldiMFCC
        case .whisper: return .whisper
        case .psf: return .psf
        case .psfLogFbank: return .psfLogFbank
        }
    }

    /// How the library sizes its frames: `n_fft` is the frame (librosa, torchaudio, Whisper), or the FFT size of a
    /// window that is the frame (Kaldi `frame_length`, psf `winlen`).
    var nFFTIsFrame: Bool {
        switch self {
        case .librosa, .librosaMFCC, .torchaudio, .whisper: return true
        case .kaldi, .kaldiStreaming, .kaldiMFCC, .psf, .psfLogFbank: return false
        }
    }

    /// Kaldi rounds the FFT up to a power of two of the window (`round_to_power_of_two=true`).
    var roundsFFTToPowerOfTwo: Bool {
        switch self {
        case .kaldi, .kaldiStreaming, .kaldiMFCC: return true
        default: return false
        }
    }
}

/// The size flags of `seqtool features`, applied to a preset.
struct FeatureOverrides: Equatable {
    var nMels: Int?
    var nFFT: Int?
    var hop: Int?
    var winLength: Int?
    var nMFCC: Int?
    var fmin: Double?
    var fmax: Double?

    /// The preset's options with these flags applied.
    ///
    /// Centred presets: `--n-fft` sets the frame length and FFT size, `--win-length` the window centred in it.
    /// Kaldi and psf presets: `--win-length` sets the frame length, `--n-fft` the FFT size (Kaldi: by default the
    /// next power of two of the frame; psf: 512, and its power-spectrum scale `1 / n_fft` follows).
    ///
    /// - Throws: `ValidationError` for a size ≤ 0, `--n-fft` below the window, `--n-mfcc` without a cepstrum or
    ///   above the mel bands, `--fmin` < 0 or `--fmax` ≤ `--fmin` (except a Kaldi offset `--fmax` ≤ 0).
    func apply(to preset: FeaturePreset) throws -> FeatureOptions {
        for (flag, value) in [("--n-mels", nMels), ("--n-fft", nFFT), ("--hop", hop), ("--win-length", winLength)] {
            if let value, value <= 0 { throw ValidationError("\(flag) must be ≥ 1, got \(value)") }
        }
        var options = preset.options
        if let hop { options.hopLength = hop }
        if preset.nFFTIsFrame {
            if let nFFT {
                options.frameLength = nFFT
                options.nFFT = nFFT
            }
            if let winLength {
                guard winLength <= options.frameLength else {
                    throw ValidationError(
                        "--win-length \(winLength) is longer than --n-fft \(options.frameLength) (the frame)")
                }
                options.windowLength = winLength
            }
        } else {
            if let winLength {
                options.frameLength = winLength
                if nFFT == nil && preset.roundsFFTToPowerOfTwo {
                    var size = 1
                    while size < winLength { size *= 2 }
                    options.nFFT = size
                }
            }
            if let nFFT { options.nFFT = nFFT }
            guard options.nFFT >= options.frameLength else {
                throw ValidationError(
                    "--n-fft \(options.nFFT) is smaller than the window (--win-length) \(options.frameLength)")
            }
            if preset == .psf || preset == .psfLogFbank { options.spectrumScale = 1 / Float(options.nFFT) }
        }
        if let nMels { options.mel?.bands = nMels }
        if let fmin {
            guard fmin >= 0, fmin.isFinite else { throw ValidationError("--fmin must be ≥ 0 Hz, got \(fmin)") }
            options.mel?.minHz = fmin
        }
        if let fmax {
            let low = options.mel?.minHz ?? 0
            let kaldiOffset = options.mel?.triangles == .kaldi && fmax <= 0
            guard fmax > low || kaldiOffset, fmax.isFinite else {
                throw ValidationError("--fmax \(fmax) Hz must be above --fmin \(low) Hz")
            }
            options.mel?.maxHz = fmax
        }
        if let nMFCC {
            guard nMFCC >= 1 else { throw ValidationError("--n-mfcc must be ≥ 1, got \(nMFCC)") }
            guard options.cepstrum != nil else {
                throw ValidationError(
                    "--n-mfcc needs an MFCC preset (librosa-mfcc, kaldi-mfcc or psf), not --preset \(preset.rawValue)")
            }
            options.cepstrum?.count = nMFCC
        }
        if let cepstrum = options.cepstrum, let bands = options.mel?.bands, cepstrum.count > bands {
            throw ValidationError("--n-mfcc \(cepstrum.count) exceeds the \(bands) mel bands it is computed from")
        }
        return options
    }
}
