import AudioIO
import Foundation
import TCN
import TestSupport
import Testing

@testable import seqtool

/// `seqtool train`, `evaluate` and `predict` run as the built binary on copies of `Samples/digits` with a tiny TCN.
@Suite(.serialized) struct TrainEndToEndTests {
    /// Two digit classes (36 clips) and a config over them in a fresh folder.
    func setUp(epochs: Int = 3) throws -> (root: URL, config: String) {
        let root = try copyDigits(["one", "two"])
        let config = try writeJSON(tinyConfig(folder: root, epochs: epochs), to: root)
        return (root, config)
    }

    @Test func trainWritesTheModelFolderReportAndPictures() throws {
        let (root, config) = try setUp()
        let out = root.appendingPathComponent("model")
        let result = try runSeqtool(["train", "--config", config, "--out", out.path, "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.isEmpty)
        #expect(result.stdout.hasPrefix("test accuracy "))
        let files = Set(filesBelow(out))
        for name in [
            "config.json", "weights.safetensors", "pipeline.json", "labels.txt", "metrics.jsonl", "report.md",
            "loss.svg", "accuracy.svg", "confusion.svg", "pr-curve.svg", "test-metrics.json", "train-config.json",
        ] {
            #expect(files.contains(name), "missing \(name)")
        }
        #expect(!files.contains { $0.hasPrefix("checkpoint/") }, "the checkpoint is removed after a finished run")
        let lines = try String(contentsOf: out.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            .split(separator: "\n")
        #expect(lines.count == 3)
        let first = try JSONDecoder().decode(EpochRecord.self, from: Data(lines[0].utf8))
        #expect(first.epoch == 1 && first.validationLoss != nil && first.validationAccuracy != nil)
        #expect(first.gradientNorm > 0 && first.samplesPerSecond > 0)
        let pipeline = try ModelPipeline.load(folder: out)
        #expect(pipeline.labels == ["one", "two"])
        #expect(pipeline.normalization.mean.count == 12)

        // evaluate on the config's held-out files reproduces train's test accuracy.
        let evaluation = try runSeqtool([
            "evaluate", out.path, config, "--report", root.appendingPathComponent("ev").path,
        ])
        #expect(evaluation.status == 0, "\(evaluation.stderr)")
        let trainAccuracy = result.stdout.split(separator: " ")[2]
        #expect(evaluation.stdout.hasPrefix("accuracy \(trainAccuracy)"))
        #expect(filesBelow(root.appendingPathComponent("ev")) == ["confusion.svg", "metrics.json", "pr-curve.svg"])

        // predict: one row per file with probabilities summing to 1.
        let clip = root.appendingPathComponent("one/ava_0.wav").path
        let csv = try runSeqtool(["predict", out.path, clip, root.appendingPathComponent("two/ben_1.wav").path])
        #expect(csv.status == 0, "\(csv.stderr)")
        let rows = csv.stdout.split(separator: "\n")
        #expect(rows.first == "file,window,start_s,end_s,class,one,two")
        #expect(rows.count == 3)
        let cells = rows[1].split(separator: ",")
        #expect(cells[1] == "all")
        let sum = (Float(cells[5]) ?? 0) + (Float(cells[6]) ?? 0)
        #expect(abs(sum - 1) < 1e-4)
        let jsonl = try runSeqtool(["predict", "--format", "jsonl", out.path, clip])
        let object = try JSONSerialization.jsonObject(with: Data(jsonl.stdout.utf8)) as? [String: Any]
        #expect(object?["file"] as? String == clip)
        #expect((object?["probabilities"] as? [String: Double])?.count == 2)
    }

    /// `--state-dict-naming pytorch-tcn` writes pytorch-tcn's keys, which `evaluate` reads back; a config whose
    /// skip connections pytorch-tcn cannot express is refused before anything is written.
    @Test func trainSavesInPytorchTCNNaming() throws {
        let (root, config) = try setUp(epochs: 1)
        let out = root.appendingPathComponent("model")
        let result = try runSeqtool([
            "train", "--config", config, "--out", out.path, "--quiet", "--state-dict-naming", "pytorch-tcn",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let keys = try SafeTensors.read(out.appendingPathComponent("weights.safetensors")).tensors.keys
        #expect(StateDictNaming.detect(keys) == .pytorchTCN)
        let evaluation = try runSeqtool(["evaluate", out.path, root.appendingPathComponent("one").path])
        #expect(evaluation.status == 0, "\(evaluation.stderr)")

        var object = tinyConfig(folder: root, epochs: 1)
        object["model"] = ["channels": [6, 6], "kernelSize": 3, "skipConnections": true]
        let skips = try writeJSON(object, to: root, name: "skips.json")
        let refused = root.appendingPathComponent("refused")
        let failed = try runSeqtool([
            "train", "--config", skips, "--out", refused.path, "--quiet", "--state-dict-naming", "pytorch-tcn",
        ])
        #expect(failed.status == 64)
        #expect(failed.stderr.contains("residualBranch"), "\(failed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: refused.path))
    }

    @Test func predictGivesOneRowPerWindowForLongFiles() throws {
        let (root, config) = try setUp(epochs: 1)
        let out = root.appendingPathComponent("model")
        #expect(try runSeqtool(["train", "--config", config, "--out", out.path, "--quiet"]).status == 0)
        // Three clips back to back: 0.7 s windows, pad-end → ceil(n / 5600) windows.
        var samples: [Float] = []
        for name in ["one/ava_0.wav", "two/ben_1.wav", "one/cal_2.wav"] {
            samples += try AudioFile.read(path: root.appendingPathComponent(name).path).samples
        }
        let long = root.appendingPathComponent("long.wav").path
        try AudioFile.write(try Signal(samples: samples, channels: 1, sampleRate: 8000), to: long)
        let windows = (samples.count + 5599) / 5600
        let csv = try runSeqtool(["predict", out.path, long])
        #expect(csv.status == 0, "\(csv.stderr)")
        let rows = csv.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: ",") }
        #expect(rows.count == 1 + windows)
        #expect(rows.first?[1] == "all")
        #expect(rows.dropFirst().map { String($0[1]) } == (0..<windows).map(String.init))
        #expect(rows.last.map { String($0[2]) } == String(format: "%.3f", Double((windows - 1) * 5600) / 8000))
        // The file's probabilities are the mean of its windows'.
        let p = rows.dropFirst().map { Double($0[5]) ?? .nan }
        #expect(abs((Double(rows[0][5]) ?? 0) - p.reduce(0, +) / Double(p.count)) < 1e-5)
        let jsonl = try runSeqtool(["predict", "--format", "jsonl", out.path, long])
        let object = try JSONSerialization.jsonObject(with: Data(jsonl.stdout.utf8)) as? [String: Any]
        #expect((object?["windows"] as? [Any])?.count == windows)
    }

    @Test func trainsOnTheWindowsOfACropManifest() throws {
        let (root, _) = try setUp()
        let crops = root.appendingPathComponent("crops")
        let crop = try runSeqtool([
            "crop", root.appendingPathComponent("one").path, root.appendingPathComponent("two").path, "--window",
            "0.3s", "--overlap", "50%", "--boundary", "pad-end", "--label-from", "folder", "--out", crops.path,
            "--quiet",
        ])
        #expect(crop.status == 0, "\(crop.stderr)")
        var object = tinyConfig(folder: root)
        object["data"] = ["kind": "manifest", "path": crops.appendingPathComponent("manifest.csv").path]
        object.removeValue(forKey: "window")
        let config = try decodeConfig(object)
        let data = try Dataset.load(config)
        // Every window of a clip is on one side only.
        let sides = [data.train, data.validation, data.test].map { Set($0.compactMap(\.group)) }
        #expect(sides[0].isDisjoint(with: sides[1]) && sides[0].isDisjoint(with: sides[2]))
        #expect(sides[1].isDisjoint(with: sides[2]))
        #expect(data.train.allSatisfy { $0.signal.frames == 2400 })
        let out = root.appendingPathComponent("model")
        let result = try runSeqtool([
            "train", "--config", try writeJSON(object, to: root), "--out", out.path, "--quiet",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try ModelPipeline.load(folder: out).window == .init(length: 2400, hop: 2400, boundary: "pad-end"))
        #expect(Dataset.parseCSVLine("a,\"b,\"\"c\"\"\",,d") == ["a", "b,\"c\"", "", "d"])
    }

    @Test func killedRunResumesToTheSameWeights() throws {
        let (root, config) = try setUp(epochs: 6)
        let straight = root.appendingPathComponent("straight")
        let first = try runSeqtool(["train", "--config", config, "--out", straight.path, "--quiet"])
        #expect(first.status == 0, "\(first.stderr)")

        let killed = root.appendingPathComponent("killed")
        let process = Process()
        process.executableURL = seqtoolBinary
        process.arguments = ["train", "--config", config, "--out", killed.path, "--quiet"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let checkpoint = killed.appendingPathComponent("checkpoint/trainer.json")
        while process.isRunning, !FileManager.default.fileExists(atPath: checkpoint.path) { usleep(2000) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal, "the run finished before it could be killed")
        #expect(!FileManager.default.fileExists(atPath: killed.appendingPathComponent("pipeline.json").path))

        let resumed = try runSeqtool(["train", "--config", config, "--out", killed.path, "--resume", "--quiet"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let a = try Data(contentsOf: straight.appendingPathComponent("weights.safetensors"))
        let b = try Data(contentsOf: killed.appendingPathComponent("weights.safetensors"))
        #expect(a == b)
        #expect(resumed.stdout.split(separator: " ").prefix(3) == first.stdout.split(separator: " ").prefix(3))
        func losses(_ folder: URL) throws -> [Float] {
            try String(contentsOf: folder.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
                .split(separator: "\n").map {
                    try JSONDecoder().decode(EpochRecord.self, from: Data($0.utf8)).trainLoss
                }
        }
        #expect(try losses(straight) == losses(killed))
    }

    @Test func configErrorsExit64AndWriteNothing() throws {
        let root = try copyDigits(["one", "two"])
        let out = root.appendingPathComponent("model")
        var object = tinyConfig(folder: root)
        object["trainig"] = ["epochs": 1]
        var result = try runSeqtool(["train", "--config", try writeJSON(object, to: root), "--out", out.path])
        #expect(result.status == 64)
        #expect(result.stderr.contains("unknown key 'trainig'"))
        object = tinyConfig(folder: root)
        object["split"] = ["testFraction": "half"]
        result = try runSeqtool(["train", "--config", try writeJSON(object, to: root), "--out", out.path])
        #expect(result.status == 64)
        #expect(result.stderr.contains("'split.testFraction' must be a number"))
        object = tinyConfig(folder: root)
        object["split"] = ["by": "given"]
        result = try runSeqtool(["train", "--config", try writeJSON(object, to: root), "--out", out.path])
        #expect(result.status == 64)
        #expect(result.stderr.contains("'split.by'"))
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    @Test func badDataExits1NamingTheFolderOrFile() throws {
        let root = try TestPaths.temporaryDirectory("train-bad")
        let out = root.appendingPathComponent("model")
        // No labelled audio at all.
        let empty = root.appendingPathComponent("empty/none")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: empty.appendingPathComponent("notes.txt"))
        var result = try runSeqtool([
            "train", "--config",
            try writeJSON(tinyConfig(folder: root.appendingPathComponent("empty")), to: root), "--out", out.path,
        ])
        #expect(result.status == 1)
        #expect(result.stderr.contains("empty") && result.stderr.contains("no audio files"))
        // A single class.
        let one = try copyDigits(["one"])
        result = try runSeqtool([
            "train", "--config", try writeJSON(tinyConfig(folder: one), to: root), "--out", out.path,
        ])
        #expect(result.status == 1)
        #expect(result.stderr.contains("only one class (one)"))
        // An unreadable clip.
        let broken = try copyDigits(["one", "two"])
        let bad = broken.appendingPathComponent("two/zz_bad.wav")
        try Data("RIFF garbage".utf8).write(to: bad)
        result = try runSeqtool([
            "train", "--config", try writeJSON(tinyConfig(folder: broken), to: root), "--out", out.path,
        ])
        #expect(result.status == 1)
        #expect(result.stderr.contains("zz_bad.wav"))
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    @Test func damagedModelFolderIsNamed() throws {
        let (root, config) = try setUp(epochs: 1)
        let out = root.appendingPathComponent("model")
        #expect(try runSeqtool(["train", "--config", config, "--out", out.path, "--quiet"]).status == 0)
        let clip = root.appendingPathComponent("one/ava_0.wav").path
        let weights = out.appendingPathComponent("weights.safetensors")
        let saved = try Data(contentsOf: weights)
        try saved.prefix(saved.count / 2).write(to: weights)
        var result = try runSeqtool(["predict", out.path, clip])
        #expect(result.status != 0)
        #expect(result.stderr.contains("weights.safetensors"))
        #expect(result.stdout.isEmpty)
        try FileManager.default.removeItem(at: weights)
        result = try runSeqtool(["evaluate", out.path, config])
        #expect(result.status == 1)
        #expect(result.stderr.contains("has no weights.safetensors"))
        try saved.write(to: weights)
        try Data("{\"version\": 1, \"task\": \"classification\"}".utf8).write(
            to: out.appendingPathComponent("pipeline.json"))
        result = try runSeqtool(["predict", out.path, clip])
        #expect(result.status == 64)
        #expect(result.stderr.contains("pipeline.json") && result.stderr.contains("missing key 'input'"))
        // A running --out folder is never overwritten without --resume.
        result = try runSeqtool(["train", "--config", config, "--out", out.path])
        #expect(result.status == 64)
        #expect(result.stderr.contains("not empty"))
    }
}
