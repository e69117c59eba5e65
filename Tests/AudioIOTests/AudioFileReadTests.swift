import AudioIO
import Foundation
import TestSupport
import Testing

/// Reading every fixture soundfile wrote must give soundfile's samples and info.
struct AudioFileReadTests {
    static let fixtures = [
        "sine_pcm16.wav", "sine_float.wav", "sine_pcm24_wavex.wav", "sine_pcm16_rf64.wav", "sine_pcm24.flac",
        "sine_pcm16.aiff", "sine_pcm16.w64", "sine_pcm16.au", "sine_vorbis.ogg", "sine_opus.ogg",
    ]

    @Test(arguments: fixtures)
    func infoMatchesSoundfile(name: String) throws {
        let expected = try #require(try AudioFixtures.infoTable()[name])
        let info = try AudioFile.info(path: AudioFixtures.path(name))
        #expect(info.format == expected["format"]?.string)
        #expect(info.subtype == expected["subtype"]?.string)
        #expect(info.sampleRate == expected["sampleRate"]?.int)
        #expect(info.channels == expected["channels"]?.int)
        #expect(info.frames == expected["frames"]?.int)
        #expect(info.declaredFrames == nil)
        #expect(!info.isTruncated)
        #expect(info.duration == Double(info.frames) / Double(info.sampleRate))
    }

    @Test(arguments: fixtures)
    func samplesMatchSoundfile(name: String) throws {
        let signal = try AudioFile.read(path: AudioFixtures.path(name))
        let expected = try AudioFixtures.reference(name)
        let info = try AudioFile.info(path: AudioFixtures.path(name))
        #expect(signal.channels == info.channels)
        #expect(signal.frames == info.frames)
        #expect(signal.sampleRate == Double(info.sampleRate))
        #expect(signal.channelNames == (0..<info.channels).map { "ch\($0)" })
        // Lossless formats decode bit-exactly; Vorbis and Opus go through the system's codec libraries, whose
        // versions may differ from the ones bundled with soundfile.
        let lossy = name.hasSuffix(".ogg")
        assertClose(signal.samples, expected, rtol: 0, atol: lossy ? 2e-3 : 0, name)
    }

    @Test(arguments: fixtures)
    func closedFormSineWithinQuantisation(name: String) throws {
        guard !name.hasSuffix(".ogg") else { return }  // lossy codecs are compared with soundfile above
        let signal = try AudioFile.read(path: AudioFixtures.path(name))
        let ideal = try sineSignal(
            channels: signal.channels, frames: signal.frames, sampleRate: Int(signal.sampleRate))
        let step: Double = name.contains("pcm16") ? 1.0 / 32768 : name.contains("pcm24") ? 1.0 / 8_388_608 : 1e-7
        assertClose(signal.samples, ideal.samples, rtol: 0, atol: 1.01 * step, name)
    }

    @Test(arguments: [(0, nil), (10, 25), (0, 1), (159, nil), (160, nil), (150, 100), (37, 0)] as [(Int, Int?)])
    func frameRangeIsASliceOfTheWholeFile(start: Int, count: Int?) throws {
        let path = AudioFixtures.path("sine_pcm16.wav")
        let whole = try AudioFile.read(path: path)
        let part = try AudioFile.read(path: path, options: ReadOptions(start: start, count: count))
        let end = min(whole.frames, start + (count ?? whole.frames))
        #expect(part.frames == end - start)
        for c in 0..<whole.channels {
            assertClose(part.channel(c), whole.channel(c)[(c * whole.frames + start)..<(c * whole.frames + end)])
        }
    }

    @Test func frameRangeInFLACAndOgg() throws {
        for name in ["sine_pcm24.flac", "sine_vorbis.ogg"] {
            let whole = try AudioFile.read(path: AudioFixtures.path(name))
            let part = try AudioFile.read(path: AudioFixtures.path(name), options: ReadOptions(start: 100, count: 50))
            #expect(part.frames == 50)
            assertClose(part.samples, whole.samples[100..<150], rtol: 0, atol: 1e-6, name)
        }
    }

    @Test func symbolicLinksAreFollowed() throws {
        let scratch = try ScratchDirectory()
        let link = scratch.path("link.wav")
        try FileManager.default.createSymbolicLink(
            atPath: link, withDestinationPath: AudioFixtures.path("sine_pcm16.wav"))
        #expect(try AudioFile.read(path: link) == (try AudioFile.read(path: AudioFixtures.path("sine_pcm16.wav"))))
        #expect(try AudioFile.info(path: link).declaredFrames == nil)
    }

    @Test func badRangeIsAnError() throws {
        let path = AudioFixtures.path("sine_pcm16.wav")
        #expect(
            throws: AudioIOError.invalidParameter(
                name: "start", value: "161", reason: "must be in 0...160 frames of \(path)")
        ) {
            try AudioFile.read(path: path, options: ReadOptions(start: 161))
        }
        #expect(throws: AudioIOError.invalidParameter(name: "count", value: "-1", reason: "must be ≥ 0")) {
            try AudioFile.read(path: path, options: ReadOptions(count: -1))
        }
    }

    // MARK: Shared development data

    @Test(.enabled(if: TestPaths.sharedData("librispeech/198-209-0000.ogg") != nil, "needs ../shared/data"))
    func librispeechOggVorbis() throws {
        let url = try #require(TestPaths.sharedData("librispeech/198-209-0000.ogg"))
        let info = try AudioFile.info(path: url.path)
        #expect(info.format == "OGG")
        #expect(info.subtype == "VORBIS")
        #expect(info.channels == 1)
        #expect(info.sampleRate == 22_050)
        #expect(info.duration > 10 && info.duration < 20)
        let part = try AudioFile.read(path: url.path, options: ReadOptions(start: 22_050, count: 2_205))
        #expect(part.frames == 2_205)
        #expect(part.samples.allSatisfy { $0.isFinite && abs($0) <= 1.5 })
        #expect(part.samples.contains { $0 != 0 })
    }

    @Test(.enabled(if: TestPaths.sharedData("fsdd-dev/recordings/0_jackson_0.wav") != nil, "needs ../shared/data"))
    func fsddWav() throws {
        let url = try #require(TestPaths.sharedData("fsdd-dev/recordings/0_jackson_0.wav"))
        let info = try AudioFile.info(path: url.path)
        #expect(info.format == "WAV")
        #expect(info.subtype == "PCM_16")
        #expect(info.channels == 1)
        #expect(info.sampleRate == 8_000)
        let signal = try AudioFile.read(path: url.path)
        #expect(signal.frames == info.frames)
        // PCM16 read as Float: every sample is k / 32768 for an integer k.
        #expect(signal.samples.allSatisfy { ($0 * 32768).rounded() == $0 * 32768 })
    }

    /// Every real recording reads without a false truncation alarm, and streaming equals the whole-file read.
    @Test(.enabled(if: TestPaths.sharedData("librispeech") != nil, "needs ../shared/data"))
    func everyLibrispeechExcerptReadsWhole() throws {
        let folder = try #require(TestPaths.sharedData("librispeech"))
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".ogg") }
        #expect(names.count == 6)
        for name in names.sorted() {
            let path = folder.appendingPathComponent(name).path
            let info = try AudioFile.info(path: path)
            let whole = try AudioFile.read(path: path)
            #expect(whole.frames == info.frames && info.declaredFrames == nil, "\(name)")
            #expect(info.sampleRate == (name.hasSuffix(".hq.ogg") ? 16_000 : 22_050), "\(name)")
            let reader = try AudioStreamReader(path: path)
            var offset = 0
            var same = true
            try reader.forEachBlock(maxFrames: 10_000) { block in
                same = same && block.samples[...] == whole.samples[offset..<(offset + block.frames)]
                offset += block.frames
            }
            #expect(same && offset == whole.frames, "\(name)")
        }
    }

    @Test(.enabled(if: TestPaths.sharedData("fsdd-dev/recordings") != nil, "needs ../shared/data"))
    func everyFSDDRecordingReads() throws {
        let folder = try #require(TestPaths.sharedData("fsdd-dev/recordings"))
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".wav") }
        #expect(names.count == 2000)
        var totalFrames = 0
        for name in names {
            let signal = try AudioFile.read(path: folder.appendingPathComponent(name).path)
            #expect(signal.channels == 1 && signal.sampleRate == 8000, "\(name)")
            // 0.14–2.3 s per digit (the data set's README).
            #expect(signal.frames >= 1000 && signal.frames <= 20_000, "\(name): \(signal.frames) frames")
            totalFrames += signal.frames
        }
        #expect(totalFrames > 2000 * 1000)
    }

    @Test(
        .enabled(if: TestPaths.sharedData("librispeech") != nil, "needs ../shared/data"),
        .enabled(if: PythonReference.executable != nil, "needs Python with numpy + soundfile")
    )
    func realRecordingsMatchSoundfile() throws {
        let scratch = try ScratchDirectory()
        let sources = ["fsdd-dev/recordings/7_theo_12.wav", "librispeech/3436-172162-0000.hq.ogg"]
        for source in sources {
            let url = try #require(TestPaths.sharedData(source))
            // A symbolic link, so the verify script sees the file in the scratch folder without a copy.
            try FileManager.default.createSymbolicLink(
                atPath: scratch.path(url.lastPathComponent), withDestinationPath: url.path)
        }
        try PythonReference.verify(scratch.url)
        for source in sources {
            let path = scratch.path(URL(fileURLWithPath: source).lastPathComponent)
            let ours = try AudioFile.read(path: path)
            let report = try PythonReference.report(path)
            #expect(report["frames"]?.int == ours.frames && report["channels"]?.int == ours.channels, "\(source)")
            #expect(report["sampleRate"]?.int == Int(ours.sampleRate), "\(source)")
            let lossy = source.hasSuffix(".ogg")
            assertClose(ours.samples, try PythonReference.values(path), rtol: 0, atol: lossy ? 2e-3 : 0, source)
        }
    }
}
