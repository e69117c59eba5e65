import AudioIO
import Foundation
import TestSupport
import Testing

/// The block reader must reproduce the whole-file read exactly, for any block size.
struct AudioStreamReaderTests {
    static let files = ["sine_pcm16.wav", "sine_float.wav", "sine_pcm24.flac", "sine_pcm16.aiff", "sine_vorbis.ogg"]

    /// Concatenates planar blocks along time.
    func concatenate(_ blocks: [Signal], channels: Int) -> [Float] {
        var out = [Float]()
        for c in 0..<channels {
            for block in blocks { out += block.channel(c) }
        }
        return out
    }

    @Test(arguments: files, [1, 7, 64, 1000])
    func blocksEqualTheWholeFile(name: String, blockFrames: Int) throws {
        let whole = try AudioFile.read(path: AudioFixtures.path(name))
        let reader = try AudioStreamReader(path: AudioFixtures.path(name))
        #expect(reader.info == (try AudioFile.info(path: AudioFixtures.path(name))))
        var blocks: [Signal] = []
        try reader.forEachBlock(maxFrames: blockFrames) { blocks.append($0) }
        #expect(blocks.dropLast().allSatisfy { $0.frames == blockFrames }, "\(name) / \(blockFrames)")
        #expect(blocks.allSatisfy { $0.frames >= 1 && $0.frames <= blockFrames && $0.sampleRate == whole.sampleRate })
        #expect(blocks.count == (whole.frames + blockFrames - 1) / blockFrames)
        assertClose(
            concatenate(blocks, channels: whole.channels), whole.samples, rtol: 0, atol: 0, "\(name) / \(blockFrames)")
        #expect(reader.position == whole.frames)
        #expect(try reader.read(maxFrames: blockFrames) == nil)
        #expect(reader.warnings.isEmpty)
    }

    @Test func seekThenReadIsASlice() throws {
        for name in ["sine_pcm16.wav", "sine_pcm24.flac", "sine_vorbis.ogg"] {
            let whole = try AudioFile.read(path: AudioFixtures.path(name))
            let reader = try AudioStreamReader(path: AudioFixtures.path(name))
            for start in [37, 0, whole.frames - 3] {
                try reader.seek(to: start)
                #expect(reader.position == start)
                let block = try #require(try reader.read(maxFrames: 20))
                let end = min(whole.frames, start + 20)
                #expect(block.frames == end - start)
                assertClose(block.channel(0), whole.channel(0)[start..<end], rtol: 0, atol: 0, "\(name) @ \(start)")
            }
            try reader.seek(to: whole.frames)
            #expect(try reader.read(maxFrames: 5) == nil)
            #expect(throws: AudioIOError.self) { try reader.seek(to: whole.frames + 1) }
            #expect(throws: AudioIOError.self) { try reader.seek(to: -1) }
        }
    }

    /// Random interleavings of seeks and reads (seeded) always return the slice of the whole-file read.
    @Test(arguments: ["sine_pcm16.wav", "sine_pcm24.flac", "sine_pcm16.aiff", "sine_vorbis.ogg", "sine_opus.ogg"])
    func randomSeeksAndReads(name: String) throws {
        let whole = try AudioFile.read(path: AudioFixtures.path(name))
        let reader = try AudioStreamReader(path: AudioFixtures.path(name))
        var rng = SplitMix64(seed: 2024)
        for step in 0..<60 {
            if rng.next() % 3 == 0 {
                try reader.seek(to: Int(rng.next() % UInt64(whole.frames + 1)))
            }
            let start = reader.position
            let size = 1 + Int(rng.next() % 97)
            let block = try reader.read(maxFrames: size)
            let end = min(whole.frames, start + size)
            #expect((block?.frames ?? 0) == end - start, "\(name) step \(step)")
            if let block {
                for c in 0..<whole.channels {
                    let expected = whole.channel(c)[(c * whole.frames + start)..<(c * whole.frames + end)]
                    assertClose(block.channel(c), expected, rtol: 0, atol: 0, "\(name) step \(step) @ \(start)")
                }
            }
        }
    }

    @Test func badBlockSize() throws {
        let reader = try AudioStreamReader(path: AudioFixtures.path("sine_pcm16.wav"))
        #expect(throws: AudioIOError.invalidParameter(name: "maxFrames", value: "0", reason: "must be ≥ 1")) {
            try reader.read(maxFrames: 0)
        }
    }

    @Test func openErrorsAreTheSameAsForRead() throws {
        let scratch = try ScratchDirectory()
        let empty = try scratch.write("empty.wav", [])
        #expect(throws: AudioIOError.empty(path: empty)) { try AudioStreamReader(path: empty) }
        let zero = try scratch.write("zero.wav", craftedWAV(channels: 0))
        #expect(throws: AudioIOError.zeroChannels(path: zero)) { try AudioStreamReader(path: zero) }
    }

    @Test func truncatedWAVFailsToOpenUnlessAllowed() throws {
        let scratch = try ScratchDirectory()
        let bytes = try AudioFixtures.bytes("sine_pcm16.wav")
        let path = try scratch.write("cut.wav", Array(bytes[0..<(44 + 4 * 50)]))
        #expect(throws: AudioIOError.truncated(path: path, declaredFrames: 160, availableFrames: 50)) {
            try AudioStreamReader(path: path)
        }
        let reader = try AudioStreamReader(path: path, allowTruncated: true)
        #expect(reader.warnings == [.truncated(path: path, declaredFrames: 160, availableFrames: 50)])
        var total = 0
        try reader.forEachBlock(maxFrames: 16) { total += $0.frames }
        #expect(total == 50)
    }

    @Test func truncatedFLACFailsWhenTheGapIsReached() throws {
        let scratch = try ScratchDirectory()
        let bytes = try AudioFixtures.bytes("long_pcm16.flac")
        let path = try scratch.write("cut.flac", Array(bytes[0..<(bytes.count * 6 / 10)]))
        let expected = try AudioFile.read(path: path, options: ReadOptions(allowTruncated: true))

        let strict = try AudioStreamReader(path: path)
        var frames = 0
        let error = try #require(throws: AudioIOError.self) {
            try strict.forEachBlock(maxFrames: 1000) { frames += $0.frames }
        }
        guard case .truncated(_, 12_000, let available) = error else {
            Issue.record("expected .truncated, got \(error)")
            return
        }
        #expect(available == expected.frames)
        #expect(frames <= available)

        let lenient = try AudioStreamReader(path: path, allowTruncated: true)
        var blocks: [Signal] = []
        try lenient.forEachBlock(maxFrames: 1000) { blocks.append($0) }
        #expect(lenient.warnings == [.truncated(path: path, declaredFrames: 12_000, availableFrames: expected.frames)])
        assertClose(concatenate(blocks, channels: 1), expected.samples, rtol: 0, atol: 0)
    }

    @Test func readerCanBeSharedAcrossTasks() async throws {
        let reader = try AudioStreamReader(path: AudioFixtures.path("sine_pcm24.flac"))
        let counts = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    var n = 0
                    while let block = try reader.read(maxFrames: 9) { n += block.frames }
                    return n
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(counts == 400)  // every frame read exactly once, by whichever task got the lock
    }
}
