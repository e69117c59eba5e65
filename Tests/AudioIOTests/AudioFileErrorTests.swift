import AudioIO
import Foundation
import TestSupport
import Testing

/// Bad input: every case is a typed `AudioIOError` naming the file.
struct AudioFileErrorTests {
    @Test func missingFile() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.path("nope.wav")
        #expect(throws: AudioIOError.cannotOpen(path: path, reason: "no such file")) {
            try AudioFile.read(path: path)
        }
        #expect(throws: AudioIOError.cannotOpen(path: path, reason: "no such file")) {
            try AudioFile.info(path: path)
        }
        #expect(throws: AudioIOError.cannotOpen(path: scratch.url.path, reason: "is a directory")) {
            try AudioFile.info(path: scratch.url.path)
        }
    }

    @Test func emptyFile() throws {
        let scratch = try ScratchDirectory()
        let path = try scratch.write("empty.wav", [])
        #expect(throws: AudioIOError.empty(path: path)) { try AudioFile.read(path: path) }
    }

    @Test func garbageBytes() throws {
        let scratch = try ScratchDirectory()
        var rng = SplitMix64(seed: 7)
        let path = try scratch.write("garbage.wav", (0..<1000).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        let error = try #require(throws: AudioIOError.self) { try AudioFile.read(path: path) }
        guard case .unrecognized(let errorPath, _) = error else {
            Issue.record("expected .unrecognized, got \(error)")
            return
        }
        #expect(errorPath == path)
        #expect(error.description.hasPrefix(path))
    }

    @Test func zeroChannelHeader() throws {
        let scratch = try ScratchDirectory()
        let path = try scratch.write("zero.wav", craftedWAV(channels: 0))
        #expect(throws: AudioIOError.zeroChannels(path: path)) { try AudioFile.read(path: path) }
        #expect(throws: AudioIOError.zeroChannels(path: path)) { try AudioFile.info(path: path) }
    }

    @Test func craftedHeaderIsReadable() throws {
        // The crafting helper itself is right: one channel of 32 zero frames reads fine.
        let scratch = try ScratchDirectory()
        let path = try scratch.write("ok.wav", craftedWAV(channels: 1))
        let signal = try AudioFile.read(path: path)
        #expect(signal.channels == 1 && signal.frames == 32 && signal.samples.allSatisfy { $0 == 0 })
    }

    @Test(arguments: [(0x1234, 16, "0x1234"), (1, 64, "unimplemented")] as [(UInt16, UInt16, String)])
    func unsupportedEncoding(formatTag: UInt16, bits: UInt16, reasonPart: String) throws {
        let scratch = try ScratchDirectory()
        let path = try scratch.write("odd.wav", craftedWAV(channels: 1, bitsPerSample: bits, formatTag: formatTag))
        let error = try #require(throws: AudioIOError.self) { try AudioFile.read(path: path) }
        guard case .unsupportedEncoding(let errorPath, let reason) = error else {
            Issue.record("expected .unsupportedEncoding, got \(error)")
            return
        }
        #expect(errorPath == path)
        #expect(reason.contains(reasonPart))
    }

    // MARK: Truncation

    /// Cuts `name` so that `keepFrames` frames of `bytesPerFrame` bytes (plus one stray byte) remain after the
    /// chunk `dataChunk` (whose body starts `skip` bytes after its 8-byte header).
    func cut(
        _ name: String, dataChunk: String, skip: Int = 0, bytesPerFrame: Int, keepFrames: Int,
        in scratch: ScratchDirectory
    )
        throws -> String
    {
        let bytes = try AudioFixtures.bytes(name)
        let start = try #require(chunkOffset(dataChunk, in: bytes)) + 8 + skip
        return try scratch.write("cut-" + name, Array(bytes[0..<(start + keepFrames * bytesPerFrame + 1)]))
    }

    @Test(arguments: [
        ("sine_pcm16.wav", "data", 0, 4, 160),
        ("sine_pcm16_rf64.wav", "data", 0, 2, 150),
        ("sine_float.wav", "data", 0, 12, 100),
        ("sine_pcm24_wavex.wav", "data", 0, 6, 120),
        ("sine_pcm16.aiff", "SSND", 8, 4, 100),
        ("sine_pcm16.w64", "data", 16, 4, 100),  // 24-byte GUID chunk header
        ("sine_pcm16.au", ".snd", 16, 4, 100),  // data at the header's offset, 24
    ])
    func truncatedContainerIsDetected(
        name: String, chunk: String, skip: Int, bytesPerFrame: Int, frames: Int
    )
        throws
    {
        let scratch = try ScratchDirectory()
        let keep = frames / 2 - 3
        let path = try cut(
            name, dataChunk: chunk, skip: skip, bytesPerFrame: bytesPerFrame, keepFrames: keep, in: scratch)
        let expectedError = AudioIOError.truncated(path: path, declaredFrames: frames, availableFrames: keep)
        #expect(throws: expectedError) { try AudioFile.read(path: path) }
        #expect(throws: expectedError) { try AudioFile.read(path: path, options: ReadOptions(start: 0, count: 5)) }
        #expect(expectedError.description.contains("\(frames)") && expectedError.description.contains(path))

        let info = try AudioFile.info(path: path)
        #expect(info.frames == keep)
        #expect(info.declaredFrames == frames)
        #expect(info.isTruncated)

        var warnings: [AudioReadWarning] = []
        let signal = try AudioFile.read(path: path, options: ReadOptions(allowTruncated: true)) { warnings.append($0) }
        #expect(warnings == [.truncated(path: path, declaredFrames: frames, availableFrames: keep)])
        #expect(signal.frames == keep)
        let whole = try AudioFile.read(path: AudioFixtures.path(name))
        for c in 0..<whole.channels {
            assertClose(signal.channel(c), whole.channel(c).prefix(keep), rtol: 0, atol: 0, "\(name) channel \(c)")
        }
    }

    @Test func truncatedFLACIsDetectedWhenDecoded() throws {
        // 12,000 frames in three 4096-frame FLAC blocks; STREAMINFO declares 12,000.
        let scratch = try ScratchDirectory()
        let bytes = try AudioFixtures.bytes("long_pcm16.flac")
        let path = try scratch.write("cut.flac", Array(bytes[0..<(bytes.count * 6 / 10)]))
        #expect(try AudioFile.info(path: path).frames == 12_000)  // not visible without decoding
        let error = try #require(throws: AudioIOError.self) { try AudioFile.read(path: path) }
        guard case .truncated(let errorPath, let declared, let available) = error else {
            Issue.record("expected .truncated, got \(error)")
            return
        }
        #expect(errorPath == path)
        #expect(declared == 12_000)
        #expect(available >= 4096 && available < 12_000)

        var warnings: [AudioReadWarning] = []
        let signal = try AudioFile.read(path: path, options: ReadOptions(allowTruncated: true)) { warnings.append($0) }
        #expect(warnings == [.truncated(path: path, declaredFrames: 12_000, availableFrames: available)])
        #expect(signal.frames == available)
        let whole = try AudioFile.read(path: AudioFixtures.path("long_pcm16.flac"))
        #expect(whole.frames == 12_000)
        assertClose(signal.samples, whole.samples.prefix(available), rtol: 0, atol: 0)
        let ideal = try sineSignal(channels: 1, frames: 12_000, sampleRate: 8000, amplitude: 0.01)
        assertClose(whole.samples, ideal.samples, rtol: 0, atol: 1.01 / 32768)
    }

    @Test(arguments: [0x7FFF_F000, 0xFFFF_FFFF] as [UInt32])
    func placeholderDataSizeIsNotATruncation(size: UInt32) throws {
        // What sox / ffmpeg write when the output cannot be rewound: a huge size, then the real data.
        var bytes = craftedWAV(channels: 1, dataBytes: 64)
        for i in 0..<4 { bytes[40 + i] = UInt8(truncatingIfNeeded: size >> (8 * UInt32(i))) }
        let scratch = try ScratchDirectory()
        let path = try scratch.write("piped.wav", bytes)
        let info = try AudioFile.info(path: path)
        #expect(info.declaredFrames == nil && info.frames == 32)
        #expect(try AudioFile.read(path: path).frames == 32)
    }

    @Test func absurdFLACFrameCountDoesNotExhaustMemory() throws {
        // STREAMINFO's 36-bit total-samples field set to 2^36 - 1 (about 275 GB of Float32 if believed).
        var bytes = try AudioFixtures.bytes("long_pcm16.flac")
        #expect(Array(bytes[0..<4]) == Array("fLaC".utf8))
        bytes[21] |= 0x0F
        for i in 22...25 { bytes[i] = 0xFF }
        let scratch = try ScratchDirectory()
        let path = try scratch.write("liar.flac", bytes)
        let declared = (1 << 36) - 1
        #expect(try AudioFile.info(path: path).frames == declared)
        #expect(throws: AudioIOError.truncated(path: path, declaredFrames: declared, availableFrames: 12_000)) {
            try AudioFile.read(path: path)
        }
        let signal = try AudioFile.read(path: path, options: ReadOptions(allowTruncated: true))
        let expected = try AudioFile.read(path: AudioFixtures.path("long_pcm16.flac"))
        #expect(signal == expected)
    }

    @Test func absurdFrameCountWithSeveralChannels() throws {
        let scratch = try ScratchDirectory()
        let original = try sineSignal(channels: 3, frames: 9000, sampleRate: 8000)
        let path = scratch.path("three.flac")
        try AudioFile.write(original, to: path)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[21] |= 0x0F
        for i in 22...25 { bytes[i] = 0xFF }
        let liar = try scratch.write("liar3.flac", bytes)
        let signal = try AudioFile.read(path: liar, options: ReadOptions(start: 100, allowTruncated: true))
        let honest = try AudioFile.read(path: path, options: ReadOptions(start: 100))
        #expect(signal.channels == 3 && signal.frames == 8900)
        #expect(signal == honest)
    }

    @Test func headerCutBeforeTheDataIsAnError() throws {
        let scratch = try ScratchDirectory()
        let bytes = try AudioFixtures.bytes("sine_pcm16.wav")
        let path = try scratch.write("stub.wav", Array(bytes[0..<20]))
        #expect(throws: AudioIOError.self) { try AudioFile.read(path: path) }
    }

    @Test func errorMessagesNameThePath() {
        let errors: [AudioIOError] = [
            .cannotOpen(path: "/x/a.wav", reason: "no such file"), .empty(path: "/x/a.wav"),
            .unrecognized(path: "/x/a.wav", reason: "r"), .zeroChannels(path: "/x/a.wav"),
            .truncated(path: "/x/a.wav", declaredFrames: 10, availableFrames: 5),
            .unsupportedEncoding(path: "/x/a.wav", reason: "r"),
        ]
        for error in errors {
            #expect(error.description.hasPrefix("/x/a.wav: "))
            #expect(error.errorDescription == error.description)
        }
    }
}
