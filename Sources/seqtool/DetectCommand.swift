import ArgumentParser
import AudioIO
import Foundation
import TCN

/// `seqtool detect MODEL STREAM`: anomaly scores, flagged intervals and (with labels) SKAB and NAB metrics.
struct Detect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score a sensor stream with an anomaly model; print flagged intervals (start, end, peak score).",
        discussion: """
            MODEL is a folder written by `seqtool train` with task "anomaly" (config.json, weights.safetensors, \
            pipeline.json). STREAM is a sensor CSV file, or - for standard input; it is read row by row and scored \
            step by step (TCN streaming inference), so memory stays bounded whatever its length (with labels, 9 \
            bytes a row are kept for the NAB score).

            Score per step: the model's forecast (or reconstruction) error per channel, in units of that \
            channel's training-error standard deviation, the absolute values averaged over channels (as `seqtool \
            train` calibrates its threshold). A step is flagged when its score exceeds the \
            threshold (--threshold, else the one learned in training); flagged runs closer than --merge-gap form \
            one interval. A gap in the timestamps (> 1.5 periods) restarts the model's context; a stream whose \
            first step is shorter than half the model's period is refused (another rate).

            With --labels (NAB combined_windows.json or a start,end CSV), or a `label` column in the stream \
            (anything but normal, 0, false or empty is anomalous), it reports SKAB's point metrics over every \
            flagged step (F1, false-alarm rate FAR %, missed-alarm rate MAR %) and the NAB standard score with \
            one alarm per interval, at its first row (0 = no detection, 100 = every window flagged at its first \
            row and nothing else; the first 15 % of rows, at most 750, are NAB's unscored probation).
            """
    )

    @Argument(help: "The anomaly model folder.")
    var model: String

    @Argument(help: "The sensor CSV to score, or - for standard input.")
    var stream: String

    @Option(help: "Anomaly windows: NAB combined_windows.json or a start,end CSV (enables the metrics).")
    var labels: String?

    @Option(help: "Score threshold (default: the model's, learned from its training scores).")
    var threshold: Float?

    @Option(help: "Flagged runs separated by at most this many steps or this time join (default: one model window).")
    var mergeGap: TimeSpan?

    @Option(help: "Write the intervals here (.jsonl: JSON lines; otherwise CSV) instead of standard output.")
    var intervals: String?

    @Option(help: "Write the per-step scores here (CSV: time,score,flagged).")
    var scores: String?

    @Option(help: "Write an SVG plot of the score with threshold and labelled intervals here.")
    var plot: String?

    @Option(help: "Write the metrics here as JSON (with --labels or a label column).")
    var metrics: String?

    @Flag(help: "No summary on standard error.")
    var quiet = false

    func validate() throws {
        if let threshold, !threshold.isFinite {
            throw ValidationError("--threshold must be a number, got \(threshold)")
        }
        if let labels, !FileManager.default.fileExists(atPath: labels) {
            throw ValidationError("--labels \(labels): no such file")
        }
        if stream != "-", !FileManager.default.fileExists(atPath: stream) {
            throw ValidationError("\(stream): no such file")
        }
    }

    func run() throws {
        TCNThreads.releaseIdleBLASThreads()  // the model runs OpenBLAS on one thread
        let options = DetectOptions(
            threshold: threshold, mergeGap: mergeGap, labelsPath: labels,
            intervalsPath: intervals, scoresPath: scores, plotPath: plot, metricsPath: metrics)
        let summary = try DetectJob.run(modelFolder: model, stream: stream, options: options) { line in
            print(line)
        }
        if !quiet { printError(summary.description) }
    }
}

/// What `detect` was asked to do.
struct DetectOptions {
    var threshold: Float?
    var mergeGap: TimeSpan?
    var labelsPath: String?
    var intervalsPath: String?
    var scoresPath: String?
    var plotPath: String?
    var metricsPath: String?
}

/// What `detect` found.
struct DetectSummary: CustomStringConvertible {
    var rows = 0
    /// Intervals reported (their lines went out as they closed; only the count is kept: bounded memory).
    var intervals = 0
    var threshold: Float = 0
    var restarts = 0
    /// Steps shorter than 0.99 sample periods (after the first).
    var irregular = 0
    var point: PointMetrics?
    var nab: NABFileScore?
    var nabNormalized: Double?

    var description: String {
        var parts = ["\(rows) rows", "\(intervals) intervals", "threshold \(threshold)"]
        if restarts > 0 { parts.append("\(restarts) gaps (context restarted)") }
        if irregular > 0 { parts.append("\(irregular) short steps") }
        if let point {
            parts.append(
                String(
                    format: "F1 %.3f, FAR %.2f %%, MAR %.2f %%", point.f1, point.falseAlarmRate, point.missedAlarmRate))
        }
        if let nabNormalized { parts.append(String(format: "NAB standard %.1f", nabNormalized)) }
        return parts.joined(separator: ", ")
    }
}

/// The work of `seqtool detect`, callable in process.
enum DetectJob {
    /// Steps pushed through the TCN at once.
    static let chunkSteps = 256

    /// Scores `stream` with the model in `modelFolder`, writing the requested outputs atomically (all or none),
    /// and sends the interval lines to `emit` when no intervals file is given.
    ///
    /// - Throws: `JobError` / `TCNError` for a bad model folder, `DetectError` for a stream the model cannot read
    ///   (missing channels, another rate, a bad row), `AudioIOError` for unreadable labels.
    static func run(
        modelFolder: String, stream path: String, options: DetectOptions, emit: (String) -> Void
    ) throws -> DetectSummary {
        let (pipeline, model) = try ModelPipeline.loadModel(folder: URL(fileURLWithPath: modelFolder))
        guard pipeline.task == .anomaly, let anomaly = pipeline.anomaly else {
            throw DetectError.notAnomalyModel(folder: modelFolder, task: pipeline.task.rawValue)
        }
        guard let threshold = options.threshold ?? anomaly.threshold else {
            throw DetectError.invalidParameter(
                name: "threshold", value: "none", reason: "\(modelFolder) has no learned threshold; give --threshold")
        }
        let rate = pipeline.input.sampleRate
        let mergeGap = options.mergeGap?.samples(at: rate) ?? pipeline.window.length
        var reader = try SensorRowStream(path: path, channels: pipeline.input.channelNames)
        let windows = try labelWindows(options.labelsPath, stream: path)
        var scorer = try StreamingAnomalyScorer(pipeline: pipeline, model: model, folder: modelFolder)
        var tracker = try IntervalTracker(threshold: threshold, mergeGap: mergeGap)
        var summary = DetectSummary()
        summary.threshold = threshold

        let outputs = [options.intervalsPath, options.scoresPath, options.plotPath, options.metricsPath]
        let destinations = outputs.compactMap { $0.map { URL(fileURLWithPath: $0) } }
        try withAtomicOutputs(destinations) { temporaries in
            var temporary = temporaries.makeIterator()
            func next(_ path: String?) -> URL? { path == nil ? nil : temporary.next() }
            let intervalURL = next(options.intervalsPath)
            let scoreURL = next(options.scoresPath)
            let plotURL = next(options.plotPath)
            let metricsURL = next(options.metricsPath)
            let jsonLines = options.intervalsPath?.lowercased().hasSuffix(".jsonl") ?? false
            let intervalFile = try intervalURL.map { try TextSink(url: $0) }
            let scoreFile = try scoreURL.map { try TextSink(url: $0) }
            try scoreFile?.write("time,score,flagged\n")
            if !jsonLines { try intervalFile?.write("start,end,peak_time,peak_score,start_row,end_row\n") }
            if intervalFile == nil, !jsonLines { emit("start,end,peak_time,peak_score,start_row,end_row") }

            var times = TimeBook(rate: rate)
            var plot = ScorePlot()
            var nabTimes: [Double] = []
            var nabFlags: [Bool] = []
            var point = PointMetrics()
            var labelled = false
            var columnWindows: [LabelInterval] = []  // runs of anomalous rows of a label column
            var openRun: LabelInterval?
            func report(_ interval: FlaggedInterval) throws {
                summary.intervals += 1
                let line = times.line(interval, json: jsonLines)
                if let intervalFile { try intervalFile.write(line + "\n") } else { emit(line) }
            }

            var lastFlagged: Int?
            var chunk: [[Float]] = []
            var chunkRows: [SensorRowStream.Row] = []
            func flush() throws {
                guard !chunkRows.isEmpty else { return }
                let channels = pipeline.input.channels
                var planar = [Float](repeating: 0, count: channels * chunk.count)
                for (t, values) in chunk.enumerated() {
                    for c in 0..<channels { planar[c * chunk.count + t] = values[c] }
                }
                let stepScores = try scorer.push(planar, steps: chunk.count)
                for (row, score) in zip(chunkRows, stepScores) {
                    let step = summary.rows
                    let time = times.record(step: step, time: row.time)
                    summary.rows += 1
                    let flagged = score > threshold
                    // An interval starts here when no flagged step lies within the merge gap before it (the
                    // tracker's rule); NAB counts one alarm per reported interval, at its first row.
                    let startsInterval = flagged && lastFlagged.map { step - $0 - 1 > mergeGap } ?? flagged
                    if flagged { lastFlagged = step }
                    try scoreFile?.write("\(times.format(time)),\(score),\(flagged ? 1 : 0)\n")
                    plot.add(time: time, score: score)
                    let truth: Bool?
                    if let windows {
                        truth = windows.contains { $0.contains(time) }
                    } else if let label = row.label {
                        let text = label.trimmingCharacters(in: .whitespaces).lowercased()
                        truth = !["", "normal", "0", "false"].contains(text)
                    } else {
                        truth = nil
                    }
                    if let truth {
                        labelled = true
                        point.add(label: truth, flagged: flagged)
                        nabTimes.append(time)
                        nabFlags.append(startsInterval)
                        if windows == nil {
                            if truth {
                                if openRun == nil { openRun = LabelInterval(start: time, end: time) }
                                openRun?.end = time
                            } else if let run = openRun {
                                columnWindows.append(run)
                                openRun = nil
                            }
                        }
                    }
                    if let closed = tracker.push(step: step, score: score, time: time) { try report(closed) }
                }
                chunk.removeAll(keepingCapacity: true)
                chunkRows.removeAll(keepingCapacity: true)
            }

            var lastTime: Double?
            var sawStep = false
            while let row = try reader.next() {
                if let t = row.time, let previous = lastTime {
                    let step = t - previous
                    if step > 0, step * rate < 0.99 {
                        // The first step tells the stream's rate: at twice the model's or faster, it is another
                        // kind of data; later short steps are jitter or irregular rows (NAB has some), kept.
                        if !sawStep, step * rate < 0.5 {
                            throw DetectError.sampleRate(source: reader.source, found: 1 / step, expected: rate)
                        }
                        summary.irregular += 1
                    }
                    if step > 0 { sawStep = true }
                    if step * rate > 1.5 {
                        try flush()
                        try scorer.reset()
                        summary.restarts += 1
                    }
                }
                lastTime = row.time ?? lastTime
                times.datesInFile = reader.datesInFile
                chunk.append(row.values)
                chunkRows.append(row)
                if chunk.count == chunkSteps { try flush() }
            }
            try flush()
            if let last = tracker.finish() { try report(last) }
            try intervalFile?.close()
            try scoreFile?.close()

            if let run = openRun { columnWindows.append(run) }
            var metricsObject: [String: Any] = ["rows": summary.rows, "threshold": Double(threshold)]
            metricsObject["intervals"] = summary.intervals
            if labelled {
                summary.point = point
                metricsObject["f1"] = point.f1
                metricsObject["far"] = point.falseAlarmRate
                metricsObject["mar"] = point.missedAlarmRate
                do {
                    let nab = try NABScorer.score(
                        timestamps: nabTimes, detections: nabFlags, windows: windows ?? columnWindows)
                    summary.nab = nab
                    summary.nabNormalized = NABScorer.normalized([nab])
                    metricsObject["nabRaw"] = nab.score
                    metricsObject["nabNull"] = nab.nullScore
                    metricsObject["nabWindows"] = nab.windows
                    metricsObject["nabStandard"] = summary.nabNormalized
                } catch let error as NABScoreError {
                    printError("warning: no NAB score: \(error)")
                }
            }
            if let plotURL {
                let svg = plot.svg(
                    threshold: threshold, windows: windows ?? columnWindows, title: "\(reader.source) — anomaly score")
                try Data(svg.utf8).write(to: plotURL)
            }
            if let metricsURL {
                let data = try JSONSerialization.data(
                    withJSONObject: metricsObject.mapValues { value -> Any in
                        if let d = value as? Double, !d.isFinite { return NSNull() }
                        return value
                    }, options: [.prettyPrinted, .sortedKeys])
                try data.write(to: metricsURL)
            }
        }
        return summary
    }

    /// The anomaly windows for `stream` from a NAB JSON (by NAB key, file name, or its only entry) or a CSV.
    static func labelWindows(_ path: String?, stream: String) throws -> [LabelInterval]? {
        guard let path else { return nil }
        guard path.lowercased().hasSuffix(".json") else { return try IntervalLabels.readCSV(path: path) }
        let all = try IntervalLabels.readNABWindows(path: path)
        let keys =
            stream == "-" ? [] : [IntervalLabels.nabKey(forDataFile: stream), (stream as NSString).lastPathComponent]
        if let found = keys.lazy.compactMap({ all[$0] }).first { return found }
        if all.count == 1, let only = all.values.first { return only }
        throw AudioIOError.badEntry(
            path: path, key: keys.first ?? "-",
            reason: "no windows for \(stream) (looked up \(keys.map { "'\($0)'" }.joined(separator: " and ")))")
    }

    /// Runs `body` with one temporary URL per destination and renames each onto its destination only when `body`
    /// returns: on any error no destination is created or changed.
    static func withAtomicOutputs(_ destinations: [URL], _ body: ([URL]) throws -> Void) throws {
        guard let first = destinations.first else { return try body([]) }
        try AtomicFile.write(to: first, durability: .renameOnly) { temporary in
            try withAtomicOutputs(Array(destinations.dropFirst())) { rest in try body([temporary] + rest) }
        }
    }
}
