import Foundation
import TestSupport
import Testing
import Windowing

// Reference data from scripts/fixtures/windowing_fixtures.py (librosa 1.0.0, numpy, python_speech_features 0.6,
// kaldi-native-fbank 1.22.4) and scripts/fixtures/windowing_torch_fixtures.py (torch 2.11.0).

private struct CountFixture: Decodable {
    struct Entry: Decodable {
        let length: Int
        let hop: Int
        let n: [Int]
        let librosa_frame: [Int]
        let psf_framesig: [Int]
        let kaldi_snip_edges: [Int?]
        let kaldi_no_snip_edges: [Int?]
        let librosa_stft_center: [String: [Int?]]
    }
    let entries: [Entry]
}

private struct FrameFixture: Decodable {
    struct Case: Decodable {
        let length: Int
        let hop: Int
        let n: Int
        let channels: Int
        let x: [Float]
        let modes: [String: Frames]
    }
    struct Frames: Decodable {
        let count: Int
        let frames: [Float]
    }
    let cases: [Case]
}

/// The Swift mode for each name the fixture scripts use.
let fixtureModes: [String: BoundaryMode] = [
    "valid": .valid,
    "padEnd": .padEnd(),
    "padEndToCover": .padEndToCover(),
    "kaldiMirror": .kaldiMirror,
    "center(constant -1)": .center(.constant(-1)),
    "center(zeros)": .center(.zeros),
    "center(reflect)": .center(.reflect),
    "center(edge)": .center(.edge),
    "center(symmetric)": .center(.symmetric),
]

private func load<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
    let data = try Data(contentsOf: TestPaths.fixture("Windowing/\(name)"))
    return try JSONDecoder().decode(T.self, from: data)
}

@Test func frameCountsMatchLibraries() throws {
    let fixture = try load("windowing_counts.json", as: CountFixture.self)
    #expect(fixture.entries.count == 42)
    for entry in fixture.entries {
        let (L, hop) = (entry.length, entry.hop)
        func options(_ mode: BoundaryMode) throws -> FrameOptions {
            try FrameOptions(length: L, hop: hop, boundary: mode)
        }
        for (k, n) in entry.n.enumerated() {
            let what = "n=\(n) L=\(L) hop=\(hop)"
            let valid = try options(.valid).frameCount(forLength: n)
            #expect(valid == entry.librosa_frame[k], "librosa.util.frame \(what)")
            #expect(valid == entry.kaldi_snip_edges[k], "kaldi snip_edges=true \(what)")
            let cover = try options(.padEndToCover()).frameCount(forLength: n)
            if n == 0 {
                #expect(entry.psf_framesig[k] == 1 && cover == 0, "documented deviation for empty input")
            } else {
                #expect(cover == entry.psf_framesig[k], "python_speech_features framesig \(what)")
            }
            let mirror = try options(.kaldiMirror)
            if let kaldi = entry.kaldi_no_snip_edges[k] {
                #expect(mirror.frameCount(forLength: n) == kaldi, "kaldi snip_edges=false \(what)")
            } else {
                // kaldi-native-fbank's online extractor hangs exactly when the last window starts past the end.
                let count = mirror.frameCount(forLength: n)
                #expect(count > 0 && mirror.firstSample(ofWindow: count - 1) >= n, "unexpected kaldi null \(what)")
            }
            for (pad, counts) in entry.librosa_stft_center {
                let mode: BoundaryMode
                switch pad {
                case "zeros": mode = .center(.zeros)
                case "reflect": mode = .center(.reflect)
                case "edge": mode = .center(.edge)
                case "symmetric": mode = .center(.symmetric)
                default:
                    Issue.record("unknown pad \(pad)")
                    continue
                }
                if n == 0 {
                    // librosa gives one all-zero frame (zero padding, even n_fft) or fails; we give none.
                    #expect(try options(mode).frameCount(forLength: 0) == 0)
                    #expect(counts[k] == nil || (pad == "zeros" && counts[k] == 1), "librosa \(pad) \(what)")
                } else if let reference = counts[k] {
                    #expect(try options(mode).frameCount(forLength: n) == reference, "librosa.stft \(pad) \(what)")
                } else {
                    // librosa.stft fails for n_fft = 1; nothing else may be missing.
                    #expect(L == 1, "unexpected librosa null \(pad) \(what)")
                }
            }
        }
    }
}

@Test func framesMatchLibrariesElementByElement() throws {
    let fixture = try load("windowing_frames.json", as: FrameFixture.self)
    #expect(fixture.cases.count == 56)
    for item in fixture.cases {
        #expect(item.modes.count == fixtureModes.count)
        for (name, reference) in item.modes {
            let mode = try #require(fixtureModes[name], "unknown mode \(name)")
            let options = try FrameOptions(length: item.length, hop: item.hop, boundary: mode)
            let batch = try Framer(options).frames(of: item.x, channels: item.channels)
            let what = "\(name) n=\(item.n) L=\(item.length) hop=\(item.hop) channels=\(item.channels)"
            #expect(batch.count == reference.count, "\(what)")
            assertClose(batch.samples, reference.frames, rtol: 0, atol: 0, "\(what)")
        }
    }
}

@Test func streamingMatchesLibraryFrames() throws {
    let fixture = try load("windowing_frames.json", as: FrameFixture.self)
    var rng = SplitMix64(seed: 99)
    for item in fixture.cases {
        for (name, reference) in item.modes {
            let mode = try #require(fixtureModes[name])
            let options = try FrameOptions(length: item.length, hop: item.hop, boundary: mode)
            var framer = try StreamingFramer(options, channels: item.channels)
            var samples: [Float] = []
            var position = 0
            while position < item.n {
                let size = min(item.n - position, Int(rng.next() % 4))
                var chunk: [Float] = []
                for c in 0..<item.channels {
                    chunk += item.x[(c * item.n + position)..<(c * item.n + position + size)]
                }
                samples += try framer.push(chunk).samples
                position += size
            }
            samples += try framer.finish().samples
            assertClose(samples, reference.frames, rtol: 0, atol: 0, "streaming \(name) n=\(item.n) L=\(item.length)")
        }
    }
}

private struct TorchFixture: Decodable {
    struct Case: Decodable {
        let length: Int
        let hop: Int
        let n: Int
        let x: [Float]
        let modes: [String: Result]
    }
    struct Result: Decodable {
        let count: Int?
        let frames: [Float]?
        let error: String?
    }
    let cases: [Case]
}

@Test func framesMatchTorchStft() throws {
    let fixture = try load("windowing_torch.json", as: TorchFixture.self)
    #expect(fixture.cases.count == 49)
    var compared = 0
    for item in fixture.cases {
        for (name, reference) in item.modes {
            let mode = try #require(fixtureModes[name], "unknown mode \(name)")
            let options = try FrameOptions(length: item.length, hop: item.hop, boundary: mode)
            let batch = try Framer(options).frames(of: item.x, channels: 1)
            let what = "torch \(name) n=\(item.n) L=\(item.length) hop=\(item.hop)"
            if let count = reference.count, let frames = reference.frames {
                #expect(batch.count == count, "\(what)")
                assertClose(batch.samples, frames, rtol: 0, atol: 1e-5, "\(what)")
                compared += 1
            } else if mode == .valid {
                #expect(item.n < item.length && batch.count == 0, "torch fails only below one window: \(what)")
            } else {
                // torch.stft refuses reflect padding ≥ the input; numpy (and this library) reflect periodically.
                #expect(mode == .center(.reflect) && item.length / 2 >= item.n, "unexpected torch error \(what)")
                #expect(batch.count == options.frameCount(forLength: item.n))
            }
        }
    }
    #expect(compared == 156)
}

private struct KaldiPresetFixture: Decodable {
    struct Preset: Decodable {
        let sampleRate: Double
        let frameLengthMs: Double
        let frameShiftMs: Double
        let snipEdges: Bool
        let n: Int
        let windowSize: Int
        let frames: Int
    }
    let presets: [Preset]
}

@Test func kaldiPresetMatchesKaldiNativeFbank() throws {
    let fixture = try load("windowing_kaldi_presets.json", as: KaldiPresetFixture.self)
    #expect(fixture.presets.count == 12)
    for preset in fixture.presets {
        let options = try FrameOptions.kaldi(
            sampleRate: preset.sampleRate, frameLengthMs: preset.frameLengthMs, frameShiftMs: preset.frameShiftMs,
            snipEdges: preset.snipEdges)
        let what =
            "\(preset.sampleRate) Hz, \(preset.frameLengthMs)/\(preset.frameShiftMs) ms, snip \(preset.snipEdges)"
        #expect(options.length == preset.windowSize, "\(what)")
        #expect(options.frameCount(forLength: preset.n) == preset.frames, "\(what)")
    }
}
