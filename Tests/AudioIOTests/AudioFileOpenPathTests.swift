import Foundation
import TestSupport
import Testing

@testable import AudioIO

/// Short files are decoded from memory (one read, libsndfile's virtual I/O), long ones from the descriptor; both
/// paths must see the same file.
struct AudioFileOpenPathTests {
    @Test(arguments: AudioFileReadTests.fixtures + ["long_pcm16.flac"])
    func memoryAndDescriptorPathsReadTheSameSamples(name: String) throws {
        let path = AudioFixtures.path(name)
        let (inMemory, memoryProbe) = try AudioFile.openChecked(path: path, smallFileBytes: Int.max)
        let (fromDisk, diskProbe) = try AudioFile.openChecked(path: path, smallFileBytes: 0)
        #expect(memoryProbe == diskProbe)
        #expect(inMemory.sfInfo.frames == fromDisk.sfInfo.frames)
        #expect(inMemory.sfInfo.channels == fromDisk.sfInfo.channels)
        #expect(inMemory.sfInfo.format == fromDisk.sfInfo.format)
        let frames = Int(inMemory.sfInfo.frames)
        let count = frames * Int(inMemory.sfInfo.channels)
        var a = [Float](repeating: .nan, count: count)
        var b = [Float](repeating: .nan, count: count)
        let readA = a.withUnsafeMutableBufferPointer { inMemory.readInterleaved(into: $0.baseAddress!, frames: frames) }
        let readB = b.withUnsafeMutableBufferPointer { fromDisk.readInterleaved(into: $0.baseAddress!, frames: frames) }
        #expect(readA == readB)
        #expect(readA * Int(inMemory.sfInfo.channels) == count)
        #expect(a == b)
        // Seeking works from memory too (libsndfile seeks through the virtual I/O callbacks).
        try inMemory.seek(to: readA / 2)
        var tail = [Float](repeating: .nan, count: 8 * Int(inMemory.sfInfo.channels))
        let readTail = tail.withUnsafeMutableBufferPointer {
            inMemory.readInterleaved(into: $0.baseAddress!, frames: 8)
        }
        #expect(readTail == min(8, readA - readA / 2))
        let offset = (readA / 2) * Int(inMemory.sfInfo.channels)
        #expect(
            Array(tail.prefix(readTail * Int(inMemory.sfInfo.channels)))
                == Array(a[offset..<(offset + readTail * Int(inMemory.sfInfo.channels))]))
    }

    @Test func truncationIsFoundOnBothPaths() throws {
        let scratch = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: AudioFixtures.path("sine_pcm16.wav")))
        let cut = scratch.appendingPathComponent("cut.wav")
        try bytes.prefix(bytes.count / 2).write(to: cut)
        for limit in [0, Int.max] {
            let (_, probe) = try AudioFile.openChecked(path: cut.path, smallFileBytes: limit)
            #expect(probe.isTruncated, "smallFileBytes \(limit)")
        }
        #expect(throws: AudioIOError.self) { try AudioFile.read(path: cut.path) }
    }
}
