import Foundation
import TCN

/// `report.md` of a training run: data, split, pipeline, model, the epoch table and the evaluation.
enum Report {
    static func markdown(
        configPath: String, config: JobConfig, pipeline: ModelPipeline, data: JobData, model: TCNConfiguration,
        records: [EpochRecord], evaluated: String, metrics: ClassificationMetrics?, stoppedEarly: Bool
    ) -> String {
        var lines: [String] = ["# Training report", ""]
        lines.append("Config: `\(configPath)` (task \(config.task.rawValue), seed \(config.seed))")
        lines.append("")
        lines.append("## Data")
        lines.append("")
        var split = "split by \(config.split.by.rawValue)"
        if config.split.by == .group {
            let test = Set(data.test.compactMap(\.group)).sorted().joined(separator: ", ")
            let validation = Set(data.validation.compactMap(\.group)).sorted().joined(separator: ", ")
            split += " (`\(config.split.groupRegex ?? "")`): test groups \(test); validation groups \(validation)"
        }
        lines.append("- \(split)")
        lines.append(
            "- \(data.train.count) training, \(data.validation.count) validation, \(data.test.count) test files")
        if !data.labels.isEmpty {
            lines.append("- \(data.labels.count) classes: \(data.labels.joined(separator: ", "))")
        }
        lines.append("")
        lines.append("## Pipeline")
        lines.append("")
        lines.append(
            "- input: \(pipeline.input.kind.rawValue), \(pipeline.input.sampleRate) Hz, \(pipeline.input.channels) channel(s)"
        )
        lines.append(
            "- window: \(pipeline.window.length) samples, hop \(pipeline.window.hop), boundary \(pipeline.window.boundary)"
        )
        var features = "- features: \(pipeline.features.preset)"
        if let f = pipeline.features.frameLength, let h = pipeline.features.hopLength {
            features += " (frame \(f), hop \(h), FFT \(pipeline.features.nFFT ?? f)"
            if let m = pipeline.features.melBands { features += ", \(m) mel bands" }
            if let c = pipeline.features.cepstra { features += ", \(c) cepstra" }
            features += ")"
        }
        lines.append(features)
        lines.append(
            "- TCN: channels \(model.backbone.channels), kernel \(model.backbone.kernelSize), receptive field "
                + "\(model.backbone.receptiveField) steps, head \(model.head.kind.rawValue) → \(model.head.outputs)")
        lines.append("")
        lines.append("## Training")
        lines.append("")
        lines.append(
            "\(records.count) epochs" + (stoppedEarly ? " (stopped early)" : "")
                + ", optimiser \(config.training.optimizer.rawValue), lr \(config.training.learningRate), "
                + "schedule \(config.training.schedule.rawValue), batch \(config.training.batchSize).")
        lines.append("")
        lines.append("| epoch | train loss | val loss | val acc | lr | grad norm | samples/s |")
        lines.append("|---:|---:|---:|---:|---:|---:|---:|")
        for r in records {
            let v = r.validationLoss.map { String(format: "%.4f", $0) } ?? "–"
            let a = r.validationAccuracy.map { String(format: "%.3f", $0) } ?? "–"
            lines.append(
                String(
                    format: "| %d | %.4f | %@ | %@ | %.3g | %.3g | %.0f |", r.epoch, r.trainLoss, v, a, r.learningRate,
                    r.gradientNorm, r.samplesPerSecond))
        }
        lines.append("")
        lines.append("![loss](loss.svg)")
        if records.contains(where: { $0.validationAccuracy != nil }) { lines.append("![accuracy](accuracy.svg)") }
        if let metrics {
            lines.append("")
            lines.append("## Evaluation on the \(evaluated) files")
            lines.append("")
            lines.append("```")
            lines.append(metrics.text())
            lines.append("```")
            lines.append("")
            lines.append("![confusion matrix](confusion.svg)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
