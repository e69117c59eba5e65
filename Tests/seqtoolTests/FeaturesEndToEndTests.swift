import AudioIO
import Foundation
import Spectral
import TestSupport
import Testing

@testable import seqtool

/// Runs the built binary's `features` command on `Samples/` and checks every output element against
/// `FeatureExtractor` on the same file, the shapes, `features.json`, exit codes, failures and resume.
@Suite(.serialized) struct FeaturesEndToEndTests {
    @Test(arguments: ["librosa", "kaldi-mfcc", "whisper", "psf"])
    func filesEqualTheExtractor(preset: String) throws {
        let out = try TestPaths.temporaryDirectory("features-out")
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try runSeqtool([
            "features", "Samples/digits/seven", "Samples/meeting.flac", "--preset", preset, "--out", out.path,
            "--jobs", "2",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("features: 19 files"), "\(result.stderr)")
        let options = try #require(FeaturePreset(rawValue: preset)).options
        let sources =
            try FileManager.default.contentsOfDirectory(atPath: "Samples/digits/seven").sorted()
            .map { "Samples/digits/seven/\($0)" } + ["Samples/meeting.flac"]
        let names = sources.map { (($0 as NSString).lastPathComponent as NSString).deletingPathExtension + ".npy" }
        #expect(filesBelow(out) == (names + ["features.json"]).sorted())
        var shapes: [String: [Int]] = [:]
        for (source, name) in zip(sources, names) {
            let signal = try AudioFile.read(path: source)
            var fileOptions = options
            fileOptions.sampleRate = signal.sampleRate
            let expected = try FeatureExtractor(options: fileOptions)(signal)
            let array = try NPY.read(path: out.appendingPathComponent(name).path)
            let shape = signal.channels == 1 ? [expected.frames, options.dims] : [2, expected.frames, options.dims]
            #expect(array.shape == shape, "\(source)")
            assertClose(array.values, expected.values, rtol: blasRtol, atol: blasAtol, "\(source)")
            shapes[name] = shape
        }
        let document = try readDocument(out)
        #expect(document["status"] as? String == "complete")
        #expect(document["preset"] as? String == preset)
        let recorded = try #require(document["options"] as? [String: Any])
        #expect(recorded["dims"] as? Int == options.dims)
        #expect(recorded["hop_length"] as? Int == options.hopLength)
        #expect(recorded["n_fft"] as? Int == options.nFFT)
        #expect(recorded["n_mels"] as? Int == options.mel?.bands)
        #expect(recorded["n_mfcc"] as? Int == options.cepstrum?.count)
        let outputs = try #require(document["outputs"] as? [[String: Any]])
        #expect(outputs.count == 19)
        for output in outputs {
            let name = try #require(output["output"] as? String)
            #expect(output["shape"] as? [Int] == shapes[name], "\(name)")
        }
        let meeting = try #require(outputs.last)
        #expect(meeting["channels"] as? Int == 2 && meeting["sample_rate"] as? Double == 16000)
        #expect(meeting["source"] as? String == "Samples/meeting.flac" && meeting["seconds"] as? Double == 24)
    }

    @Test func sizeFlagsReachTheExtractor() throws {
        let out = try TestPaths.temporaryDirectory("features-out")
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try runSeqtool([
            "features", "Samples/digits/one/ava_0.wav", "--preset", "librosa-mfcc", "--n-fft", "512", "--win-length",
            "400", "--hop", "128", "--n-mels", "40", "--n-mfcc", "13", "--fmax", "3800", "--out", out.path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        var options = FeatureOptions.librosaMFCC
        options.sampleRate = 8000
        options.frameLength = 512
        options.nFFT = 512
        options.windowLength = 400
        options.hopLength = 128
        options.mel?.bands = 40
        options.mel?.maxHz = 3800
        options.cepstrum?.count = 13
        let expected = try FeatureExtractor(options: options)(try AudioFile.read(path: "Samples/digits/one/ava_0.wav"))
        let array = try NPY.read(path: out.appendingPathComponent("ava_0.npy").path)
        #expect(array.shape == [expected.frames, 13])
        assertClose(array.values, expected.values, rtol: blasRtol, atol: blasAtol)
    }

    @Test func filesShorterThanOneFrameGiveEmptyFrameAxes() throws {
        let input = try TestPaths.temporaryDirectory("features-in")
        let out = try TestPaths.temporaryDirectory("features-out")
        defer {
            try? FileManager.default.removeItem(at: input)
            try? FileManager.default.removeItem(at: out)
        }
        let clips: [(name: String, channels: Int, frames: Int)] = [
            ("one", 1, 1), ("short", 1, 399), ("stereo", 2, 100),
        ]
        for clip in clips {
            let samples = (0..<(clip.channels * clip.frames)).map { Float($0 % 7) / 10 }
            try AudioFile.write(
                try Signal(samples: samples, channels: clip.channels, sampleRate: 16000),
                to: input.appendingPathComponent(clip.name + ".wav").path, sampleFormat: .float32)
        }
        // Kaldi frames are valid-only (400 samples): none of these files holds one.
        let result = try runSeqtool(["features", input.path, "--preset", "kaldi", "--out", out.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try NPY.read(path: out.appendingPathComponent("one.npy").path).shape == [0, 23])
        #expect(try NPY.read(path: out.appendingPathComponent("short.npy").path).shape == [0, 23])
        #expect(try NPY.read(path: out.appendingPathComponent("stereo.npy").path).shape == [2, 0, 23])
        // Centred frames exist for any length: librosa gives 1 + n / 512 frames.
        let centred = try runSeqtool(["features", input.path, "--preset", "librosa", "--out", out.path])
        #expect(centred.status == 0, "\(centred.stderr)")
        #expect(try NPY.read(path: out.appendingPathComponent("one.npy").path).shape == [1, 128])
        #expect(try NPY.read(path: out.appendingPathComponent("stereo.npy").path).shape == [2, 1, 128])
    }

    @Test func badPresetExits64() throws {
        let result = try runSeqtool(["features", "Samples/digits/one", "--preset", "mfcc", "--out", "/tmp/never"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("unknown --preset 'mfcc'") && result.stderr.contains("kaldi-streaming"))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/never"))
        let hop = try runSeqtool(["features", "Samples/digits/one", "--preset", "kaldi", "--hop", "0", "--out", "x"])
        #expect(hop.status == 64 && hop.stderr.contains("--hop must be ≥ 1"))
    }

    @Test func brokenAudioExits1WithoutPartialOutput() throws {
        let input = try copyDigits(["one"])
        let out = try TestPaths.temporaryDirectory("features-out")
        defer {
            try? FileManager.default.removeItem(at: input)
            try? FileManager.default.removeItem(at: out)
        }
        // A header-only WAV cut in half (libsndfile opens it and returns fewer frames) and plain garbage.
        let wav = try Data(contentsOf: input.appendingPathComponent("one/ava_0.wav"))
        try wav.prefix(wav.count / 2).write(to: input.appendingPathComponent("one/ava_0.wav"))
        try Data((0..<1000).map { UInt8($0 % 251) }).write(to: input.appendingPathComponent("one/zzz.wav"))
        for broken in ["one/ava_0.wav", "one/zzz.wav"] {
            let result = try runSeqtool([
                "features", input.appendingPathComponent(broken).path, "--preset", "kaldi", "--out", out.path,
            ])
            #expect(result.status == 1, "\(broken): \(result.stderr)")
            #expect(result.stderr.contains(broken), "\(result.stderr)")
            #expect(filesBelow(out) == ["features.json"], "no partial or temporary array for \(broken)")
        }
        let skip = try runSeqtool([
            "features", input.path, "--preset", "kaldi", "--out", out.path, "--on-error", "skip",
        ])
        #expect(skip.status == 0, "\(skip.stderr)")
        #expect(skip.stderr.contains("skipped") && skip.stderr.contains("2 failed"), "\(skip.stderr)")
        #expect(filesBelow(out).count == 17 + 1)
        let failed = try #require(try readDocument(out)["failed"] as? [[String: Any]])
        #expect(
            failed.compactMap { $0["source"] as? String }.map { ($0 as NSString).lastPathComponent } == [
                "ava_0.wav", "zzz.wav",
            ])
    }

    @Test func runtimeSpectralErrorsExit1WithTheLibraryMessage() throws {
        let out = try TestPaths.temporaryDirectory("features-out")
        defer { try? FileManager.default.removeItem(at: out) }
        let empty = try runSeqtool([
            "features", "Samples/digits/one/ava_0.wav", "--preset", "librosa", "--n-fft", "64", "--out", out.path,
        ])
        #expect(empty.status == 1)
        #expect(empty.stderr.contains("mel band 0 of 128") && empty.stderr.contains("ava_0.wav"), "\(empty.stderr)")
        let rate = try runSeqtool([
            "features", "Samples/digits/one/ava_0.wav", "--preset", "kaldi", "--sample-rate", "16000", "--out",
            out.path,
        ])
        #expect(rate.status == 1 && rate.stderr.contains("sample rate 8000 Hz, but --sample-rate is 16000 Hz"))
        #expect(filesBelow(out) == ["features.json"])
        let matching = try runSeqtool([
            "features", "Samples/digits/one/ava_0.wav", "--preset", "kaldi", "--sample-rate", "8000", "--out",
            out.path,
        ])
        #expect(matching.status == 0 && filesBelow(out) == ["ava_0.npy", "features.json"], "\(matching.stderr)")
        let recorded = try #require(try readDocument(out)["options"] as? [String: Any])
        #expect(recorded["sample_rate"] as? Double == 8000)
    }

    @Test func resumeKeepsFinishedOutputs() throws {
        let out = try TestPaths.temporaryDirectory("features-out")
        defer { try? FileManager.default.removeItem(at: out) }
        let arguments = ["features", "Samples/digits/two", "--preset", "kaldi-streaming", "--out", out.path]
        #expect(try runSeqtool(arguments).status == 0)
        let before = try fileNumbers(out)
        #expect(before.count == 19)
        try FileManager.default.removeItem(at: out.appendingPathComponent("ben_1.npy"))
        let resumed = try runSeqtool(arguments)
        #expect(resumed.status == 0)
        #expect(resumed.stderr.contains("18 files, ") && resumed.stderr.contains("17 already done"))
        let after = try fileNumbers(out)
        for (name, number) in before where name.hasSuffix(".npy") && name != "ben_1.npy" {
            #expect(after[name] == number, "\(name) was rewritten")
        }
        let outputs = try #require(try readDocument(out)["outputs"] as? [[String: Any]])
        #expect(outputs.count == 18 && outputs.allSatisfy { ($0["shape"] as? [Int])?.last == 80 })
        // Other options, or --force, recompute every output.
        let changed = try runSeqtool(arguments + ["--hop", "80"])
        #expect(changed.status == 0 && changed.stderr.contains("recomputing every output"))
        #expect(!changed.stderr.contains("already done"))
        let recomputed = try fileNumbers(out)
        #expect(after.keys.filter { $0.hasSuffix(".npy") }.allSatisfy { recomputed[$0] != after[$0] })
        let forced = try runSeqtool(arguments + ["--hop", "80", "--force"])
        #expect(forced.status == 0 && !forced.stderr.contains("already done"))
        let last = try fileNumbers(out)
        #expect(after.keys.filter { $0.hasSuffix(".npy") }.allSatisfy { last[$0] != recomputed[$0] })
    }

    @Test func fromCropComputesEachWindowOnItsOwn() throws {
        let crop = try TestPaths.temporaryDirectory("crop-out")
        let out = try TestPaths.temporaryDirectory("features-out")
        defer {
            try? FileManager.default.removeItem(at: crop)
            try? FileManager.default.removeItem(at: out)
        }
        let cropped = try runSeqtool([
            "crop", "Samples/digits/seven", "Samples/digits/eight", "--window", "0.25s", "--overlap", "50%",
            "--boundary", "center-reflect", "--out", crop.path, "--files-per-shard", "20", "--quiet",
        ])
        #expect(cropped.status == 0, "\(cropped.stderr)")
        let result = try runSeqtool([
            "features", "--from-crop", crop.appendingPathComponent("manifest.csv").path, "--preset", "kaldi", "--out",
            out.path, "--jobs", "2",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("features: 2 arrays"), "\(result.stderr)")
        #expect(filesBelow(out) == ["features.json", "shard-00000.npy", "shard-00001.npy"])
        var options = FeatureOptions.kaldi
        options.sampleRate = 8000
        let extractor = try FeatureExtractor(options: options)
        for shard in ["shard-00000.npy", "shard-00001.npy"] {
            let windows = try NPY.read(path: crop.appendingPathComponent("arrays/\(shard)").path)
            let features = try NPY.read(path: out.appendingPathComponent(shard).path)
            // 2000-sample windows, 400-sample frames every 160: 1 + (2000 − 400) / 160 = 11 frames.
            #expect(features.shape == [windows.shape[0], 11, 23])
            var expected: [Float] = []
            for w in 0..<windows.shape[0] {
                expected += try extractor.features(
                    samples: Array(windows.values[(w * 2000)..<((w + 1) * 2000)]), channels: 1
                ).values
            }
            assertClose(features.values, expected, rtol: blasRtol, atol: blasAtol, shard)
        }
        let document = try readDocument(out)
        #expect(document["mode"] as? String == "crop")
        #expect((document["crop_manifest"] as? String)?.hasSuffix("manifest.csv") == true)
        let outputs = try #require(document["outputs"] as? [[String: Any]])
        #expect(outputs.map { $0["windows"] as? Int } == outputs.map { ($0["shape"] as? [Int])?.first })
        let again = try runSeqtool([
            "features", "--from-crop", crop.path, "--preset", "kaldi", "--out", out.path,
        ])
        #expect(again.status == 0 && again.stderr.contains("2 already done"), "\(again.stderr)")
        // 2000-sample windows hold no 4000-sample Kaldi frame: [windows, 0, 23].
        let tooShort = try runSeqtool([
            "features", "--from-crop", crop.path, "--preset", "kaldi", "--win-length", "4000", "--out", out.path,
        ])
        #expect(tooShort.status == 0, "\(tooShort.stderr)")
        let windows = try NPY.readHeader(path: crop.appendingPathComponent("arrays/shard-00000.npy").path).shape[0]
        #expect(try NPY.read(path: out.appendingPathComponent("shard-00000.npy").path).shape == [windows, 0, 23])
    }

    @Test func fromCropFailsOnANaNWindowNamingItsRow() throws {
        let crop = try TestPaths.temporaryDirectory("crop-out")
        let out = try TestPaths.temporaryDirectory("features-out")
        defer {
            try? FileManager.default.removeItem(at: crop)
            try? FileManager.default.removeItem(at: out)
        }
        try FileManager.default.createDirectory(
            at: crop.appendingPathComponent("arrays"), withIntermediateDirectories: true)
        var values = (0..<(3 * 800)).map { Float($0 % 13) / 13 }
        values[800 + 17] = .nan
        try NPY.write(
            try NPYArray(shape: [3, 1, 800], values: values),
            to: crop.appendingPathComponent("arrays/s.npy").path)
        let rows = (0..<3).map { "arrays/s.npy,\($0),x.wav,,0,\($0 * 800),0,0,0,0,8000" }
        try Data(([CropJob.manifestHeader] + rows).joined(separator: "\n").utf8).write(
            to: crop.appendingPathComponent("manifest.csv"))
        let failed = try runSeqtool(["features", "--from-crop", crop.path, "--preset", "kaldi", "--out", out.path])
        #expect(failed.status == 1)
        #expect(
            failed.stderr.contains("row 1") && failed.stderr.contains("invalid input value nan"), "\(failed.stderr)")
        #expect(filesBelow(out) == ["features.json"])
        let skipped = try runSeqtool([
            "features", "--from-crop", crop.path, "--preset", "kaldi", "--out", out.path, "--on-error", "skip",
        ])
        #expect(skipped.status == 0 && skipped.stderr.contains("1 failed"), "\(skipped.stderr)")
        #expect(filesBelow(out) == ["features.json"])
    }

    @Test func fromCropKeepsChannelsOfMultichannelWindows() throws {
        let crop = try TestPaths.temporaryDirectory("crop-out")
        let out = try TestPaths.temporaryDirectory("features-out")
        defer {
            try? FileManager.default.removeItem(at: crop)
            try? FileManager.default.removeItem(at: out)
        }
        #expect(
            try runSeqtool([
                "crop", "Samples/meeting.flac", "--window", "2s", "--out", crop.path, "--files-per-shard", "1",
                "--quiet",
            ]).status == 0)
        let result = try runSeqtool([
            "features", "--from-crop", crop.path, "--preset", "whisper", "--out", out.path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let windows = try NPY.read(path: crop.appendingPathComponent("arrays/meeting.npy").path)
        let features = try NPY.read(path: out.appendingPathComponent("meeting.npy").path)
        // Whisper: 1 + 32000 / 160 centred frames, the last dropped.
        #expect(features.shape == [12, 2, 200, 80] && windows.shape == [12, 2, 32000])
        let extractor = try FeatureExtractor(options: .whisper)
        let last = try extractor.features(samples: Array(windows.values[(11 * 64000)...]), channels: 2)
        assertClose(features.values[(11 * 2 * 200 * 80)...], last.values, rtol: blasRtol, atol: blasAtol)
    }
}

/// The binary and `FeatureExtractor` in this process run the same code, but OpenBLAS splits `sgemm` (mel bank, DCT)
/// by the threads it may use (the TCN tests switch this test process to one BLAS thread while the binary keeps its
/// own, and OPENBLAS_NUM_THREADS=1 vs 2 changes 59 of 192,256 values of meeting.flac by ≤ 7.6e-6): values agree to
/// float32 rounding of the projection, not bit for bit.
private let blasRtol = 1e-5
private let blasAtol = 1e-4

/// `features.json` of an output folder as a dictionary.
private func readDocument(_ out: URL) throws -> [String: Any] {
    let data = try Data(contentsOf: out.appendingPathComponent("features.json"))
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}

/// File name → inode: a file renamed into place again gets a new one.
private func fileNumbers(_ folder: URL) throws -> [String: Int] {
    var numbers: [String: Int] = [:]
    for name in filesBelow(folder) {
        let attributes = try FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent(name).path)
        numbers[name] = (attributes[.systemFileNumber] as? NSNumber)?.intValue ?? -1
    }
    return numbers
}
