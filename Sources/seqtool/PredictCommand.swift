import ArgumentParser
import AudioIO
import Foundation
import TCN

/// `seqtool predict MODEL INPUT...`.
struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify files with a trained model: the class and probabilities per file (and per window).",
        discussion: """
            Each INPUT is a file, a folder (searched recursively) or a glob. A file's class is the mean of its \
            windows' probabilities; files longer than one window also get one row per window with its start and \
            end in seconds. --format csv (default) writes a header `file,window,start_s,end_s,class,<p per class>`, \
            where window is `all` for the file row; --format jsonl writes one object per file with a `windows` \
            array. Nothing is printed unless every file could be read.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case csv
        case jsonl
    }

    @Argument(help: "The model folder written by `seqtool train`.")
    var model: String

    @Argument(help: "Audio files, folders or globs.")
    var inputs: [String]

    @Option(name: .long, help: "csv or jsonl.")
    var format: Format = .csv

    /// One prediction: a whole file or one window of it.
    struct Row: Encodable {
        var file: String
        var window: Int?
        var start: Double
        var end: Double
        var label: String
        var probabilities: [Float]
    }

    func run() throws {
        TCNThreads.releaseIdleBLASThreads()  // the model runs OpenBLAS on one thread
        try withJobExitCodes {
            let (pipeline, tcn) = try ModelPipeline.loadModel(folder: URL(fileURLWithPath: model))
            guard pipeline.task == .classification, let labels = pipeline.labels else {
                throw JobError.badData(source: model, reason: "an anomaly model: use `seqtool detect`")
            }
            let files: [InputFile]
            do {
                files = try InputExpander.expand(inputs, labels: .none)
            } catch let error as InputError {
                throw JobError.badData(source: inputs.joined(separator: " "), reason: "\(error)")
            }
            var results: [(file: Row, windows: [Row])] = []
            for file in files {
                results.append(try Self.predict(file.path, model: tcn, pipeline: pipeline))
            }
            print(
                format == .csv ? Self.csv(results, labels: labels) : Self.jsonLines(results, labels: labels),
                terminator: "")
        }
    }

    /// The file's prediction and, for more than one window, each window's.
    ///
    /// - Throws: `JobError.badData` naming the file.
    static func predict(_ path: String, model: TCNModel, pipeline: ModelPipeline) throws -> (file: Row, windows: [Row])
    {
        let signal: Signal
        do {
            signal = try AudioFile.read(path: path)
        } catch {
            throw JobError.badData(source: path, reason: "unreadable: \(error)")
        }
        let labels = pipeline.labels ?? []
        let prepared = try pipeline.prepare(signal, source: path)
        let source = try InMemoryDataSource(
            inputs: prepared.input, targets: Tensor(zeros: [prepared.input.shape[0]]),
            lengths: pipeline.validSteps(prepared.provenance))
        let probabilities = try ModelPipeline.probabilities(model: model, source: source)
        let k = labels.count
        var mean = [Float](repeating: 0, count: k)
        for p in probabilities { for c in 0..<k { mean[c] += p[c] / Float(probabilities.count) } }
        let rate = pipeline.input.sampleRate
        let fileRow = Row(
            file: path, window: nil, start: 0, end: signal.duration, label: labels[ModelPipeline.argmax(mean)],
            probabilities: mean)
        guard probabilities.count > 1 else { return (fileRow, []) }
        let windows = zip(prepared.provenance, probabilities).map { w, p in
            Row(
                file: path, window: w.index, start: Double(w.firstSample) / rate,
                end: Double(w.firstSample + w.length) / rate, label: labels[ModelPipeline.argmax(p)], probabilities: p)
        }
        return (fileRow, windows)
    }

    /// CSV with a header; file names with a comma or quote are quoted.
    static func csv(_ results: [(file: Row, windows: [Row])], labels: [String]) -> String {
        func field(_ s: String) -> String {
            s.contains(where: { ",\"\n".contains($0) })
                ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        var lines = ["file,window,start_s,end_s,class," + labels.map(field).joined(separator: ",")]
        for (file, windows) in results {
            for row in [file] + windows {
                lines.append(
                    [
                        field(row.file), row.window.map(String.init) ?? "all", String(format: "%.3f", row.start),
                        String(format: "%.3f", row.end), field(row.label),
                    ].joined(separator: ",") + ","
                        + row.probabilities.map { String(format: "%.6f", $0) }.joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One JSON object per file: `{"file", "class", "probabilities": {label: p}, "windows": [...]}`.
    static func jsonLines(_ results: [(file: Row, windows: [Row])], labels: [String]) -> String {
        func object(_ row: Row) -> [String: Any] {
            var o: [String: Any] = [
                "class": row.label,
                "probabilities": Dictionary(uniqueKeysWithValues: zip(labels, row.probabilities.map(Double.init))),
                "start": row.start, "end": row.end,
            ]
            if let w = row.window { o["window"] = w } else { o["file"] = row.file }
            return o
        }
        var text = ""
        for (file, windows) in results {
            var o = object(file)
            if !windows.isEmpty { o["windows"] = windows.map(object) }
            if let data = try? JSONSerialization.data(
                withJSONObject: o, options: [.sortedKeys, .withoutEscapingSlashes])
            {
                text += String(decoding: data, as: UTF8.self) + "\n"
            }
        }
        return text
    }
}
