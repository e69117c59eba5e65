import AudioIO
import Foundation
import TCN

extension TrainingJob {
    /// Writes the model folder, the test evaluation, the pictures and the report, then drops the checkpoint.
    func finish(
        trainer: Trainer, pipeline: ModelPipeline, data: JobData, records: [EpochRecord],
        sets: (train: WindowSet, validation: WindowSet, test: WindowSet), trainSource: WindowDataSource
    ) throws -> TrainingOutcome {
        var pipeline = pipeline
        let model = trainer.model
        if config.task == .anomaly, let spec = config.anomaly {
            let clean = try WindowDataSource(windows: sets.train, pipeline: pipeline, target: target)
            pipeline.anomaly = try Self.calibrateAnomaly(
                model: model, source: clean, pipeline: pipeline, quantile: spec.thresholdQuantile)
        }
        try model.save(to: out, naming: naming)
        try pipeline.save(to: out)
        try AtomicFile.write(
            Data(((pipeline.labels ?? []).joined(separator: "\n") + "\n").utf8),
            to: out.appendingPathComponent("labels.txt"))

        var testMetrics: ClassificationMetrics?
        var evaluated = "test"
        var evaluatedFiles = 0
        if config.task == .classification, let labels = pipeline.labels {
            var set = sets.test
            if set.count == 0 {
                set = sets.validation
                evaluated = "validation"
            }
            if set.count > 0 {
                let source = try WindowDataSource(windows: set, pipeline: pipeline, target: .classes)
                let windows = try ModelPipeline.probabilities(model: model, source: source)
                let files = ModelPipeline.fileProbabilities(windowProbabilities: windows, set: set)
                let metrics = ClassificationMetrics(
                    labels: labels, truth: set.fileClasses, predicted: files.map(ModelPipeline.argmax))
                testMetrics = metrics
                evaluatedFiles = set.files.count
                try AtomicFile.write(
                    Data(Charts.confusion(metrics, title: "\(evaluated) confusion matrix").utf8),
                    to: out.appendingPathComponent("confusion.svg"))
                try AtomicFile.write(
                    JobJSON.encode(metrics), to: out.appendingPathComponent("\(evaluated)-metrics.json"))
                if labels.count == 2 {
                    let curve = PrecisionRecallCurve(
                        scores: files.map { $0[1] }, positives: set.fileClasses.map { $0 == 1 })
                    try AtomicFile.write(
                        Data(
                            Charts.precisionRecall(curve, title: "\(evaluated) PR curve, positive '\(labels[1])'").utf8),
                        to: out.appendingPathComponent("pr-curve.svg"))
                }
            }
        }
        let epochs = records.map { Double($0.epoch) }
        try AtomicFile.write(
            Data(
                Charts.lines(
                    title: "loss", xLabel: "epoch", yLabel: "loss", x: epochs,
                    series: [
                        ("training", records.map { Double($0.trainLoss) }),
                        ("validation", records.map { $0.validationLoss.map(Double.init) ?? .nan }),
                    ]
                ).utf8), to: out.appendingPathComponent("loss.svg"))
        if records.contains(where: { $0.validationAccuracy != nil }) {
            try AtomicFile.write(
                Data(
                    Charts.lines(
                        title: "validation accuracy (windows)", xLabel: "epoch", yLabel: "accuracy", x: epochs,
                        series: [("validation", records.map { $0.validationAccuracy ?? .nan })]
                    ).utf8), to: out.appendingPathComponent("accuracy.svg"))
        }
        let report = Report.markdown(
            configPath: configPath, config: config, pipeline: pipeline, data: data, model: model.configuration,
            records: records, evaluated: evaluated, metrics: testMetrics, stoppedEarly: trainer.state.stopped)
        try AtomicFile.write(Data(report.utf8), to: out.appendingPathComponent("report.md"))
        try? FileManager.default.removeItem(at: out.appendingPathComponent(Self.checkpointName))
        return TrainingOutcome(epochs: records.count, testMetrics: testMetrics, testFiles: evaluatedFiles, out: out)
    }

    /// Per channel, the standard deviation of the training error; the score of a step is the mean over channels
    /// of `|error| / std`, and the threshold is the `quantile` of the training scores — computed by
    /// `AnomalyScoring` and `AnomalyThreshold`, the same definitions `seqtool detect` scores with.
    static func calibrateAnomaly(
        model: TCNModel, source: WindowDataSource, pipeline: ModelPipeline, quantile: Double
    ) throws -> ModelPipeline.Anomaly? {
        guard var anomaly = pipeline.anomaly else { return nil }
        let channels = pipeline.input.channels
        var errors: [Float] = []  // [steps, C]
        var lo = 0
        while lo < source.count {
            let hi = min(source.count, lo + 64)
            let batch = try source.batch(Array(lo..<hi))
            let output = try model(batch.input)
            let steps = output.shape[2]
            for b in 0..<(hi - lo) {
                let valid = batch.lengths?[b] ?? steps
                for t in 0..<valid {
                    for c in 0..<channels {
                        let at = (b * channels + c) * steps + t
                        errors.append(output.data[at] - batch.targets.data[at])
                    }
                }
            }
            lo = hi
        }
        let std = AnomalyScoring.channelStd(errors: errors, channels: channels)
        anomaly.channelStd = std
        let scores = AnomalyScoring.scores(errors: errors, channels: channels, channelStd: std)
        if !scores.isEmpty { anomaly.threshold = try AnomalyThreshold.quantile(scores, quantile) }
        return anomaly
    }
}
