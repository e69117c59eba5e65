import TestSupport
import Testing
import Windowing

/// Window `w`, channel `c` built sample by sample from the reference definitions.
private func referenceWindow(
    _ x: [Float], channels: Int, w: Int, c: Int, options: FrameOptions
) -> [Float] {
    let n = channels == 0 ? 0 : x.count / channels
    let channel = Array(x[(c * n)..<((c + 1) * n)])
    let first = options.firstSample(ofWindow: w)
    return (first..<(first + options.length)).map { referenceSample(channel, $0, mode: options.boundary) }
}

@Test func everyWindowMatchesTheReferenceDefinition() throws {
    for (name, mode) in allModes {
        for (length, hop) in [(1, 1), (4, 2), (5, 3), (3, 5), (8, 3), (6, 1), (7, 7)] {
            let options = try FrameOptions(length: length, hop: hop, boundary: mode)
            for n in [0, 1, 2, 3, 5, 8, 13, 21] {
                for channels in [1, 3] {
                    let x = testSignal(n: n, channels: channels, seed: UInt64(n * 31 + length))
                    let batch = try Framer(options).frames(of: x, channels: channels)
                    let what = "\(name) n=\(n) L=\(length) hop=\(hop) channels=\(channels)"
                    try #require(batch.count == options.frameCount(forLength: n), "\(what)")
                    #expect(batch.channels == channels && batch.length == length)
                    for w in 0..<batch.count {
                        #expect(batch.provenance[w] == options.provenance(ofWindow: w, signalLength: n))
                        for c in 0..<channels {
                            let expected = referenceWindow(x, channels: channels, w: w, c: c, options: options)
                            assertClose(
                                batch.window(w, channel: c), expected, rtol: 0, atol: 0, "\(what) w=\(w) c=\(c)")
                        }
                    }
                }
            }
        }
    }
}

@Test func viewHandsOutInteriorWindowsWithoutCopying() throws {
    let x: [Float] = (0..<20).map(Float.init)
    let options = try FrameOptions(length: 4, hop: 3, boundary: .center(.reflect))
    let view = try Framer(options).view(of: x, channels: 2)
    #expect(view.count == 1 + (10 + 4 - 4) / 3)
    let batch = view.frames()
    x.withUnsafeBufferPointer { signal in
        let range = signal.baseAddress!..<(signal.baseAddress! + 20)
        for w in 0..<view.count {
            for c in 0..<2 {
                view.withWindow(w, channel: c) { window in
                    assertClose(Array(window), batch.window(w, channel: c), rtol: 0, atol: 0)
                    let inside = range.contains(window.baseAddress!)
                    #expect(inside == view.provenance(w).isInterior, "w=\(w): interior windows point into the input")
                }
            }
        }
    }
}

@Test func validModeViewNeverCopies() throws {
    let x = testSignal(n: 100, channels: 1, seed: 7)
    let view = try Framer(try FrameOptions(length: 10, hop: 7)).view(of: x, channels: 1)
    #expect(view.count == 1 + 90 / 7)
    x.withUnsafeBufferPointer { signal in
        for w in 0..<view.count {
            view.withWindow(w, channel: 0) { window in
                #expect(window.baseAddress == signal.baseAddress! + 7 * w)
            }
        }
    }
}

@Test func shortEmptyAndOneSampleInputsGiveDefinedResults() throws {
    let valid = Framer(try FrameOptions(length: 4, hop: 2))
    #expect(try valid.frames(of: [], channels: 1).count == 0)
    #expect(try valid.frames(of: [1, 2, 3], channels: 1).count == 0)
    #expect(try valid.frames(of: [], channels: 0).count == 0)
    let reflect = Framer(try FrameOptions(length: 4, hop: 2, boundary: .center(.reflect)))
    let one = try reflect.frames(of: [5], channels: 1)
    #expect(one.count == 1)
    #expect(Array(one.window(0, channel: 0)) == [5, 5, 5, 5])  // numpy reflect of one sample repeats it
    let kaldi = Framer(try FrameOptions(length: 4, hop: 4, boundary: .kaldiMirror))
    #expect(try kaldi.frames(of: [1], channels: 1).count == 0)  // (1 + 2) / 4
    let nan = try Framer(try FrameOptions(length: 2, hop: 1)).frames(of: [.nan, 1, 2], channels: 1)
    #expect(nan.window(0, channel: 0).first!.isNaN && nan.count == 2)
}

@Test func badShapesThrow() throws {
    let framer = Framer(try FrameOptions(length: 2, hop: 1))
    #expect(throws: WindowingError.shapeMismatch(name: "samples", count: 5, channels: 2)) {
        try framer.frames(of: [1, 2, 3, 4, 5], channels: 2)
    }
    #expect(throws: WindowingError.shapeMismatch(name: "samples", count: 1, channels: 0)) {
        try framer.frames(of: [1], channels: 0)
    }
    #expect(throws: WindowingError.self) { try framer.frames(of: [], channels: -1) }
    var batch = try framer.frames(of: [1, 2, 3], channels: 1)
    let other = try Framer(try FrameOptions(length: 3, hop: 1)).frames(of: [1, 2, 3], channels: 1)
    #expect(throws: WindowingError.self) { try batch.append(contentsOf: other) }
    #expect(throws: WindowingError.self) {
        try FrameBatch(count: 1, channels: 1, length: 2, samples: [1], provenance: [])
    }
}
