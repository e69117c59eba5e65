import TestSupport
import Testing
import Windowing

@Test func frameCountMatchesDefinitionForEveryModeLengthAndHop() throws {
    for (name, mode) in allModes {
        for length in [1, 2, 3, 4, 5, 7, 8, 16] {
            for hop in [1, 2, 3, 4, 5, 7, 9, 16, 20] {
                let options = try FrameOptions(length: length, hop: hop, boundary: mode)
                for n in 0...50 {
                    let expected = countByDefinition(n: n, length: length, hop: hop, mode: mode)
                    let actual = options.frameCount(forLength: n)
                    #expect(actual == expected, "\(name) n=\(n) L=\(length) hop=\(hop)")
                }
            }
        }
    }
}

@Test func centerCountIsOnePlusPaddedLengthOverHop() throws {
    // librosa.stft(center=True): 1 + (n + 2·(L/2) − L) / hop.
    let options = try FrameOptions(length: 2048, hop: 512, boundary: .center(.reflect))
    #expect(options.frameCount(forLength: 22_050) == 1 + 22_050 / 512)
    let odd = try FrameOptions(length: 5, hop: 2, boundary: .center(.zeros))
    #expect(odd.frameCount(forLength: 10) == 1 + (10 + 4 - 5) / 2)
}

@Test func kaldiDefaultsGiveKaldiSizesAndCounts() throws {
    let snip = try FrameOptions.kaldi()
    #expect(snip.length == 400 && snip.hop == 160 && snip.boundary == .valid)
    #expect(snip.frameCount(forLength: 16_000) == 98)  // 1 + (16000 − 400) / 160
    let mirror = try FrameOptions.kaldi(snipEdges: false)
    #expect(mirror.boundary == .kaldiMirror)
    #expect(mirror.frameCount(forLength: 16_000) == 100)  // (16000 + 80) / 160
    #expect(mirror.firstSample(ofWindow: 0) == 80 - 200)
}

@Test func secondsInitialisersRoundAsDocumented() throws {
    let a = try FrameOptions(seconds: 3, overlap: 0.2, sampleRate: 16_000)
    #expect(a.length == 48_000 && a.hop == 38_400)
    let b = try FrameOptions(seconds: 0.025, hopSeconds: 0.01, sampleRate: 16_000)
    #expect(b.length == 400 && b.hop == 160)
    // 0.5 samples rounds away from zero; the overlap applies to the rounded length (3 · 0.5 = 1.5 → 2).
    let c = try FrameOptions(seconds: 2.5, overlap: 0.5, sampleRate: 1)
    #expect(c.length == 3 && c.hop == 2)
    let gaps = try FrameOptions(seconds: 1, hopSeconds: 2, sampleRate: 10)
    #expect(gaps.length == 10 && gaps.hop == 20)
}

@Test func invalidParametersThrowNamedErrors() {
    func expectInvalid(_ name: String, _ make: () throws -> FrameOptions) {
        do {
            _ = try make()
            Issue.record("expected an error for \(name)")
        } catch let error as WindowingError {
            guard case .invalidParameter(let got, _, _) = error else {
                Issue.record("wrong error \(error)")
                return
            }
            #expect(got == name)
            #expect(error.description.contains(name))
        } catch {
            Issue.record("unexpected error type \(error)")
        }
    }
    expectInvalid("hop") { try FrameOptions(length: 4, hop: 0) }
    expectInvalid("length") { try FrameOptions(length: 0, hop: 1) }
    expectInvalid("length") { try FrameOptions(length: -3, hop: 1) }
    expectInvalid("length") { try FrameOptions(length: Int.max, hop: 1) }
    expectInvalid("hop") { try FrameOptions(length: 2, hop: FrameOptions.maximumSize + 1) }
    expectInvalid("overlap") { try FrameOptions(seconds: 1, overlap: 1, sampleRate: 100) }
    expectInvalid("overlap") { try FrameOptions(seconds: 1, overlap: -0.1, sampleRate: 100) }
    expectInvalid("overlap") { try FrameOptions(seconds: 1, overlap: .nan, sampleRate: 100) }
    expectInvalid("overlap") { try FrameOptions(seconds: 1, overlap: 0.999, sampleRate: 100) }
    expectInvalid("seconds") { try FrameOptions(seconds: 0, overlap: 0, sampleRate: 100) }
    expectInvalid("seconds") { try FrameOptions(seconds: 0.001, overlap: 0, sampleRate: 100) }
    expectInvalid("seconds") { try FrameOptions(seconds: .infinity, hopSeconds: 1, sampleRate: 100) }
    expectInvalid("hopSeconds") { try FrameOptions(seconds: 1, hopSeconds: -1, sampleRate: 100) }
    expectInvalid("sampleRate") { try FrameOptions(seconds: 1, overlap: 0, sampleRate: 0) }
    expectInvalid("sampleRate") { try FrameOptions(seconds: 1, hopSeconds: 1, sampleRate: .nan) }
    expectInvalid("frameShiftMs") { try FrameOptions.kaldi(sampleRate: 16_000, frameShiftMs: 0.01) }
}

@Test func provenanceDescribesPaddingAndTimes() throws {
    let options = try FrameOptions(length: 4, hop: 2, boundary: .center(.zeros))
    let p0 = options.provenance(ofWindow: 0, signalLength: 5)
    #expect(p0.firstSample == -2 && p0.padLeft == 2 && p0.padRight == 0 && p0.signalRange == 0..<2)
    #expect(p0.centerSample == 0 && p0.centerSeconds(sampleRate: 10) == 0)
    let p3 = options.provenance(ofWindow: 3, signalLength: 5)
    #expect(p3.firstSample == 4 && p3.padRight == 3 && p3.signalRange == 4..<5 && !p3.isInterior)
    #expect(p3.centerSeconds(sampleRate: 10) == 0.6 && p3.startSeconds(sampleRate: 10) == 0.4)
    let inner = options.provenance(ofWindow: 1, signalLength: 5)
    #expect(inner.isInterior && inner.signalRange == 0..<4 && inner.endSample == 4)
    // A window wider than the whole signal is padded on both sides.
    let wide = try FrameOptions(length: 9, hop: 1, boundary: .center(.reflect))
        .provenance(ofWindow: 0, signalLength: 2)
    #expect(wide.padLeft == 4 && wide.padRight == 3 && wide.signalRange == 0..<2)
}

@Test func errorMessagesNameTheParameterAndValue() {
    let cases: [(WindowingError, [String])] = [
        (.invalidParameter(name: "hop", value: "0", reason: "must be ≥ 1"), ["hop", "0", "must be ≥ 1"]),
        (.shapeMismatch(name: "chunk", count: 7, channels: 2), ["chunk", "7", "2 channels"]),
        (.labelCountMismatch(labels: 3, signalLength: 9), ["3", "9"]),
        (.streamFinished, ["finished"]),
    ]
    for (error, words) in cases {
        for word in words {
            #expect(error.description.contains(word), "\(error.description) lacks \(word)")
        }
        #expect(error.errorDescription == error.description)
    }
}
