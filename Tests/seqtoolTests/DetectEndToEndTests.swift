import AudioIO
import Foundation
import TestSupport
import Testing

@testable import seqtool

/// Runs the built binary with `input` on its standard input.
private func runSeqtool(_ arguments: [String], input: Data) throws -> RunResult {
    let process = Process()
    process.executableURL = seqtoolBinary
    process.arguments = arguments
    process.currentDirectoryURL = TestPaths.packageRoot
    let (stdin, out, err) = (Pipe(), Pipe(), Pipe())
    process.standardInput = stdin
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let writer = Thread {
        stdin.fileHandleForWriting.write(input)
        try? stdin.fileHandleForWriting.close()
    }
    writer.start()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return RunResult(
        status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self))
}

/// A model trained once per test run by `seqtool train` on `Samples/configs/sensor-anomaly.json` (pump.csv).
private let pumpModel: Result<URL, any Error> = Result {
    let folder = try TestPaths.temporaryDirectory("detect-model").appendingPathComponent("model")
    let result = try runSeqtool([
        "train", "--config", "Samples/configs/sensor-anomaly.json", "--out", folder.path, "--quiet",
    ])
    guard result.status == 0 else { throw JobError.badData(source: "seqtool train", reason: result.stderr) }
    return folder
}

private let pumpCSV = TestPaths.packageRoot.appendingPathComponent("Samples/sensor/pump.csv")
private let pumpWindows = TestPaths.packageRoot.appendingPathComponent("Samples/sensor/pump_windows.json")

@Suite(.serialized) struct DetectEndToEndTests {
    @Test func pumpAnomaliesAreFlaggedWithMetricsScoresAndPlot() throws {
        let model = try pumpModel.get()
        let out = try TestPaths.temporaryDirectory("detect-out")
        let (intervals, scores, plot, metrics) = (
            out.appendingPathComponent("intervals.csv"), out.appendingPathComponent("scores.csv"),
            out.appendingPathComponent("plot.svg"), out.appendingPathComponent("metrics.json")
        )
        let result = try runSeqtool([
            "detect", model.path, pumpCSV.path, "--labels", pumpWindows.path, "--intervals", intervals.path,
            "--scores", scores.path, "--plot", plot.path, "--metrics", metrics.path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.isEmpty, "intervals go to the file")
        #expect(result.stderr.contains("NAB standard"))

        // Every labelled window has an interval starting inside it.
        let windows = try #require(try IntervalLabels.readNABWindows(path: pumpWindows.path)["pump.csv"])
        let lines = try String(contentsOf: intervals, encoding: .utf8).split(separator: "\n")
        #expect(lines.first == "start,end,peak_time,peak_score,start_row,end_row")
        let starts = lines.dropFirst().compactMap { SensorTimestamp.parse(String($0.split(separator: ",")[0])) }
        #expect(starts.count == lines.count - 1 && !starts.isEmpty)
        for window in windows {
            #expect(starts.contains { window.contains($0) }, "no interval starts in \(window)")
        }

        // One score per row, flagged exactly when above the threshold in the metrics.
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: metrics)) as? [String: Any])
        let threshold = try #require(object["threshold"] as? Double)
        let rows = try String(contentsOf: scores, encoding: .utf8).split(separator: "\n").dropFirst()
        #expect(rows.count == 2041)
        for row in rows {
            let fields = row.split(separator: ",")
            let score = try #require(Float(fields[1]))
            #expect((fields[2] == "1") == (score > Float(threshold)), "\(row)")
        }
        let nab = try #require(object["nabStandard"] as? Double)
        #expect(nab > 50 && nab <= 100, "NAB \(nab)")
        for key in ["f1", "far", "mar", "nabRaw", "nabNull"] { #expect(object[key] is Double, "\(key)") }
        #expect(object["nabNull"] as? Double == -2, "two windows, none in probation")

        let svg = try String(contentsOf: plot, encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("<polyline"))
        #expect(svg.contains("stroke=\"\(ScorePlot.thresholdStroke)\""))
        #expect(svg.components(separatedBy: "fill=\"\(ScorePlot.labelFill)\"").count - 1 == 2, "one band per window")
    }

    @Test func standardInputGivesTheSameIntervalsAsTheFile() throws {
        let model = try pumpModel.get()
        let fromFile = try runSeqtool(["detect", model.path, pumpCSV.path, "--quiet"])
        let fromStdin = try runSeqtool(["detect", model.path, "-", "--quiet"], input: Data(contentsOf: pumpCSV))
        #expect(fromFile.status == 0 && fromStdin.status == 0, "\(fromFile.stderr) \(fromStdin.stderr)")
        #expect(fromFile.stdout == fromStdin.stdout)
        #expect(fromFile.stdout.split(separator: "\n").count >= 3)
    }

    @Test func aStreamWithOtherChannelsFailsNamingThemAndWritesNothing() throws {
        let model = try pumpModel.get()
        let out = try TestPaths.temporaryDirectory("detect-bad")
        let csv = "timestamp,temperature,pressure\n2026-03-02 08:00:00,41.0,1.2\n2026-03-02 08:00:10,41.1,1.3\n"
        let result = try runSeqtool(
            [
                "detect", model.path, "-", "--intervals", out.appendingPathComponent("i.csv").path, "--scores",
                out.appendingPathComponent("s.csv").path,
            ], input: Data(csv.utf8))
        #expect(result.status != 0)
        #expect(result.stderr.contains("'vibration_x'") && result.stderr.contains("'vibration_y'"), "\(result.stderr)")
        #expect(filesBelow(out).isEmpty, "left \(filesBelow(out))")
    }

    @Test func theNABScoreCountsOneAlarmPerIntervalAtItsFirstRow() throws {
        let model = try pumpModel.get()
        let out = try TestPaths.temporaryDirectory("detect-nab")
        var options = DetectOptions()
        options.labelsPath = pumpWindows.path
        options.scoresPath = out.appendingPathComponent("scores.csv").path
        let summary = try DetectJob.run(modelFolder: model.path, stream: pumpCSV.path, options: options) { _ in }
        let rows = try String(contentsOfFile: try #require(options.scoresPath), encoding: .utf8)
            .split(separator: "\n").dropFirst().map { $0.split(separator: ",") }
        let times = try rows.map { try #require(SensorTimestamp.parse(String($0[0]))) }
        let scores = try rows.map { try #require(Float($0[1])) }
        let pipeline = try ModelPipeline.load(folder: model)
        let intervals = try IntervalTracker.intervals(
            scores: scores, threshold: summary.threshold, mergeGap: pipeline.window.length)
        #expect(intervals.count == summary.intervals)
        let starts = Set(intervals.map(\.start))
        let windows = try #require(try IntervalLabels.readNABWindows(path: pumpWindows.path)["pump.csv"])
        let expected = try NABScorer.score(
            timestamps: times, detections: times.indices.map { starts.contains($0) }, windows: windows)
        let nab = try #require(summary.nab)
        #expect(nab == expected)
        #expect(summary.nabNormalized == NABScorer.normalized([expected]))
    }

    @Test func csvLabelsEqualTheNABJSONAndIntervalsCanBeJSONLines() throws {
        let model = try pumpModel.get()
        let out = try TestPaths.temporaryDirectory("detect-csv")
        let csv = out.appendingPathComponent("windows.csv")
        try Data(
            "start,end\n2026-03-02 10:30:00,2026-03-02 10:50:00\n2026-03-02 13:05:00,2026-03-02 13:15:00\n".utf8
        ).write(to: csv)
        var fromJSON = DetectOptions()
        fromJSON.labelsPath = pumpWindows.path
        var fromCSV = DetectOptions()
        fromCSV.labelsPath = csv.path
        fromCSV.intervalsPath = out.appendingPathComponent("intervals.jsonl").path
        let a = try DetectJob.run(modelFolder: model.path, stream: pumpCSV.path, options: fromJSON) { _ in }
        let b = try DetectJob.run(modelFolder: model.path, stream: pumpCSV.path, options: fromCSV) { _ in }
        #expect(a.nab == b.nab && a.point == b.point)
        let lines = try String(contentsOfFile: try #require(fromCSV.intervalsPath), encoding: .utf8)
            .split(separator: "\n")
        #expect(lines.count == b.intervals)
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(Set(object.keys) == ["start", "end", "peakTime", "peakScore", "startRow", "endRow"])
        }
    }

    @Test func aStreamAtAnotherRateIsRefused() throws {
        let model = try pumpModel.get()
        let csv = "timestamp,temperature,vibration_x,vibration_y\n0,41,0.8,0.6\n1,41,0.8,0.6\n2,41,0.8,0.6\n"
        let result = try runSeqtool(["detect", model.path, "-"], input: Data(csv.utf8))
        #expect(result.status != 0)
        #expect(result.stderr.contains("sample rate 1.0 Hz") && result.stderr.contains("0.1 Hz"), "\(result.stderr)")
    }

    @Test func theLabelColumnGivesMetricsAndAHugeThresholdFlagsNothing() throws {
        let model = try pumpModel.get()
        var options = DetectOptions()
        options.threshold = 1e9
        var lines: [String] = []
        let summary = try DetectJob.run(modelFolder: model.path, stream: pumpCSV.path, options: options) {
            lines.append($0)
        }
        #expect(summary.rows == 2041)
        #expect(summary.intervals == 0 && lines == ["start,end,peak_time,peak_score,start_row,end_row"])
        let point = try #require(summary.point, "pump.csv's label column gives labels")
        #expect(point.truePositives + point.falseNegatives == 182)  // rows labelled "anomaly"
        #expect(point.missedAlarmRate == 100 && point.falseAlarmRate == 0)
        #expect(summary.nabNormalized == 0, "no detection scores as the null detector")
    }

    @Test func aClassificationModelOrAMissingThresholdIsRefused() throws {
        let model = try pumpModel.get()
        let copy = try TestPaths.temporaryDirectory("detect-copy").appendingPathComponent("model")
        try FileManager.default.copyItem(at: model, to: copy)
        var pipeline = try ModelPipeline.load(folder: copy)
        pipeline.anomaly?.threshold = nil
        try pipeline.save(to: copy)
        #expect(throws: DetectError.self) {
            try DetectJob.run(modelFolder: copy.path, stream: pumpCSV.path, options: DetectOptions()) { _ in }
        }
        var given = DetectOptions()
        given.threshold = 2
        let summary = try DetectJob.run(modelFolder: copy.path, stream: pumpCSV.path, options: given) { _ in }
        #expect(summary.threshold == 2)
    }
}

@Suite struct SensorRowStreamTests {
    func write(_ text: String) throws -> String {
        let url = try TestPaths.temporaryDirectory("rows").appendingPathComponent("s.csv")
        try Data(text.utf8).write(to: url)
        return url.path
    }

    @Test func readsDelimitersLineEndingsAndPicksChannelsByName() throws {
        let path = try write("time;b;a;label\r\n1.5;2;3;x\r\n\r\n2.5;4;5;normal")
        var stream = try SensorRowStream(path: path, channels: ["a", "b"])
        let first = try #require(try stream.next())
        #expect(first.time == 1.5)
        #expect(first.values == [3, 2])
        #expect(first.label == "x")
        #expect(first.line == 2)
        let second = try #require(try stream.next())
        #expect(second.values == [5, 4] && second.line == 4)
        #expect(try stream.next() == nil)
        #expect(!stream.datesInFile)
    }

    @Test func badRowsNameTheirLine() throws {
        var missing = try SensorRowStream(path: try write("t,a\n1,2\n2,\n"), channels: ["a"])
        _ = try missing.next()
        let error = #expect(throws: DetectError.self) { try missing.next() }
        guard case .badRow(_, let line, let reason)? = error else {
            Issue.record("expected badRow, got \(String(describing: error))")
            return
        }
        #expect(line == 3 && reason.contains("'a'"), "\(reason)")
        var short = try SensorRowStream(path: try write("t,a\n1\n"), channels: ["a"])
        #expect(throws: DetectError.self) { try short.next() }
        #expect(throws: DetectError.self) { try SensorRowStream(path: try write("t,a\n"), channels: ["b"]) }
        #expect(throws: AudioIOError.self) { try SensorRowStream(path: try write(""), channels: ["a"]) }
    }

    @Test func withoutTimestampsTimesComeFromTheRate() throws {
        var stream = try SensorRowStream(path: try write("a\n1\n2\n"), channels: ["a"])
        #expect(try stream.next()?.time == nil)
        let book = TimeBook(rate: 4)
        #expect(book.record(step: 2, time: nil) == 0.5)
        var dates = TimeBook(rate: 1)
        dates.datesInFile = true
        #expect(dates.format(1_772_438_400) == "2026-03-02 08:00:00")
        #expect(dates.format(1_772_438_400.25) == "2026-03-02 08:00:00.250000")
    }

    @Test func scorePlotKeepsBoundedBucketsAndTheirMaxima() {
        var plot = ScorePlot(capacity: 8)
        for i in 0..<1000 { plot.add(time: Double(i), score: i == 503 ? 99 : 1) }
        #expect(plot.buckets.count <= 16)
        #expect(plot.buckets.map(\.score).max() == 99, "a one-step spike survives decimation")
        #expect(plot.buckets.first?.start == 0 && plot.buckets.last?.end == 999)
    }
}
