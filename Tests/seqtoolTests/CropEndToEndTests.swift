import AudioIO
import Foundation
import TestSupport
import Testing
import Windowing

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

    @Test func cropNpyMatchesTheFramerOnTheSamples() throws {
        let out = try TestPaths.temporaryDirectory("crop-out")
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try runSeqtool([
            "crop", "Samples/digits/seven", "--window", "0.25s", "--overlap", "50%", "--boundary", "center-reflect",
            "--label-from", "folder", "--out", out.path, "--jobs", "2",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("crop: 18 files"))
        let manifest = try String(contentsOf: out.appendingPathComponent("manifest.csv"), encoding: .utf8)
            .split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(manifest[0].joined(separator: ",") == CropJobHeader.expected)
        var checked = 0
        for file in try FileManager.default.contentsOfDirectory(atPath: "Samples/digits/seven").sorted() {
            let signal = try AudioFile.read(path: "Samples/digits/seven/\(file)")
            let options = try FrameOptions(length: 2000, hop: 1000, boundary: .center(.reflect))
            let expected = try Framer(options).frames(of: signal.samples, channels: 1)
            let stem = (file as NSString).deletingPathExtension
            let array = try NPY.read(path: out.appendingPathComponent("arrays/\(stem).npy").path)
            #expect(array.shape == [expected.count, 1, 2000])
            #expect(array.values == expected.samples, "\(file)")
            let rows = manifest.filter { $0[0] == "arrays/\(stem).npy" }
            #expect(rows.count == expected.count)
            #expect(rows.allSatisfy { $0[3] == "seven" })
            #expect(rows.map { Int($0[5]) } == expected.provenance.map(\.firstSample))
            checked += 1
        }
        #expect(checked == 18)
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

    @Test func cropSensorCSVSplitsAtTheGap() throws {
        let out = try TestPaths.temporaryDirectory("crop-out")
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try runSeqtool(["crop", "Samples/sensor/pump.csv", "--window", "10min", "--out", out.path])
        #expect(result.status == 0, "\(result.stderr)")
        let array = try NPY.read(path: out.appendingPathComponent("arrays/pump.npy").path)
        let recording = try SensorCSV.read(
            path: "Samples/sensor/pump.csv", options: SensorCSVOptions(gapPolicy: .split))
        #expect(recording.segments.count == 2)
        let expected = recording.segments.reduce(0) { $0 + $1.signal.frames / 60 }
        #expect(array.shape == [expected, 3, 60])
        let first = recording.segments[0].signal
        #expect(Array(array.values[0..<60]) == Array(first.channel(0)[0..<60]))
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
        let arguments = ["crop", input.path, "--window", "0.2s", "--out", out.path, "--jobs", "1"]

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

    @Test func badArgumentsExit64() throws {
        let result = try runSeqtool(["crop", "Samples/digits", "--out", "/tmp/x", "--overlap", "50%", "--hop", "1s"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--overlap or --hop"))
    }
}

/// The manifest header the tests expect (kept here so a change to the format is a deliberate test change).
enum CropJobHeader {
    static let expected =
        "array,row,source,label,segment,first_sample,start_seconds,center_seconds,pad_left,pad_right,sample_rate"
}
