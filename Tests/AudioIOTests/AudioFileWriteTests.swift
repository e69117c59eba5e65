import AudioIO
import Foundation
import TestSupport
import Testing

/// Writing WAV and FLAC: closed-form round trips, agreement with soundfile, atomicity, errors.
struct AudioFileWriteTests {
    static let layouts: [(AudioFileFormat, AudioSampleFormat)] = [
        (.wav, .pcm16), (.wav, .pcm24), (.wav, .float32), (.flac, .pcm16), (.flac, .pcm24),
    ]

    /// The largest read-back error of an encoding for |x| < 1: libsndfile quantises x · 2^15 (x · 2^23) to within
    /// one step (WAV goes through a 32-bit integer and drops the low bits), with a little slack.
    static func tolerance(_ format: AudioSampleFormat) -> Double {
        switch format {
        case .pcm16: return 1.001 / 32768
        case .pcm24: return 1.001 / 8_388_608
        case .float32: return 0
        }
    }

    @Test(arguments: layouts, [1, 2, 5])
    func closedFormRoundTrip(layout: (AudioFileFormat, AudioSampleFormat), channels: Int) throws {
        let (format, sampleFormat) = layout
        let scratch = try ScratchDirectory()
        let signal = try sineSignal(channels: channels, frames: 1001, sampleRate: 16_000, amplitude: 0.99)
        let path = scratch.path("out.\(format.rawValue)")
        try AudioFile.write(signal, to: path, sampleFormat: sampleFormat)
        #expect(try scratch.contents() == ["out.\(format.rawValue)"])
        let info = try AudioFile.info(path: path)
        #expect(info.format == format.rawValue.uppercased())
        let subtypes: [AudioSampleFormat: String] = [.pcm16: "PCM_16", .pcm24: "PCM_24", .float32: "FLOAT"]
        #expect(info.subtype == subtypes[sampleFormat])
        #expect(info.channels == channels && info.frames == 1001 && info.sampleRate == 16_000)
        let back = try AudioFile.read(path: path)
        assertClose(
            back.samples, signal.samples, rtol: 0, atol: Self.tolerance(sampleFormat), "\(layout) × \(channels)")
    }

    @Test(arguments: layouts)
    func samplesEqualWhatSoundfileWrote(layout: (AudioFileFormat, AudioSampleFormat)) throws {
        let (format, sampleFormat) = layout
        let source = try loadFloat32Fixture(TestPaths.fixture("AudioIO/writer_source.f32"))
        let signal = try Signal(samples: source, channels: 2, sampleRate: 8000)
        let scratch = try ScratchDirectory()
        let path = scratch.path("ours.\(format.rawValue)")
        try AudioFile.write(signal, to: path, format: format, sampleFormat: sampleFormat)
        let suffix = ["pcm16": "pcm16", "pcm24": "pcm24", "float32": "float"][sampleFormat.rawValue] ?? ""
        let theirs = try AudioFile.read(path: AudioFixtures.path("written_\(suffix).\(format.rawValue)"))
        let ours = try AudioFile.read(path: path)
        #expect(ours.frames == 300 && theirs.frames == 300)
        assertClose(ours.samples, theirs.samples, rtol: 0, atol: 0, "\(layout)")
    }

    @Test func outOfRangeSamplesClipInsteadOfWrapping() throws {
        let scratch = try ScratchDirectory()
        let signal = try Signal(samples: [1.5, -1.5, 1, -1, 0.5], channels: 1, sampleRate: 8000)
        let path = scratch.path("clip.wav")
        try AudioFile.write(signal, to: path)
        let back = try AudioFile.read(path: path)
        assertClose(back.samples, [32767.0 / 32768, -1, 32767.0 / 32768, -1, 0.5], rtol: 0, atol: 0)
        let float = scratch.path("clip-float.wav")
        try AudioFile.write(signal, to: float, sampleFormat: .float32)
        #expect(try AudioFile.read(path: float).samples == signal.samples)  // float keeps everything
    }

    @Test func float32KeepsSpecialValuesBitForBit() throws {
        let scratch = try ScratchDirectory()
        let special: [Float] = [.nan, .infinity, -.infinity, -0.0, .leastNonzeroMagnitude, 3e38, -7.25]
        let signal = try Signal(samples: special, channels: 1, sampleRate: 8000)
        let path = scratch.path("special.wav")
        try AudioFile.write(signal, to: path, sampleFormat: .float32)
        let back = try AudioFile.read(path: path)
        #expect(back.samples.map(\.bitPattern) == special.map(\.bitPattern))
        let npy = scratch.path("special.npy")
        try NPY.write(NPYArray(signal), to: npy)
        #expect(try NPY.read(path: npy).values.map(\.bitPattern) == special.map(\.bitPattern))
    }

    @Test(arguments: [AudioFileFormat.wav, .flac])
    func edgeLengths(format: AudioFileFormat) throws {
        let scratch = try ScratchDirectory()
        for frames in format == .wav ? [0, 1, 8193] : [1, 8193] {
            let signal = try sineSignal(channels: 2, frames: frames, sampleRate: 8000)
            let path = scratch.path("edge\(frames).\(format.rawValue)")
            try AudioFile.write(signal, to: path)
            let back = try AudioFile.read(path: path)
            #expect(back.channels == 2 && back.frames == frames, "\(format) \(frames)")
            assertClose(back.samples, signal.samples, rtol: 0, atol: Self.tolerance(.pcm16))
        }
    }

    @Test func errorsLeaveNoFile() throws {
        let scratch = try ScratchDirectory()
        let signal = try sineSignal(channels: 1, frames: 10, sampleRate: 8000)
        let flac = scratch.path("x.flac")
        #expect(throws: AudioIOError.unsupportedFormat(path: flac, format: "FLAC float32")) {
            try AudioFile.write(signal, to: flac, sampleFormat: .float32)
        }
        let mp3 = scratch.path("x.mp3")
        #expect(
            throws: AudioIOError.unsupportedFormat(
                path: mp3, format: "extension '.mp3' (use .wav or .flac, or pass format:)")
        ) {
            try AudioFile.write(signal, to: mp3)
        }
        var odd = signal
        odd.sampleRate = 8000.5
        #expect(throws: AudioIOError.self) { try AudioFile.write(odd, to: scratch.path("odd.wav")) }
        let wide = try Signal(samples: [Float](repeating: 0, count: 9 * 4), channels: 9, sampleRate: 8000)
        let error = try #require(throws: AudioIOError.self) { try AudioFile.write(wide, to: flac) }
        guard case .unsupportedFormat(let errorPath, _) = error else {
            Issue.record("expected .unsupportedFormat, got \(error)")
            return
        }
        #expect(errorPath == flac)
        #expect(
            throws: AudioIOError.invalidParameter(
                name: "frames", value: "0", reason: "FLAC cannot store an empty signal (write WAV instead)")
        ) {
            try AudioFile.write(try Signal(samples: [], channels: 1, sampleRate: 8000), to: flac)
        }
        let empty = try Signal(samples: [], channels: 0, sampleRate: 8000)
        #expect(throws: AudioIOError.self) { try AudioFile.write(empty, to: scratch.path("none.wav")) }
        #expect(try scratch.contents().isEmpty)
        #expect(throws: AudioIOError.self) { try AudioFile.write(signal, to: scratch.path("no/such/dir.wav")) }
    }

    @Test func failedWriteKeepsTheOldFile() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.path("keep.flac")
        let old = try sineSignal(channels: 1, frames: 50, sampleRate: 8000)
        try AudioFile.write(old, to: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let wide = try Signal(samples: [Float](repeating: 0, count: 9 * 4), channels: 9, sampleRate: 8000)
        #expect(throws: AudioIOError.self) { try AudioFile.write(wide, to: path) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(try scratch.contents() == ["keep.flac"])
    }

    @Test(
        .enabled(
            if: PythonReference.executable != nil, "needs Python with numpy + soundfile (SEQTOOL_PYTHON or ../venv)"))
    func soundfileReadsWhatWeWrite() throws {
        let scratch = try ScratchDirectory()
        var written: [(String, Signal, AudioSampleFormat)] = []
        for (index, (format, sampleFormat)) in Self.layouts.enumerated() {
            let signal = try sineSignal(channels: index % 3 + 1, frames: 777, sampleRate: 22_050, amplitude: 0.9)
            let name = "w\(index).\(format.rawValue)"
            try AudioFile.write(signal, to: scratch.path(name), sampleFormat: sampleFormat)
            written.append((name, signal, sampleFormat))
        }
        try PythonReference.verify(scratch.url)
        for (name, signal, sampleFormat) in written {
            let report = try PythonReference.report(scratch.path(name))
            let ours = try AudioFile.info(path: scratch.path(name))
            #expect(report["format"]?.string == ours.format, "\(name)")
            #expect(report["subtype"]?.string == ours.subtype, "\(name)")
            #expect(report["sampleRate"]?.int == 22_050 && report["frames"]?.int == 777, "\(name)")
            #expect(report["channels"]?.int == signal.channels, "\(name)")
            let theirs = try PythonReference.values(scratch.path(name))
            assertClose(theirs, try AudioFile.read(path: scratch.path(name)).samples, rtol: 0, atol: 0, name)
            assertClose(theirs, signal.samples, rtol: 0, atol: Self.tolerance(sampleFormat), name)
        }
    }
}
