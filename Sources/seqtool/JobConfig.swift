import Foundation
import TCN

/// The `seqtool train --config FILE.json` file: data → split → windows → features → normalisation →
/// augmentation → TCN → optimiser. Every key is checked: an unknown key, a wrong type or an impossible
/// combination is a `JobError` naming the key. Relative paths are relative to the config file's folder.
///
/// ```json
/// {"version": 1, "task": "classification", "seed": 1,
///  "data": {"kind": "folder", "path": "../digits", "labels": "folder"},
///  "split": {"by": "group", "groupRegex": "^([^_]+)_", "testGroups": ["fay"], "validationFraction": 0.15},
///  "window": {"length": "1s", "hop": "0.5s", "boundary": "pad-end"},
///  "features": {"preset": "kaldi", "melBands": 32},
///  "augmentation": {"noise": 0.002, "gainDb": 6, "timeShift": "0.1s", "timeMasks": 1, "timeMaskWidth": 8,
///                   "mixup": 0.2},
///  "model": {"channels": [32, 32, 32], "kernelSize": 3, "head": "meanPool"},
///  "training": {"epochs": 30, "batchSize": 16, "optimizer": "adam", "learningRate": 0.003}}
/// ```
struct JobConfig: Decodable, Equatable, Sendable {
    static let currentVersion = 1

    var version: Int
    var task: ModelPipeline.Task
    var seed: UInt64
    var data: DataSpec
    var split: SplitSpec
    var window: WindowSpec?
    var features: ModelPipeline.FeatureSpec
    var augmentation: AugmentationSpec
    var model: ModelSpec
    var training: TrainingSpec
    var anomaly: AnomalySpec?
    /// The folder relative paths are resolved against (the config file's folder).
    var baseFolder: URL = URL(fileURLWithPath: ".")

    enum CodingKeys: String, CodingKey, CaseIterable {
        case version, task, seed, data, split, window, features, augmentation, model, training, anomaly
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        version = try c.decode(Int.self, forKey: .version)
        guard version == Self.currentVersion else {
            throw JobError.unsupportedVersion(file: "", version: version, supported: Self.currentVersion)
        }
        task = try c.decode(ModelPipeline.Task.self, forKey: .task)
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 0
        data = try c.decode(DataSpec.self, forKey: .data)
        split = try c.decodeIfPresent(SplitSpec.self, forKey: .split) ?? SplitSpec()
        window = try c.decodeIfPresent(WindowSpec.self, forKey: .window)
        features = try c.decodeIfPresent(ModelPipeline.FeatureSpec.self, forKey: .features) ?? .init(preset: "raw")
        augmentation = try c.decodeIfPresent(AugmentationSpec.self, forKey: .augmentation) ?? AugmentationSpec()
        model = try c.decode(ModelSpec.self, forKey: .model)
        training = try c.decodeIfPresent(TrainingSpec.self, forKey: .training) ?? TrainingSpec()
        anomaly = try c.decodeIfPresent(AnomalySpec.self, forKey: .anomaly)
    }

    /// Reads, decodes and cross-checks a config file.
    ///
    /// - Throws: `JobError` naming `path` and the key.
    static func load(path: String) throws -> JobConfig {
        var config = try JobJSON.load(JobConfig.self, path: path)
        config.baseFolder = URL(fileURLWithPath: path).deletingLastPathComponent()
        try config.validate(file: path)
        return config
    }

    /// `path` resolved against the config file's folder.
    func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : baseFolder.appendingPathComponent(path).standardizedFileURL.path
    }

    /// The combinations a single key's type cannot express.
    ///
    /// - Throws: `JobError.invalidValue` naming the key.
    func validate(file: String) throws {
        func bad(_ key: String, _ value: Any, _ reason: String) -> JobError {
            .invalidValue(file: file, key: key, value: "\(value)", reason: reason)
        }
        switch (task, data.kind) {
        case (.classification, .sensor):
            throw bad("data.kind", "sensor", "sensor CSVs train task \"anomaly\"; classification reads clips or UEA")
        case (.anomaly, .folder), (.anomaly, .uea), (.anomaly, .manifest):
            throw bad("data.kind", data.kind.rawValue, "task \"anomaly\" reads sensor CSVs (data.kind \"sensor\")")
        default: break
        }
        switch data.kind {
        case .folder:
            guard data.path != nil else { throw bad("data.path", "absent", "data.kind \"folder\" needs a folder") }
            if data.labels == .regex, data.labelRegex == nil {
                throw bad("data.labelRegex", "absent", "data.labels \"regex\" needs a labelRegex")
            }
        case .uea:
            guard data.train != nil, data.test != nil else {
                throw bad("data.train", "absent", "data.kind \"uea\" needs train and test .ts files")
            }
            guard split.by == .given else {
                throw bad("split.by", split.by.rawValue, "UEA files come split: use \"given\"")
            }
        case .manifest:
            guard data.path != nil else {
                throw bad("data.path", "absent", "data.kind \"manifest\" needs manifest.csv")
            }
            guard split.by != .given else { throw bad("split.by", "given", "a manifest is split by file or group") }
        case .sensor:
            guard let files = data.files, !files.isEmpty else {
                throw bad("data.files", "absent", "data.kind \"sensor\" needs CSV files")
            }
        }
        if split.by == .given, data.kind == .folder, data.test == nil {
            throw bad("split.by", "given", "a given split needs data.test (a folder of test clips)")
        }
        if split.by == .group, split.groupRegex == nil {
            throw bad("split.groupRegex", "absent", "split.by \"group\" needs a groupRegex")
        }
        if training.earlyStoppingPatience != nil, split.validationFraction == 0 {
            throw bad(
                "training.earlyStoppingPatience", training.earlyStoppingPatience ?? 0,
                "early stopping needs validation data (split.validationFraction > 0)")
        }
        if window == nil, data.kind != .uea, data.kind != .manifest {
            throw bad(
                "window", "absent", "give window.length and window.hop (UEA series and crop windows default to whole)")
        }
        if task == .anomaly {
            guard anomaly != nil else { throw bad("anomaly", "absent", "task \"anomaly\" needs anomaly.mode") }
            guard features.isRaw else { throw bad("features.preset", features.preset, "anomaly models read raw") }
        } else if anomaly != nil {
            throw bad("anomaly", "present", "only for task \"anomaly\"")
        }
        if task == .anomaly, model.head != .perStep {
            throw bad("model.head", model.head.rawValue, "anomaly models predict every step (\"perStep\")")
        }
        if task == .classification, model.head == .perStep {
            throw bad("model.head", "perStep", "classification needs \"meanPool\" or \"lastStep\"")
        }
        if task != .classification, augmentation.mixup > 0 {
            throw bad("augmentation.mixup", augmentation.mixup, "mixup mixes class labels: classification only")
        }
        if task != .classification, training.labelSmoothing > 0 {
            throw bad("training.labelSmoothing", training.labelSmoothing, "smooths class labels: classification only")
        }
        if features.isRaw, augmentation.frequencyMasks > 0 {
            throw bad("augmentation.frequencyMasks", augmentation.frequencyMasks, "raw samples have no frequency axis")
        }
    }
}

/// Where the examples come from.
struct DataSpec: Decodable, Equatable, Sendable {
    enum Kind: String, Decodable, Sendable, CaseIterable {
        /// A folder of clips, labels from sub-folder names or a file-name regex.
        case folder
        /// UEA/UCR `.ts` train and test files.
        case uea
        /// Sensor CSV files (task anomaly).
        case sensor
        /// The `manifest.csv` of a `seqtool crop --format npy` run: its windows, labels and sources.
        case manifest
    }
    enum Labels: String, Decodable, Sendable, CaseIterable {
        case folder
        case regex
    }

    var kind: Kind
    var path: String?
    var labels: Labels
    var labelRegex: String?
    var train: String?
    var test: String?
    var files: [String]?
    /// Sensor CSV sample rate in Hz; `nil` (default) infers it from the timestamps.
    var sampleRate: Double?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case kind, path, labels, labelRegex, train, test, files, sampleRate
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        kind = try c.decode(Kind.self, forKey: .kind)
        path = try c.decodeIfPresent(String.self, forKey: .path)
        labels = try c.decodeIfPresent(Labels.self, forKey: .labels) ?? .folder
        labelRegex = try c.decodeIfPresent(String.self, forKey: .labelRegex)
        train = try c.decodeIfPresent(String.self, forKey: .train)
        test = try c.decodeIfPresent(String.self, forKey: .test)
        files = try c.decodeIfPresent([String].self, forKey: .files)
        sampleRate = try c.decodeIfPresent(Double.self, forKey: .sampleRate)
        if let rate = sampleRate, !(rate > 0) { throw JobError.invalid(decoder, "sampleRate", rate, "must be > 0") }
    }
}

/// How files are divided into training, validation and test parts (always whole files, never windows of one
/// file on two sides).
struct SplitSpec: Decodable, Equatable, Sendable {
    enum By: String, Decodable, Sendable, CaseIterable {
        /// Seeded, stratified by class: each class loses `testFraction` of its files to the test part.
        case file
        /// By the group a regex finds in the file name (the speaker): no group is on both sides.
        case group
        /// Train and test are given (`data.test`, or UEA's files).
        case given
    }
    var by: By = .file
    var testFraction: Double = 0.2
    /// Carved from the training part by the same rule (files or groups); 0 = no validation.
    var validationFraction: Double = 0.1
    var groupRegex: String?
    /// Test groups by name (else `testFraction` of the groups, seeded).
    var testGroups: [String]?
    var validationGroups: [String]?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case by, testFraction, validationFraction, groupRegex, testGroups, validationGroups
    }

    init() {}

    init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        by = try c.decodeIfPresent(By.self, forKey: .by) ?? .file
        testFraction = try c.decodeIfPresent(Double.self, forKey: .testFraction) ?? 0.2
        validationFraction = try c.decodeIfPresent(Double.self, forKey: .validationFraction) ?? 0.1
        groupRegex = try c.decodeIfPresent(String.self, forKey: .groupRegex)
        testGroups = try c.decodeIfPresent([String].self, forKey: .testGroups)
        validationGroups = try c.decodeIfPresent([String].self, forKey: .validationGroups)
        guard (0..<1).contains(testFraction) else {
            throw JobError.invalid(decoder, "testFraction", testFraction, "must be in [0, 1)")
        }
        guard (0..<1).contains(validationFraction) else {
            throw JobError.invalid(decoder, "validationFraction", validationFraction, "must be in [0, 1)")
        }
    }
}

/// A length in samples (`16000`) or time (`"1s"`, `"250ms"`), as `crop` spells it.
struct SpanValue: Decodable, Equatable, Sendable {
    var span: TimeSpan

    init(_ span: TimeSpan) { self.span = span }

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let samples = try? c.decode(Int.self) {
            guard samples >= 1 else { throw JobError.invalid(decoder, "", samples, "must be ≥ 1") }
            span = TimeSpan(samples: samples)
        } else if let text = try? c.decode(String.self), let parsed = TimeSpan(argument: text) {
            span = parsed
        } else {
            throw DecodingError.typeMismatch(
                Int.self, .init(codingPath: decoder.codingPath, debugDescription: "samples or a duration"))
        }
    }
}

/// `window`: the windows the model sees; UEA series default to one window per whole series.
struct WindowSpec: Decodable, Equatable, Sendable {
    var length: SpanValue
    var hop: SpanValue
    var boundary: String

    enum CodingKeys: String, CodingKey, CaseIterable { case length, hop, boundary }

    init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        length = try c.decode(SpanValue.self, forKey: .length)
        hop = try c.decodeIfPresent(SpanValue.self, forKey: .hop) ?? length
        boundary = try c.decodeIfPresent(String.self, forKey: .boundary) ?? "pad-end"
        guard BoundaryArgument(rawValue: boundary) != nil else {
            throw JobError.invalid(
                decoder, "boundary", boundary,
                "expected one of " + BoundaryArgument.allCases.map(\.rawValue).joined(separator: ", "))
        }
    }
}

/// `augmentation`: seeded perturbations of training windows only (validation and test windows are clean).
struct AugmentationSpec: Decodable, Equatable, Sendable {
    /// Standard deviation of added Gaussian noise, in sample units (0 = off).
    var noise: Float = 0
    /// Random gain, uniform in ±`gainDb` decibels (0 = off).
    var gainDb: Float = 0
    /// Random circular-free shift of the window content by up to this span either way, zero filled.
    var timeShift: SpanValue?
    /// SpecAugment: number of time masks per window and their maximum width in TCN steps.
    var timeMasks: Int = 0
    var timeMaskWidth: Int = 0
    /// SpecAugment: number of frequency (feature-channel) masks and their maximum width in channels.
    var frequencyMasks: Int = 0
    var frequencyMaskWidth: Int = 0
    /// Mixup's Beta(α, α) parameter α (0 = off): pairs of a batch's examples and their one-hot labels mixed with
    /// one λ per batch (`Mixup`); classification only.
    var mixup: Double = 0

    var hasSpectralMasks: Bool { timeMasks > 0 || frequencyMasks > 0 }
    var hasWaveformChanges: Bool { noise > 0 || gainDb > 0 || timeShift != nil }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case noise, gainDb, timeShift, timeMasks, timeMaskWidth, frequencyMasks, frequencyMaskWidth, mixup
    }

    init() {}

    init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        noise = try c.decodeIfPresent(Float.self, forKey: .noise) ?? 0
        gainDb = try c.decodeIfPresent(Float.self, forKey: .gainDb) ?? 0
        timeShift = try c.decodeIfPresent(SpanValue.self, forKey: .timeShift)
        timeMasks = try c.decodeIfPresent(Int.self, forKey: .timeMasks) ?? 0
        timeMaskWidth = try c.decodeIfPresent(Int.self, forKey: .timeMaskWidth) ?? 0
        frequencyMasks = try c.decodeIfPresent(Int.self, forKey: .frequencyMasks) ?? 0
        frequencyMaskWidth = try c.decodeIfPresent(Int.self, forKey: .frequencyMaskWidth) ?? 0
        mixup = try c.decodeIfPresent(Double.self, forKey: .mixup) ?? 0
        guard mixup >= 0, mixup.isFinite else { throw JobError.invalid(decoder, "mixup", mixup, "must be ≥ 0") }
        for (key, value) in [("noise", noise), ("gainDb", gainDb)] where value < 0 || !value.isFinite {
            throw JobError.invalid(decoder, key, value, "must be ≥ 0")
        }
        for (key, value) in [
            ("timeMasks", timeMasks), ("timeMaskWidth", timeMaskWidth), ("frequencyMasks", frequencyMasks),
            ("frequencyMaskWidth", frequencyMaskWidth),
        ] where value < 0 {
            throw JobError.invalid(decoder, key, value, "must be ≥ 0")
        }
        if timeMasks > 0, timeMaskWidth == 0 {
            throw JobError.invalid(decoder, "timeMaskWidth", 0, "timeMasks > 0 needs a width ≥ 1")
        }
        if frequencyMasks > 0, frequencyMaskWidth == 0 {
            throw JobError.invalid(decoder, "frequencyMaskWidth", 0, "frequencyMasks > 0 needs a width ≥ 1")
        }
    }
}

/// `model`: the TCN backbone (every `BackboneConfiguration` field but `inputChannels`, which the features fix)
/// and the head.
struct ModelSpec: Decodable, Equatable, Sendable {
    var backbone: BackboneConfiguration
    var head: HeadConfiguration.Kind

    enum CodingKeys: String, CodingKey, CaseIterable {
        case channels, kernelSize, dilations, dilationReset, padding, normalization, activation, finalActivation
        case dropout, dropoutMode, skipConnections, skipSource, initialization, head
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        var b = BackboneConfiguration(inputChannels: 1, channels: try c.decode([Int].self, forKey: .channels))
        b.kernelSize = try c.decodeIfPresent(Int.self, forKey: .kernelSize) ?? 3
        b.dilations = try c.decodeIfPresent([Int].self, forKey: .dilations)
        b.dilationReset = try c.decodeIfPresent(Int.self, forKey: .dilationReset)
        b.padding = try c.decodeIfPresent(ConvolutionPadding.self, forKey: .padding) ?? b.padding
        b.normalization = try c.decodeIfPresent(TCN.Normalization.self, forKey: .normalization) ?? b.normalization
        b.activation = try c.decodeIfPresent(Activation.self, forKey: .activation) ?? b.activation
        b.finalActivation = try c.decodeIfPresent(Activation.self, forKey: .finalActivation)
        b.dropout = try c.decodeIfPresent(Float.self, forKey: .dropout) ?? 0
        b.dropoutMode = try c.decodeIfPresent(Dropout.Mode.self, forKey: .dropoutMode) ?? b.dropoutMode
        b.skipConnections = try c.decodeIfPresent(Bool.self, forKey: .skipConnections) ?? false
        b.skipSource = try c.decodeIfPresent(SkipSource.self, forKey: .skipSource) ?? b.skipSource
        b.initialization = try c.decodeIfPresent(WeightInitialization.self, forKey: .initialization) ?? b.initialization
        head = try c.decodeIfPresent(HeadConfiguration.Kind.self, forKey: .head) ?? .meanPool
        do {
            try b.validate()
        } catch let TCNError.invalidParameter(name, value, reason) {
            let key = name.replacingOccurrences(of: "backbone.", with: "")
            throw JobError.invalid(decoder, key, value, reason)
        }
        backbone = b
    }
}

/// `training`: optimiser, schedule, epochs, batches, early stopping, checkpoints.
struct TrainingSpec: Decodable, Equatable, Sendable {
    enum OptimizerKind: String, Decodable, Sendable, CaseIterable {
        case adam, adamw, sgd, rmsprop
    }
    enum ScheduleKind: String, Decodable, Sendable, CaseIterable {
        case constant, cosine, step, onecycle
    }
    var epochs = 20
    var batchSize = 16
    var optimizer: OptimizerKind = .adam
    var learningRate: Float = 1e-3
    var weightDecay: Float = 0
    var momentum: Float = 0.9
    var schedule: ScheduleKind = .constant
    var warmUpEpochs = 0
    var stepSize = 10
    var gamma: Float = 0.5
    var clipNorm: Float?
    var earlyStoppingPatience: Int?
    /// Also checkpoint every this many batches (besides every epoch), or `nil`.
    var checkpointEvery: Int?
    /// Label smoothing ε of the training targets, `(1 − ε)·y + ε/K` (PyTorch's `CrossEntropyLoss(label_smoothing:)`,
    /// applied after mixup); 0 = off. Classification only; the validation loss stays the plain cross-entropy.
    var labelSmoothing: Float = 0

    enum CodingKeys: String, CodingKey, CaseIterable {
        case epochs, batchSize, optimizer, learningRate, weightDecay, momentum, schedule, warmUpEpochs, stepSize
        case gamma, clipNorm, earlyStoppingPatience, checkpointEvery, labelSmoothing
    }

    init() {}

    init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        epochs = try c.decodeIfPresent(Int.self, forKey: .epochs) ?? epochs
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? batchSize
        optimizer = try c.decodeIfPresent(OptimizerKind.self, forKey: .optimizer) ?? optimizer
        learningRate = try c.decodeIfPresent(Float.self, forKey: .learningRate) ?? learningRate
        weightDecay = try c.decodeIfPresent(Float.self, forKey: .weightDecay) ?? weightDecay
        momentum = try c.decodeIfPresent(Float.self, forKey: .momentum) ?? momentum
        schedule = try c.decodeIfPresent(ScheduleKind.self, forKey: .schedule) ?? schedule
        warmUpEpochs = try c.decodeIfPresent(Int.self, forKey: .warmUpEpochs) ?? warmUpEpochs
        stepSize = try c.decodeIfPresent(Int.self, forKey: .stepSize) ?? stepSize
        gamma = try c.decodeIfPresent(Float.self, forKey: .gamma) ?? gamma
        clipNorm = try c.decodeIfPresent(Float.self, forKey: .clipNorm)
        earlyStoppingPatience = try c.decodeIfPresent(Int.self, forKey: .earlyStoppingPatience)
        checkpointEvery = try c.decodeIfPresent(Int.self, forKey: .checkpointEvery)
        labelSmoothing = try c.decodeIfPresent(Float.self, forKey: .labelSmoothing) ?? 0
        guard labelSmoothing >= 0, labelSmoothing < 1 else {
            throw JobError.invalid(decoder, "labelSmoothing", labelSmoothing, "must be in [0, 1)")
        }
        guard epochs >= 1 else { throw JobError.invalid(decoder, "epochs", epochs, "must be ≥ 1") }
        guard batchSize >= 1 else { throw JobError.invalid(decoder, "batchSize", batchSize, "must be ≥ 1") }
        guard learningRate > 0, learningRate.isFinite else {
            throw JobError.invalid(decoder, "learningRate", learningRate, "must be > 0")
        }
        guard warmUpEpochs >= 0, warmUpEpochs < epochs else {
            throw JobError.invalid(decoder, "warmUpEpochs", warmUpEpochs, "must be in 0..<epochs")
        }
        if let p = earlyStoppingPatience, p < 1 {
            throw JobError.invalid(decoder, "earlyStoppingPatience", p, "must be ≥ 1")
        }
        if let n = checkpointEvery, n < 1 { throw JobError.invalid(decoder, "checkpointEvery", n, "must be ≥ 1") }
        if let n = clipNorm, !(n > 0) { throw JobError.invalid(decoder, "clipNorm", n, "must be > 0") }
    }

    /// The optimiser.
    func makeOptimizer() throws -> any Optimizer {
        switch optimizer {
        case .adam: return try Adam(learningRate: learningRate, weightDecay: weightDecay)
        case .adamw: return try Adam(learningRate: learningRate, weightDecay: weightDecay, decoupledWeightDecay: true)
        case .sgd: return try SGD(learningRate: learningRate, momentum: momentum, weightDecay: weightDecay)
        case .rmsprop: return try RMSprop(learningRate: learningRate, weightDecay: weightDecay)
        }
    }

    /// The per-epoch learning rate, or `nil` for a constant rate.
    var learningRateSchedule: LearningRateSchedule? {
        switch schedule {
        case .constant: return nil
        case .cosine:
            return .cosine(
                base: learningRate, minimum: learningRate / 100, warmUp: warmUpEpochs, warmUpStartFactor: 0.1,
                total: epochs)
        case .step: return .step(base: learningRate, stepSize: stepSize, gamma: gamma)
        case .onecycle:
            return .oneCycle(
                maximum: learningRate, total: epochs, percentStart: 0.3, divFactor: 25, finalDivFactor: 1e4)
        }
    }
}

/// `anomaly`: how a per-step TCN trained on normal data becomes an anomaly score (`seqtool detect`).
struct AnomalySpec: Decodable, Equatable, Sendable {
    var mode: ModelPipeline.Anomaly.Mode
    var horizon: Int
    /// Quantile of the training scores used as threshold (default 0.995).
    var thresholdQuantile: Double

    enum CodingKeys: String, CodingKey, CaseIterable { case mode, horizon, thresholdQuantile }

    init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        mode = try c.decode(ModelPipeline.Anomaly.Mode.self, forKey: .mode)
        horizon = try c.decodeIfPresent(Int.self, forKey: .horizon) ?? (mode == .forecast ? 1 : 0)
        thresholdQuantile = try c.decodeIfPresent(Double.self, forKey: .thresholdQuantile) ?? 0.995
        if mode == .forecast, horizon < 1 { throw JobError.invalid(decoder, "horizon", horizon, "must be ≥ 1") }
        guard thresholdQuantile > 0, thresholdQuantile <= 1 else {
            throw JobError.invalid(decoder, "thresholdQuantile", thresholdQuantile, "must be in (0, 1]")
        }
    }
}
