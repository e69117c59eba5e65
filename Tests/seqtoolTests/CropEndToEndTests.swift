import AudioIO
import Foundation
import TestSupport
import Testing
import Windowing

@testable import seqtool

/// Runs the built binary on `Samples/` and checks exit codes, outputs against the libraries, failures and resume.
@Suite(.serialized) struct CropEndToEndTests {
    @Test func infoDescribesSamples() throws {
        let result = try runSeqtool(["info", "Samples/meeting.flac", "Samples/sensor/pump.csv"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[1].contains("FLAC/PCM_16") && lines[1].contains("16000 Hz") && lines[1].contains("384000"))
        #expect(lines[2].contains("0.1 Hz") && lines[2].contains("1 gap(s), 120 samples missing"))
    }

    @Test func infoFailsOnGarbageNamingTheFile() throws {
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("noise.wav")
        try Data((0..<1000).map { UInt8($0 % 251) }).write(to: bad)
        let result = try runSeqtool(["info", "--json", bad.path, "Samples/digits/one/ava_0.wav"])
        #expect(result.status == 1)
        #expect(result.stdout.contains(bad.path) && result.stdout.contains("\"ok\":false"))
        #expect(result.stdout.contains("\"ok\":true"))
    }

    @Test func cropNpyShardMatchesTheFramerOnTheSamples() throws {
        let out = try TestPaths.temporaryDirectory("crop-out")
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try runSeqtool([
            "crop", "Samples/digits/seven", "--window", "0.25s", "--overlap", "50%", "--boundary", "center-reflect",
            "--label-from", "folder", "--out", out.path, "--jobs", "2",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("crop: 18 files"))
        #expect(filesBelow(out.appendingPathComponent("arrays")) == ["shard-00000.npy"])
        let manifest = try readManifest(out)
        let array = try NPY.read(path: out.appendingPathComponent("arrays/shard-00000.npy").path)
        #expect(array.shape == [manifest.count, 1, 2000])
        let options = try FrameOptions(length: 2000, hop: 1000, boundary: .center(.reflect))
        var nextRow = 0
        for file in try FileManager.default.contentsOfDirectory(atPath: "Samples/digits/seven").sorted() {
            let signal = try AudioFile.read(path: "Samples/digits/seven/\(file)")
            let expected = try Framer(options).frames(of: signal.samples, channels: 1)
            let rows = manifest.filter { $0["source"]?.hasSuffix("/\(file)") == true }
            #expect(rows.count == expected.count, "\(file)")
            for (w, row) in rows.enumerated() {
                #expect(row["array"] == "arrays/shard-00000.npy" && row["label"] == "seven")
                #expect(Int(row["row"] ?? "") == nextRow, "rows follow input order")
                #expect(Int(row["first_sample"] ?? "") == expected.provenance[w].firstSample)
                let stored = array.values[(nextRow * 2000)..<((nextRow + 1) * 2000)]
                #expect(Array(stored) == Array(expected.window(w, channel: 0)), "\(file) window \(w)")
                nextRow += 1
            }
        }
        #expect(nextRow == manifest.count)
    }

    @Test func cropWavClipsEqualTheWindows() throws {
        let out = try TestPaths.temporaryDirectory("crop-out")
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try runSeqtool([
            "crop", "Samples/meeting.flac", "--window", "2s", "--hop", "1.5s", "--format", "wav", "--out", out.path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let clips = filesBelow(out.appendingPathComponent("clips/meeting"))
        #expect(clips.count == 1 + (384_000 - 32_000) / 24_000)
        let signal = try AudioFile.read(path: "Samples/meeting.flac")
        let third = try AudioFile.read(path: out.appendingPathComponent("clips/meeting/000002.wav").path)
        #expect(third.channels == 2 && third.frames == 32_000)
        for c in 0..<2 {
            #expect(
                Array(third.channel(c)) == Array(signal.channel(c)[(c * 384_000 + 48_000)..<(c * 384_000 + 80_000)]))
        }
    }

    @Test func cropSensorCSVSplitsAtTheGapAndLabelsWindows() throws {
        let out = try TestPaths.temporaryDirectory("crop-out")
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try runSeqtool([
            "crop", "Samples/sensor/pump.csv", "--window", "10min", "--label-reduce", "any", "--files-per-shard", "1",
            "--out", out.path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let array = try NPY.read(path: out.appendingPathComponent("arrays/pump.npy").path)
        let recording = try SensorCSV.read(
            path: "Samples/sensor/pump.csv", options: SensorCSVOptions(gapPolicy: .split))
        #expect(recording.segments.count == 2)
        let expected = recording.segments.reduce(0) { $0 + $1.signal.frames / 60 }
        #expect(array.shape == [expected, 3, 60])
        let first = recording.segments[0].signal
        #expect(Array(array.values[0..<60]) == Array(first.channel(0)[0..<60]))
        // `any` over the file's label column: a window is "anomaly" iff one of its rows is.
        let manifest = try readManifest(out)
        let labels = try #require(recording.labels)
        for row in manifest {
            let segment = recording.segments[Int(row["segment"] ?? "") ?? 0]
            let start = segment.range.lowerBound + (Int(row["first_sample"] ?? "") ?? 0)
            let truth = labels[start..<(start + 60)].contains("anomaly") ? "anomaly" : "normal"
            #expect(row["label"] == truth, "window at row \(start)")
        }
        #expect(manifest.contains { $0["label"] == "anomaly" } && manifest.contains { $0["label"] == "normal" })
        #expect(manifest.contains { $0["segment"] == "1" })
    }

    @Test func sensorWindowsTakeLabelsFromAnIntervalFile() throws {
        let out = try TestPaths.temporaryDirectory("crop-out")
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try runSeqtool([
            "crop", "Samples/sensor/pump.csv", "--window", "5min", "--label-intervals",
            "Samples/sensor/pump_windows.json", "--label-reduce", "fraction:0.5", "--out", out.path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let recording = try SensorCSV.read(
            path: "Samples/sensor/pump.csv", options: SensorCSVOptions(gapPolicy: .split))
        let intervals = try #require(
            try IntervalLabels.readNABWindows(path: "Samples/sensor/pump_windows.json")["pump.csv"])
        let times = try #require(recording.timestamps)
        for row in try readManifest(out) {
            let segment = recording.segments[Int(row["segment"] ?? "") ?? 0]
            let start = segment.range.lowerBound + (Int(row["first_sample"] ?? "") ?? 0)
            let inside = times[start..<(start + 30)].filter { t in intervals.contains { $0.contains(t) } }.count
            #expect(row["label"] == (inside * 2 >= 30 ? "anomaly" : "normal"), "window at row \(start)")
        }
        let missing = try runSeqtool(
            [
                "crop", "Samples/sensor/pump.csv", "--window", "5min", "--label-intervals",
                "Samples/sensor/pump_windows.json", "--out", out.path, "--force",
            ].map { $0 == "Samples/sensor/pump.csv" ? "Samples/meeting.flac" : $0 })
        #expect(missing.status == 0, "audio files ignore sensor intervals: \(missing.stderr)")
        let other = out.appendingPathComponent("other.csv")
        try FileManager.default.copyItem(atPath: "Samples/sensor/pump.csv", toPath: other.path)
        let unknown = try runSeqtool([
            "crop", other.path, "--window", "5min", "--label-intervals", "Samples/sensor/pump_windows.json",
            "--out", out.appendingPathComponent("o2").path,
        ])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("pump_windows.json") && unknown.stderr.contains("no intervals for"))
    }

    @Test func failureLeavesNoPartialFileAndResumeCompletesOnlyWhatIsMissing() throws {
        let input = try copyDigits(["four"])
        let out = try TestPaths.temporaryDirectory("crop-out")
        defer {
            try? FileManager.default.removeItem(at: input)
            try? FileManager.default.removeItem(at: out)
        }
        // A WAV cut in half: libsndfile would read it silently; crop must refuse it.
        let good = try Data(contentsOf: input.appendingPathComponent("four/ava_0.wav"))
        let cut = input.appendingPathComponent("four/zz_cut.wav")
        try good.prefix(good.count / 2).write(to: cut)
        let arguments = [
            "crop", input.path, "--window", "0.2s", "--out", out.path, "--jobs", "1", "--files-per-shard", "1",
        ]

        let failed = try runSeqtool(arguments)
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("zz_cut.wav") && failed.stderr.contains("truncated"))
        let afterFailure = filesBelow(out)
        #expect(!afterFailure.contains { $0.contains("zz_cut") }, "partial output: \(afterFailure)")
        #expect(!afterFailure.contains { $0.contains(".tmp") }, "temporary file left: \(afterFailure)")
        #expect(!afterFailure.contains("manifest.csv"))
        #expect(afterFailure.filter { $0.hasSuffix(".npy") }.count == 18)

        // Resume after the bad file is removed: the 18 finished arrays are kept as they are.
        let before =
            try FileManager.default.attributesOfItem(
                atPath: out.appendingPathComponent("arrays/four__ava_0.npy").path)[.modificationDate] as? Date
        try FileManager.default.removeItem(at: cut)
        let resumed = try runSeqtool(arguments)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("18 already done"))
        let after =
            try FileManager.default.attributesOfItem(
                atPath: out.appendingPathComponent("arrays/four__ava_0.npy").path)[.modificationDate] as? Date
        #expect(before == after)
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("manifest.csv").path))
    }

    @Test func noSyncWritesTheSameOutputsAndSyncFlushesNewFolders() throws {
        let base = try TestPaths.temporaryDirectory("crop-out")
        defer { try? FileManager.default.removeItem(at: base) }
        let synced = base.appendingPathComponent("synced/a/b")
        let unsynced = base.appendingPathComponent("unsynced")
        // The folders a synced run must flush besides its own: the ones it creates, and the one holding them.
        #expect(
            CropJob.missingAncestors(of: synced).map(\.path)
                == [synced, synced.deletingLastPathComponent(), base.appendingPathComponent("synced"), base].map(\.path)
        )
        #expect(CropJob.missingAncestors(of: base).isEmpty)
        let common = [
            "crop", "Samples/digits/two", "--window", "0.25s", "--overlap", "50%", "--files-per-shard", "5", "--jobs",
            "2",
        ]
        let first = try runSeqtool(common + ["--out", synced.path])
        #expect(first.status == 0, "\(first.stderr)")
        let second = try runSeqtool(common + ["--out", unsynced.path, "--no-sync"])
        #expect(second.status == 0, "\(second.stderr)")
        let files = filesBelow(synced)
        #expect(files.filter { $0.hasPrefix("arrays/") }.count == 4)
        #expect(files == filesBelow(unsynced))
        for file in files {
            #expect(
                try Data(contentsOf: synced.appendingPathComponent(file))
                    == Data(contentsOf: unsynced.appendingPathComponent(file)), "\(file)")
        }
    }

    @Test func skipReportsBadFilesAndGoesOn() throws {
        let input = try copyDigits(["five"])
        let out = try TestPaths.temporaryDirectory("crop-out")
        defer {
            try? FileManager.default.removeItem(at: input)
            try? FileManager.default.removeItem(at: out)
        }
        try Data().write(to: input.appendingPathComponent("five/empty.wav"))
        let result = try runSeqtool(["crop", input.path, "--window", "0.2s", "--on-error", "skip", "--out", out.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("skipped") && result.stderr.contains("empty.wav"))
        #expect(result.stderr.contains("1 failed"))
        let manifest = try String(contentsOf: out.appendingPathComponent("manifest.csv"), encoding: .utf8)
        #expect(!manifest.contains("empty.wav"))
    }

    @Test func aFileFailingHalfWayIsRolledBackOutOfItsShard() throws {
        let input = try TestPaths.temporaryDirectory("crop-in")
        let out = try TestPaths.temporaryDirectory("crop-out")
        defer {
            try? FileManager.default.removeItem(at: input)
            try? FileManager.default.removeItem(at: out)
        }
        // A FLAC cut in half is only found out when decoding reaches the cut, after its first windows were
        // appended to the shard: they must not stay there.
        let meeting = try AudioFile.read(path: "Samples/meeting.flac")
        let flac = input.appendingPathComponent("b_cut.flac")
        try AudioFile.write(meeting, to: flac.path)
        let bytes = try Data(contentsOf: flac)
        try bytes.prefix(bytes.count / 2).write(to: flac)
        let clip = try AudioFile.read(path: "Samples/digits/nine/ava_0.wav")
        let upsampled = try Signal(
            samples: clip.samples.flatMap { [$0, $0] } + clip.samples.flatMap { [$0, $0] }, channels: 2,
            sampleRate: 16000)
        for name in ["a.wav", "c.wav"] { try AudioFile.write(upsampled, to: input.appendingPathComponent(name).path) }

        let result = try runSeqtool([
            "crop", input.path, "--window", "0.1s", "--on-error", "skip", "--out", out.path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("skipped") && result.stderr.contains("b_cut.flac"))
        let manifest = try readManifest(out)
        #expect(!manifest.contains { $0["source"]?.contains("b_cut") == true })
        let perFile = upsampled.frames / 1600
        #expect(manifest.count == 2 * perFile)
        #expect(manifest.map { Int($0["row"] ?? "") } == Array(0..<(2 * perFile)))
        let array = try NPY.read(path: out.appendingPathComponent("arrays/shard-00000.npy").path)
        #expect(array.shape == [2 * perFile, 2, 1600])
        let written = try AudioFile.read(path: input.appendingPathComponent("c.wav").path)
        let expected = try Framer(FrameOptions(length: 1600, hop: 1600)).frames(of: written.samples, channels: 2)
        #expect(Array(array.values[(perFile * 3200)...]) == expected.samples, "c.wav follows a.wav directly")
    }

    @Test func allowTruncatedWarnsAboutACutFLACFoundOnlyAtItsEnd() throws {
        let dir = try TestPaths.temporaryDirectory("crop-in")
        defer { try? FileManager.default.removeItem(at: dir) }
        let bytes = try Data(contentsOf: TestPaths.packageRoot.appendingPathComponent("Samples/meeting.flac"))
        let cut = dir.appendingPathComponent("cut.flac")
        try bytes.prefix(bytes.count / 2).write(to: cut)
        let out = dir.appendingPathComponent("out")
        let refused = try runSeqtool(["crop", cut.path, "--window", "1s", "--out", out.path])
        #expect(refused.status == 1 && refused.stderr.contains("truncated"))
        let accepted = try runSeqtool(["crop", cut.path, "--window", "1s", "--allow-truncated", "--out", out.path])
        #expect(accepted.status == 0, "\(accepted.stderr)")
        #expect(accepted.stderr.contains("warning:") && accepted.stderr.contains("truncated"), "\(accepted.stderr)")
    }

    @Test func badArgumentsExit64() throws {
        let result = try runSeqtool(["crop", "Samples/digits", "--out", "/tmp/x", "--overlap", "50%", "--hop", "1s"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--overlap or --hop"))
    }
}

/// `manifest.csv` as one dictionary per window, keyed by the header's column names.
func readManifest(_ out: URL) throws -> [[String: String]] {
    let lines = try String(contentsOf: out.appendingPathComponent("manifest.csv"), encoding: .utf8)
        .split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    #expect(lines.first?.joined(separator: ",") == CropJobHeader.expected)
    return lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(lines[0], $0)) }
}

/// The manifest header the tests expect (kept here so a change to the format is a deliberate test change).
enum CropJobHeader {
    static let expected =
        "array,row,source,label,segment,first_sample,start_seconds,center_seconds,pad_left,pad_right,sample_rate"
}
