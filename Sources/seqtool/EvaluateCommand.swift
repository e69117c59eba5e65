import ArgumentParser
import AudioIO
import Foundation
import TCN

/// `seqtool evaluate MODEL DATA`.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score a trained classifier on labelled data: accuracy, macro-F1, per-class precision/recall.",
        discussion: """
            DATA is a folder of clips labelled by sub-folder name (or by --label-regex on the file name), a UEA \
            .ts file, or the training config (.json) whose test part is then evaluated — the same files `train` \
            held out. Each file's class is the mean of its windows' probabilities. Prints the report and the \
            confusion matrix; --report DIR also writes metrics.json, confusion.svg and, for two classes, \
            pr-curve.svg.
            """)

    @Argument(help: "The model folder written by `seqtool train`.")
    var model: String

    @Argument(help: "A folder of labelled clips, a UEA .ts file, or a training config (.json).")
    var data: String

    @Option(name: .long, help: "Label each file by the first capture group of this regex on its name.")
    var labelRegex: String?

    @Option(name: .long, help: "Write metrics.json, confusion.svg (and pr-curve.svg) into this folder.")
    var report: String?

    func run() throws {
        TCNThreads.releaseIdleBLASThreads()  // the model runs OpenBLAS on one thread
        try withJobExitCodes {
            let folder = URL(fileURLWithPath: model)
            let (pipeline, tcn) = try ModelPipeline.loadModel(folder: folder)
            guard pipeline.task == .classification, let labels = pipeline.labels else {
                throw JobError.badData(source: model, reason: "an anomaly model: use `seqtool detect`")
            }
            let files = try loadFiles()
            for file in files where !labels.contains(file.label ?? "") {
                throw JobError.badData(
                    source: file.path, reason: "class '\(file.label ?? "")' is not one of the model's classes")
            }
            let result = try Self.evaluate(model: tcn, pipeline: pipeline, files: files)
            print(result.metrics.text())
            if let report { try write(result, labels: labels, to: URL(fileURLWithPath: report)) }
        }
    }

    /// The files of DATA with their labels.
    func loadFiles() throws -> [LoadedFile] {
        if data.lowercased().hasSuffix(".json") {
            let config = try JobConfig.load(path: data)
            let split = try Dataset.load(config)
            guard !split.test.isEmpty else {
                throw JobError.badData(source: data, reason: "the config's split leaves no test files")
            }
            return split.test
        }
        if data.lowercased().hasSuffix(".ts") { return try Dataset.loadUEA(data) }
        return try Dataset.loadFolder(data, labels: labelRegex.map { .regex($0) } ?? .folder)
    }

    /// Per-file predictions (mean window probabilities) and the metrics.
    static func evaluate(
        model: TCNModel, pipeline: ModelPipeline, files: [LoadedFile]
    ) throws -> (metrics: ClassificationMetrics, probabilities: [[Float]], truth: [Int]) {
        let labels = pipeline.labels ?? []
        let set = try WindowSet(files: files, pipeline: pipeline, labels: labels)
        let source = try WindowDataSource(windows: set, pipeline: pipeline, target: .classes)
        let windows = try ModelPipeline.probabilities(model: model, source: source)
        let perFile = ModelPipeline.fileProbabilities(windowProbabilities: windows, set: set)
        let metrics = ClassificationMetrics(
            labels: labels, truth: set.fileClasses, predicted: perFile.map(ModelPipeline.argmax))
        return (metrics, perFile, set.fileClasses)
    }

    private func write(
        _ result: (metrics: ClassificationMetrics, probabilities: [[Float]], truth: [Int]), labels: [String],
        to folder: URL
    ) throws {
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw JobError.unreadable(file: folder.path, reason: "cannot create the report folder: \(error)")
        }
        try AtomicFile.write(JobJSON.encode(result.metrics), to: folder.appendingPathComponent("metrics.json"))
        try AtomicFile.write(
            Data(Charts.confusion(result.metrics, title: "confusion matrix").utf8),
            to: folder.appendingPathComponent("confusion.svg"))
        if labels.count == 2 {
            let curve = PrecisionRecallCurve(
                scores: result.probabilities.map { $0[1] }, positives: result.truth.map { $0 == 1 })
            try AtomicFile.write(
                Data(Charts.precisionRecall(curve, title: "PR curve, positive '\(labels[1])'").utf8),
                to: folder.appendingPathComponent("pr-curve.svg"))
        }
    }
}
