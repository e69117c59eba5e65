import TestSupport
import Testing
import Windowing

/// Streams `x` through a `StreamingFramer` in random chunks and returns the concatenated windows.
private func streamed(
    _ x: [Float], channels: Int, options: FrameOptions, rng: inout SplitMix64, maxChunk: Int
) throws -> (batch: FrameBatch, maxBuffered: Int) {
    let n = x.count / channels
    var framer = try StreamingFramer(options, channels: channels)
    var all = try Framer(options).frames(of: [], channels: channels)
    var position = 0
    var maxBuffered = 0
    while position < n {
        let size = min(n - position, Int(rng.next() % UInt64(maxChunk + 1)))  // 0-sized chunks included
        var chunk: [Float] = []
        for c in 0..<channels { chunk += x[(c * n + position)..<(c * n + position + size)] }
        try all.append(contentsOf: framer.push(chunk))
        maxBuffered = max(maxBuffered, framer.bufferedFrames)
        position += size
    }
    try all.append(contentsOf: framer.finish())
    return (all, maxBuffered)
}

@Test func streamingEqualsOfflineForRandomChunkings() throws {
    var rng = SplitMix64(seed: 2024)
    for (name, mode) in allModes {
        for (length, hop) in [(1, 1), (4, 2), (5, 3), (3, 5), (8, 3), (6, 1), (7, 7), (16, 4), (2, 9)] {
            let options = try FrameOptions(length: length, hop: hop, boundary: mode)
            for n in [0, 1, 2, 3, 4, 7, 15, 40, 97] {
                for channels in [1, 2] {
                    let x = testSignal(n: n, channels: channels, seed: rng.next())
                    let offline = try Framer(options).frames(of: x, channels: channels)
                    for maxChunk in [1, 3, 17] {
                        let (online, maxBuffered) = try streamed(
                            x, channels: channels, options: options, rng: &rng, maxChunk: maxChunk)
                        let what = "\(name) n=\(n) L=\(length) hop=\(hop) ch=\(channels) chunks≤\(maxChunk)"
                        #expect(online.count == offline.count, "\(what)")
                        #expect(online.provenance == offline.provenance, "\(what)")
                        assertClose(online.samples, offline.samples, rtol: 0, atol: 0, "\(what)")
                        #expect(maxBuffered <= length + hop, "\(what): kept \(maxBuffered) samples")
                    }
                }
            }
        }
    }
}

@Test func streamingEmitsInteriorWindowsBeforeFinish() throws {
    let options = try FrameOptions(length: 4, hop: 2, boundary: .center(.reflect))
    var framer = try StreamingFramer(options, channels: 1)
    // Window 0 covers −2..<2 and needs samples 1, 2 for its reflected left edge: ready after 3 samples.
    #expect(try framer.push([0, 1]).count == 0)
    let first = try framer.push([2])
    #expect(first.count == 1 && Array(first.window(0, channel: 0)) == [2, 1, 0, 1])
    #expect(try framer.push([3, 4, 5]).count == 2)  // windows starting at 0 and 2
    let tail = try framer.finish()
    #expect(tail.provenance.map(\.index) == [3])  // 1 + (6 + 4 − 4) / 2 = 4 windows in all
    #expect(Array(tail.window(0, channel: 0)) == [4, 5, 4, 3])
    #expect(throws: WindowingError.streamFinished) { try framer.push([1]) }
    #expect(throws: WindowingError.streamFinished) { try framer.finish() }
    framer.reset()
    #expect(try framer.push([7]).count == 0)
    #expect(Array(try framer.finish().window(0, channel: 0)) == [7, 7, 7, 7])
}

@Test func streamingRejectsBadChunks() throws {
    #expect(throws: WindowingError.self) { try StreamingFramer(try FrameOptions(length: 2, hop: 1), channels: 0) }
    var framer = try StreamingFramer(try FrameOptions(length: 2, hop: 1), channels: 2)
    #expect(throws: WindowingError.shapeMismatch(name: "chunk", count: 3, channels: 2)) {
        try framer.push([1, 2, 3])
    }
    #expect(try framer.push([]).count == 0)
    #expect(try framer.finish().count == 0)
}
