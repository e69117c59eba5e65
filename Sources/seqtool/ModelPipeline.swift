import AudioIO
import Foundation
import Spectral
import TCN
import Windowing

/// `pipeline.json` of a model folder: everything between a file and the TCN's input, so training and inference
/// turn a signal into exactly the same tensor (`prepare`).
///
/// ```json
/// {"version": 1, "task": "classification",
///  "input": {"kind": "audio", "sampleRate": 8000, "channels": 1, "channelNames": ["ch0"]},
///  "window": {"length": 8000, "hop": 4000, "boundary": "pad-end"},
///  "features": {"preset": "kaldi", "frameLength": 200, "hopLength": 80, "nFFT": 256, "melBands": 23},
///  "normalization": {"mean": [...], "std": [...]},
///  "labels": ["eight", "five", ...]}
/// ```
///
/// A model folder holds `config.json` + `weights.safetensors` (the TCN module's own files) and this file.
struct ModelPipeline: Codable, Equatable, Sendable {
    /// The format version this build writes and reads.
    static let currentVersion = 1
    /// The file name inside a model folder.
    static let fileName = "pipeline.json"

    /// What the model was trained to do.
    enum Task: String, Codable, Sendable, CaseIterable {
        case classification
        case anomaly
    }

    /// What kind of file the model reads.
    enum SignalKind: String, Codable, Sendable, CaseIterable {
        case audio
        case sensor
    }

    /// The signal the model expects.
    struct Input: Codable, Equatable, Sendable {
        var kind: SignalKind
        /// Hz; inputs at another rate are refused (no resampling).
        var sampleRate: Double
        var channels: Int
        var channelNames: [String]

        enum CodingKeys: String, CodingKey, CaseIterable { case kind, sampleRate, channels, channelNames }

        init(kind: SignalKind, sampleRate: Double, channels: Int, channelNames: [String]) {
            self.kind = kind
            self.sampleRate = sampleRate
            self.channels = channels
            self.channelNames = channelNames
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
            kind = try c.decode(SignalKind.self, forKey: .kind)
            sampleRate = try c.decode(Double.self, forKey: .sampleRate)
            channels = try c.decode(Int.self, forKey: .channels)
            channelNames = try c.decode([String].self, forKey: .channelNames)
        }
    }

    /// How a signal is cut into the windows the model sees (samples of the input rate).
    struct Window: Codable, Equatable, Sendable {
        var length: Int
        var hop: Int
        /// `crop --boundary` spelling: `valid`, `pad-end`, `pad-cover`, `center`, `center-reflect`, … .
        var boundary: String

        enum CodingKeys: String, CodingKey, CaseIterable { case length, hop, boundary }

        init(length: Int, hop: Int, boundary: String) {
            self.length = length
            self.hop = hop
            self.boundary = boundary
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
            length = try c.decode(Int.self, forKey: .length)
            hop = try c.decode(Int.self, forKey: .hop)
            boundary = try c.decode(String.self, forKey: .boundary)
        }

        /// The windowing options.
        ///
        /// - Throws: `JobError.invalidValue` naming `window.boundary`, `window.length` or `window.hop`.
        func frameOptions() throws -> FrameOptions {
            guard let mode = BoundaryArgument(rawValue: boundary)?.mode else {
                throw JobError.invalidValue(
                    file: "", key: "window.boundary", value: boundary,
                    reason: "expected one of " + BoundaryArgument.allCases.map(\.rawValue).joined(separator: ", "))
            }
            guard length >= 1 else {
                throw JobError.invalidValue(file: "", key: "window.length", value: "\(length)", reason: "must be ≥ 1")
            }
            guard hop >= 1 else {
                throw JobError.invalidValue(file: "", key: "window.hop", value: "\(hop)", reason: "must be ≥ 1")
            }
            do {
                return try FrameOptions(length: length, hop: hop, boundary: mode)
            } catch {
                throw JobError.invalidValue(file: "", key: "window", value: "\(length)/\(hop)", reason: "\(error)")
            }
        }
    }

    /// The features computed per window: raw samples or a Spectral preset with a few fields overridden.
    ///
    /// A preset's frame length, hop and FFT size are given at the preset's own rate; at another input rate they
    /// are scaled to keep their duration (Kaldi's 400/160/512 at 16 kHz become 200/80/256 at 8 kHz) unless given.
    /// Training writes the resolved values, so inference never depends on this rule.
    struct FeatureSpec: Codable, Equatable, Sendable {
        /// `raw`, or a `FeatureOptions` preset: `librosa`, `librosaMFCC`, `torchaudio`, `kaldi`,
        /// `kaldiStreaming`, `kaldiMFCC`, `whisper`, `psf`, `psfLogFbank`.
        var preset: String
        var frameLength: Int?
        var hopLength: Int?
        var nFFT: Int?
        var melBands: Int?
        var minHz: Double?
        var maxHz: Double?
        /// Number of cepstral coefficients (presets with a DCT only).
        var cepstra: Int?
        /// Subtract each feature's mean over the window's frames (cepstral / log-mel mean normalisation, Kaldi's
        /// `apply-cmvn --norm-vars=false` per window) before the global normalisation; `nil` = off. It removes a
        /// constant channel or voice colouring, which helps on speakers never heard in training.
        var windowMean: Bool?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case preset, frameLength, hopLength, nFFT, melBands, minHz, maxHz, cepstra, windowMean
        }

        static let presets: [String: FeatureOptions] = [
            "librosa": .librosa, "librosaMFCC": .librosaMFCC, "torchaudio": .torchaudio, "kaldi": .kaldi,
            "kaldiStreaming": .kaldiStreaming, "kaldiMFCC": .kaldiMFCC, "whisper": .whisper, "psf": .psf,
            "psfLogFbank": .psfLogFbank,
        ]

        init(preset: String) { self.preset = preset }

        init(from decoder: any Decoder) throws {
            let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
            preset = try c.decode(String.self, forKey: .preset)
            frameLength = try c.decodeIfPresent(Int.self, forKey: .frameLength)
            hopLength = try c.decodeIfPresent(Int.self, forKey: .hopLength)
            nFFT = try c.decodeIfPresent(Int.self, forKey: .nFFT)
            melBands = try c.decodeIfPresent(Int.self, forKey: .melBands)
            minHz = try c.decodeIfPresent(Double.self, forKey: .minHz)
            maxHz = try c.decodeIfPresent(Double.self, forKey: .maxHz)
            cepstra = try c.decodeIfPresent(Int.self, forKey: .cepstra)
            windowMean = try c.decodeIfPresent(Bool.self, forKey: .windowMean)
        }

        var isRaw: Bool { preset == "raw" }

        /// The Spectral options at `sampleRate`, or `nil` for raw samples.
        ///
        /// - Throws: `JobError.invalidValue` naming `features.preset` or the overridden key.
        func options(sampleRate: Double) throws -> FeatureOptions? {
            if isRaw {
                let overridden = [frameLength, hopLength, nFFT, melBands, cepstra].contains { $0 != nil }
                guard !overridden, minHz == nil, maxHz == nil, windowMean == nil else {
                    throw JobError.invalidValue(
                        file: "", key: "features", value: "raw", reason: "raw samples take no spectral options")
                }
                return nil
            }
            guard var options = Self.presets[preset] else {
                throw JobError.invalidValue(
                    file: "", key: "features.preset", value: preset,
                    reason: "expected raw or one of " + Self.presets.keys.sorted().joined(separator: ", "))
            }
            let scale = sampleRate / options.sampleRate
            let presetFrame = options.frameLength
            options.frameLength = frameLength ?? max(1, Int((Double(presetFrame) * scale).rounded()))
            options.hopLength = hopLength ?? max(1, Int((Double(options.hopLength) * scale).rounded()))
            options.nFFT = nFFT ?? max(options.frameLength, Int((Double(options.nFFT) * scale).rounded()))
            options.sampleRate = sampleRate
            if let melBands {
                guard options.mel != nil else {
                    throw JobError.invalidValue(
                        file: "", key: "features.melBands", value: "\(melBands)", reason: "\(preset) has no mel bank")
                }
                options.mel?.bands = melBands
            }
            if let minHz { options.mel?.minHz = minHz }
            if let maxHz { options.mel?.maxHz = maxHz }
            if let cepstra {
                guard options.cepstrum != nil else {
                    throw JobError.invalidValue(
                        file: "", key: "features.cepstra", value: "\(cepstra)", reason: "\(preset) has no DCT")
                }
                options.cepstrum?.count = cepstra
            }
            return options
        }

        /// The same spec with every size written out (what training stores).
        func resolved(sampleRate: Double) throws -> FeatureSpec {
            guard let options = try options(sampleRate: sampleRate) else { return self }
            var spec = self
            spec.frameLength = options.frameLength
            spec.hopLength = options.hopLength
            spec.nFFT = options.nFFT
            spec.melBands = options.mel?.bands
            spec.cepstra = options.cepstrum?.count
            return spec
        }
    }

    /// Per-channel standardisation `(x − mean[c]) / std[c]` of the TCN input, fitted on the training part.
    struct Normalization: Codable, Equatable, Sendable {
        var mean: [Float]
        var std: [Float]

        enum CodingKeys: String, CodingKey, CaseIterable { case mean, std }

        init(mean: [Float], std: [Float]) {
            self.mean = mean
            self.std = std
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
            mean = try c.decode([Float].self, forKey: .mean)
            std = try c.decode([Float].self, forKey: .std)
        }

        /// Mean and standard deviation per channel over every window and step of `inputs` (`[n, C, T]` each).
        /// A constant channel gets std 1 (so it maps to 0 instead of dividing by zero).
        static func fit(_ inputs: [Tensor], channels: Int) -> Normalization {
            var sum = [Double](repeating: 0, count: channels)
            var squares = [Double](repeating: 0, count: channels)
            var count = 0
            for x in inputs where x.shape.count == 3 && x.shape[1] == channels {
                let (n, t) = (x.shape[0], x.shape[2])
                count += n * t
                x.data.withUnsafeBufferPointer { d in
                    for b in 0..<n {
                        for c in 0..<channels {
                            var s = 0.0
                            var q = 0.0
                            for i in ((b * channels + c) * t)..<((b * channels + c + 1) * t) {
                                let v = Double(d[i])
                                s += v
                                q += v * v
                            }
                            sum[c] += s
                            squares[c] += q
                        }
                    }
                }
            }
            let total = Double(max(count, 1))
            let mean = sum.map { $0 / total }
            let std = zip(squares, mean).map { q, m -> Float in
                let s = (max(0, q / total - m * m)).squareRoot()
                return s > 1e-6 ? Float(s) : 1
            }
            return Normalization(mean: mean.map { Float($0) }, std: std)
        }

        /// Standardises `x` (`[n, C, T]`) in place.
        func apply(_ x: inout Tensor) {
            let (channels, t) = (x.shape[1], x.shape[2])
            x.data.withUnsafeMutableBufferPointer { d in
                for row in 0..<(x.shape[0] * channels) {
                    let c = row % channels
                    let (m, s) = (mean[c], 1 / std[c])
                    for i in (row * t)..<((row + 1) * t) { d[i] = (d[i] - m) * s }
                }
            }
        }
    }

    /// Anomaly-task settings (scored by `seqtool detect`).
    struct Anomaly: Codable, Equatable, Sendable {
        /// `forecast`: predict the step `horizon` ahead; `reconstruction`: reproduce the window.
        enum Mode: String, Codable, Sendable, CaseIterable {
            case forecast
            case reconstruction
        }
        var mode: Mode
        /// Steps ahead for `forecast` (≥ 1); 0 for `reconstruction`.
        var horizon: Int
        /// The score threshold learned from training scores, or `nil` when not yet known. `seqtool train` scores a
        /// step as the mean over channels of `|prediction − target| / channelStd[c]` (on normalised inputs) and
        /// takes the `anomaly.thresholdQuantile` (default 0.995) of the training windows' scores.
        var threshold: Float?
        /// Per input channel, the standard deviation of the training error (scores are divided by it).
        var channelStd: [Float]

        enum CodingKeys: String, CodingKey, CaseIterable { case mode, horizon, threshold, channelStd }

        init(mode: Mode, horizon: Int, threshold: Float?, channelStd: [Float]) {
            self.mode = mode
            self.horizon = horizon
            self.threshold = threshold
            self.channelStd = channelStd
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
            mode = try c.decode(Mode.self, forKey: .mode)
            horizon = try c.decode(Int.self, forKey: .horizon)
            threshold = try c.decodeIfPresent(Float.self, forKey: .threshold)
            channelStd = try c.decode([Float].self, forKey: .channelStd)
        }
    }

    var version: Int
    var task: Task
    var input: Input
    var window: Window
    var features: FeatureSpec
    var normalization: Normalization
    /// Class names in output order (classification).
    var labels: [String]?
    /// Anomaly settings (anomaly).
    var anomaly: Anomaly?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case version, task, input, window, features, normalization, labels, anomaly
    }

    init(
        task: Task, input: Input, window: Window, features: FeatureSpec, normalization: Normalization,
        labels: [String]? = nil, anomaly: Anomaly? = nil
    ) {
        version = Self.currentVersion
        self.task = task
        self.input = input
        self.window = window
        self.features = features
        self.normalization = normalization
        self.labels = labels
        self.anomaly = anomaly
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        version = try c.decode(Int.self, forKey: .version)
        guard version == Self.currentVersion else {
            throw JobError.unsupportedVersion(file: "", version: version, supported: Self.currentVersion)
        }
        task = try c.decode(Task.self, forKey: .task)
        input = try c.decode(Input.self, forKey: .input)
        window = try c.decode(Window.self, forKey: .window)
        features = try c.decode(FeatureSpec.self, forKey: .features)
        normalization = try c.decode(Normalization.self, forKey: .normalization)
        labels = try c.decodeIfPresent([String].self, forKey: .labels)
        anomaly = try c.decodeIfPresent(Anomaly.self, forKey: .anomaly)
    }
}
