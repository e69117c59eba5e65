import AudioIO
import Foundation
import TCN

/// What a finished training run reports.
struct TrainingOutcome {
    var epochs: Int
    var testMetrics: ClassificationMetrics?
    var testFiles: Int
    var out: URL

    var summary: String {
        if let m = testMetrics {
            return String(
                format: "test accuracy %.4f  macro-F1 %.4f  (%d files)  model: %@", m.accuracy, m.macroF1, testFiles,
                out.path)
        }
        return "trained \(epochs) epochs  model: \(out.path)"
    }
}

/// One `seqtool train` run: reads the data, builds the pipeline and model, trains with checkpoints, writes the
/// model folder, metrics, report and pictures.
struct TrainingJob {
    static let checkpointName = "checkpoint"
    static let configCopyName = "train-config.json"

    let configPath: String
    let config: JobConfig
    let configBytes: Data
    let out: URL
    let resume: Bool
    let quiet: Bool
    /// The `state_dict` key names of the saved model (default locuslab/TCN's); `seqtool train` checks that the
    /// model can be written in them before the job starts.
    var naming: StateDictNaming = .locuslab

    /// Reads and checks the config; nothing is written yet.
    ///
    /// - Throws: `JobError` naming the config key.
    init(configPath: String, out: URL, resume: Bool, quiet: Bool) throws {
        self.configPath = configPath
        self.config = try JobConfig.load(path: configPath)
        do {
            configBytes = try Data(contentsOf: URL(fileURLWithPath: configPath))
        } catch {
            throw JobError.unreadable(file: configPath, reason: error.localizedDescription)
        }
        self.out = out
        self.resume = resume
        self.quiet = quiet
    }

    private func log(_ message: String) {
        guard !quiet else { return }
        let clear = isatty(STDERR_FILENO) != 0 ? "\r\u{1B}[K" : ""
        printError(clear + message)
    }

    /// The pipeline of the data: input from the first training file, window in samples, resolved features and
    /// the normalisation fitted on the training windows only.
    func makePipeline(_ data: JobData) throws -> ModelPipeline {
        guard let first = data.train.first else {
            throw JobError.badData(source: configPath, reason: "no training data")
        }
        let rate = first.signal.sampleRate
        let input = ModelPipeline.Input(
            kind: config.data.kind == .sensor ? .sensor : .audio, sampleRate: rate, channels: first.signal.channels,
            channelNames: first.signal.channelNames)
        let window: ModelPipeline.Window
        if let spec = config.window {
            window = .init(
                length: spec.length.span.samples(at: rate), hop: spec.hop.span.samples(at: rate),
                boundary: spec.boundary)
        } else {
            let longest = (data.train + data.validation + data.test).map(\.signal.frames).max() ?? 1
            window = .init(length: longest, hop: longest, boundary: "pad-end")
        }
        var features: ModelPipeline.FeatureSpec
        do {
            features = try config.features.resolved(sampleRate: rate)
        } catch let error as JobError {
            throw error.relocated(to: configPath)
        }
        var anomaly: ModelPipeline.Anomaly?
        if let spec = config.anomaly {
            anomaly = .init(mode: spec.mode, horizon: spec.horizon, threshold: nil, channelStd: [])
        }
        var pipeline = ModelPipeline(
            task: config.task, input: input, window: window, features: features,
            normalization: .init(mean: [], std: []), labels: config.task == .classification ? data.labels : nil,
            anomaly: anomaly)
        do {
            _ = try window.frameOptions()
            _ = try pipeline.extractor()
        } catch let error as JobError {
            throw error.relocated(to: configPath)
        }
        let channels = try pipeline.tcnChannels()
        let set = try WindowSet(files: data.train, pipeline: pipeline, labels: data.labels)
        let extractor = try pipeline.extractor()
        let steps = try pipeline.tcnSteps()
        var all: [Float] = []
        all.reserveCapacity(set.count * channels * steps)
        for i in 0..<set.count {
            all += try pipeline.tcnInput(
                window: set.window(i), extractor: extractor, source: set.files[set.fileIndex[i]])
        }
        let tensor = try Tensor(shape: [set.count, channels, steps], data: all)
        pipeline.normalization = .fit([tensor], channels: channels)
        try pipeline.validate(file: configPath)
        return pipeline
    }

    /// The TCN configuration for `pipeline`.
    func modelConfiguration(_ pipeline: ModelPipeline) throws -> TCNConfiguration {
        var backbone = config.model.backbone
        backbone.inputChannels = try pipeline.tcnChannels()
        let head: HeadConfiguration
        switch config.task {
        case .classification:
            head = HeadConfiguration(kind: config.model.head, outputs: pipeline.labels?.count ?? 0, loss: .crossEntropy)
        case .anomaly:
            head = HeadConfiguration(kind: .perStep, outputs: pipeline.input.channels, loss: .mse)
        }
        return TCNConfiguration(backbone: backbone, head: head)
    }

    var target: TargetKind {
        switch config.anomaly?.mode {
        case .forecast?: return .forecast(horizon: config.anomaly?.horizon ?? 1)
        case .reconstruction?: return .reconstruction
        case nil: return .classes
        }
    }

    /// Prepares the output folder: fresh (must not hold files) or, with `--resume`, the same config.
    private func prepareOutput() throws -> Bool {
        let fm = FileManager.default
        let copy = out.appendingPathComponent(Self.configCopyName)
        let contents = (try? fm.contentsOfDirectory(atPath: out.path)) ?? []
        if resume, fm.fileExists(atPath: copy.path) {
            guard (try? Data(contentsOf: copy)) == configBytes else {
                throw JobError.invalidValue(
                    file: configPath, key: "(top level)", value: "changed",
                    reason: "differs from \(copy.path), the config of the run being resumed")
            }
            return fm.fileExists(atPath: out.appendingPathComponent(Self.checkpointName).path)
        }
        guard contents.filter({ !$0.hasPrefix(".") }).isEmpty else {
            throw JobError.invalidValue(
                file: out.path, key: "--out", value: out.path,
                reason: "the folder is not empty; pass --resume to continue its run, or choose another --out")
        }
        do {
            try fm.createDirectory(at: out, withIntermediateDirectories: true)
        } catch {
            throw JobError.unreadable(file: out.path, reason: "cannot create the output folder: \(error)")
        }
        try AtomicFile.write(configBytes, to: copy)
        return false
    }

    func run() throws -> TrainingOutcome {
        let data = try Dataset.load(config)
        let pipeline = try makePipeline(data)
        let modelConfig = try modelConfiguration(pipeline)
        do {
            try modelConfig.validate()
        } catch {
            throw JobError.invalidValue(file: configPath, key: "model", value: "", reason: "\(error)")
        }
        let trainSet = try WindowSet(files: data.train, pipeline: pipeline, labels: data.labels)
        let validationSet = try WindowSet(files: data.validation, pipeline: pipeline, labels: data.labels)
        let testSet = try WindowSet(files: data.test, pipeline: pipeline, labels: data.labels)
        let skipped = trainSet.skippedSegments + validationSet.skippedSegments + testSet.skippedSegments
        if !skipped.isEmpty {
            log(
                "skipped \(skipped.count) segment(s) shorter than one \(pipeline.window.length)-sample window: "
                    + skipped.prefix(5).joined(separator: ", ") + (skipped.count > 5 ? ", …" : ""))
        }
        let dropped = trainSet.droppedAnomalous + validationSet.droppedAnomalous + testSet.droppedAnomalous
        if dropped > 0 {
            log("left out \(dropped) window(s) holding rows labelled anomalous (training on normal data)")
        }
        let epochCounter = EpochCounter()
        let trainSource = try WindowDataSource(
            windows: trainSet, pipeline: pipeline, target: target, augmentation: config.augmentation,
            labelSmoothing: config.training.labelSmoothing, seed: config.seed, epoch: epochCounter)
        let validationSource = try WindowDataSource(windows: validationSet, pipeline: pipeline, target: target)
        log(
            "data: \(data.train.count) training files (\(trainSet.count) windows), \(data.validation.count) validation, "
                + "\(data.test.count) test; TCN input [\(try pipeline.tcnChannels()) × \(try pipeline.tcnSteps())], "
                + "receptive field \(modelConfig.backbone.receptiveField) steps")

        let hasCheckpoint = try prepareOutput()
        let checkpoint = out.appendingPathComponent(Self.checkpointName)
        var trainer: Trainer
        let spec = config.training
        if hasCheckpoint {
            trainer = try Trainer(resumingFrom: checkpoint, optimizer: spec.makeOptimizer())
            trainer.model.receptiveFieldPolicy = .ignore
            log("resuming at epoch \(trainer.state.epoch + 1), batch \(trainer.state.position)")
        } else {
            var model = try TCNModel(configuration: modelConfig, seed: config.seed)
            model.receptiveFieldPolicy = .ignore
            let options = TrainerOptions(
                epochs: spec.epochs, batchSize: spec.batchSize, shuffle: true, seed: config.seed,
                clipNorm: spec.clipNorm, schedule: spec.learningRateSchedule,
                earlyStoppingPatience: validationSet.count > 0 ? spec.earlyStoppingPatience : nil)
            trainer = try Trainer(model: model, optimizer: spec.makeOptimizer(), options: options)
        }
        epochCounter.epoch = trainer.state.epoch
        var records = readRecords().filter { $0.epoch < trainer.state.epoch }
        try writeRecords(records)

        let batches = (trainSet.count + spec.batchSize - 1) / spec.batchSize
        let remaining = (spec.epochs - trainer.state.epoch) * batches - trainer.state.position
        let progress = ProgressReporter(total: max(remaining, 0), label: "batches", quiet: quiet)
        let chunk = max(1, min(spec.checkpointEvery ?? batches, max(1, batches / 10)))
        var epochSeconds = 0.0
        var epochExamples = 0
        var stepsSinceCheckpoint = 0
        while !trainer.isFinished {
            let epochBefore = trainer.state.epoch
            let positionBefore = trainer.state.position
            let steps = min(chunk, batches - positionBefore)
            let started = Date()
            try trainer.fit(
                training: trainSource, validation: validationSet.count > 0 ? validationSource : nil, maxSteps: steps)
            epochSeconds += Date().timeIntervalSince(started)
            epochExamples +=
                min(trainSet.count, (positionBefore + steps) * spec.batchSize) - positionBefore * spec.batchSize
            for _ in 0..<steps { progress.advance() }
            stepsSinceCheckpoint += steps
            if trainer.state.epoch > epochBefore, let metrics = trainer.state.history.last {
                epochCounter.epoch = trainer.state.epoch
                let record = try epochRecord(
                    metrics, trainer: trainer, train: trainSource, validation: validationSource,
                    samplesPerSecond: Double(epochExamples) / max(epochSeconds, 1e-9))
                records.append(record)
                try writeRecords(records)
                log(describe(record))
                epochSeconds = 0
                epochExamples = 0
                try trainer.saveCheckpoint(to: checkpoint)
                stepsSinceCheckpoint = 0
            } else if let every = spec.checkpointEvery, stepsSinceCheckpoint >= every {
                try trainer.saveCheckpoint(to: checkpoint)
                stepsSinceCheckpoint = 0
            }
        }
        return try finish(
            trainer: trainer, pipeline: pipeline, data: data, records: records,
            sets: (trainSet, validationSet, testSet),
            trainSource: trainSource)
    }

    private func epochRecord(
        _ metrics: EpochMetrics, trainer: Trainer, train: WindowDataSource, validation: WindowDataSource,
        samplesPerSecond: Double
    ) throws -> EpochRecord {
        var accuracy: Double?
        if config.task == .classification, validation.count > 0 {
            let p = try ModelPipeline.probabilities(model: trainer.model, source: validation)
            let correct = zip(p, validation.windows.classes).filter { ModelPipeline.argmax($0.0) == $0.1 }.count
            accuracy = Double(correct) / Double(validation.count)
        }
        var model = trainer.model
        var random = TCNRandom(seed: 0)
        let probe = try train.batch(Array(0..<min(train.count, config.training.batchSize)))
        let gradients = try model.lossAndGradients(
            probe.input, targets: probe.targets, lengths: probe.lengths, training: false, random: &random
        ).gradients
        let norm = gradients.values.reduce(0.0) { total, g in g.data.reduce(total) { $0 + Double($1) * Double($1) } }
        return EpochRecord(
            epoch: metrics.epoch + 1, trainLoss: metrics.trainLoss, validationLoss: metrics.validationLoss,
            validationAccuracy: accuracy, learningRate: metrics.learningRate, gradientNorm: Float(norm.squareRoot()),
            samplesPerSecond: samplesPerSecond)
    }

    private func describe(_ r: EpochRecord) -> String {
        var text = String(format: "epoch %d/%d  train loss %.4f", r.epoch, config.training.epochs, r.trainLoss)
        if let v = r.validationLoss { text += String(format: "  val loss %.4f", v) }
        if let a = r.validationAccuracy { text += String(format: "  val acc %.3f", a) }
        text += String(
            format: "  lr %.2g  grad %.3g  %.0f samples/s", r.learningRate, r.gradientNorm, r.samplesPerSecond)
        return text
    }

    private var metricsURL: URL { out.appendingPathComponent("metrics.jsonl") }

    private func readRecords() -> [EpochRecord] {
        guard let text = try? String(contentsOf: metricsURL, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap {
            try? JSONDecoder().decode(EpochRecord.self, from: Data($0.utf8))
        }
    }

    private func writeRecords(_ records: [EpochRecord]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var text = Data()
        for r in records {
            text += try encoder.encode(r)
            text += Data("\n".utf8)
        }
        try AtomicFile.write(text, to: metricsURL, durability: .renameOnly)
    }
}
