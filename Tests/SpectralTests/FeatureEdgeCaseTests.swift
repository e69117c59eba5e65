import AudioIO
import TestSupport
import Testing

@testable import Spectral

struct FeatureEdgeCaseTests {
    @Test func badOptionsNameTheParameter() {
        var options = FeatureOptions.librosa
        options.nFFT = 1024
        #expect(
            throws: SpectralError.invalidParameter(
                name: "nFFT", value: "1024", reason: "must be ≥ the frame length 2048")
        ) {
            try FeatureExtractor(options: options)
        }
        options = .kaldi
        options.hopLength = 0
        #expect(throws: SpectralError.invalidParameter(name: "hopLength", value: "0", reason: "must be ≥ 1")) {
            try FeatureExtractor(options: options)
        }
        options = .kaldi
        options.mel?.maxHz = 9000
        #expect(throws: SpectralError.self) { try FeatureExtractor(options: options) }
        options = .kaldiMFCC
        options.cepstrum?.count = 30
        #expect(throws: SpectralError.self) { try FeatureExtractor(options: options) }
        options = .librosa
        options.frameLength = 256
        options.nFFT = 256
        do {
            _ = try FeatureExtractor(options: options)
            Issue.record("128 mel bands over 129 bins should leave an empty band")
        } catch {
            guard case .emptyMelFilter(let band, _, _, 128, 256) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(error.description.hasPrefix("mel band \(band) of 128"))
        }
        options = .kaldi
        options.energy = .replaceC0
        #expect(throws: SpectralError.self) { try FeatureExtractor(options: options) }
        options = .librosa
        options.windowLength = 4096
        #expect(throws: SpectralError.self) { try FeatureExtractor(options: options) }
    }

    @Test func sampleRateMismatchIsRefused() throws {
        let signal = try Signal(samples: [Float](repeating: 0, count: 100), channels: 1, sampleRate: 8000)
        #expect(throws: SpectralError.self) { try FeatureExtractor(options: .kaldi)(signal) }
    }

    @Test func nonFiniteInputIsNamed() throws {
        var samples = [Float](repeating: 0.1, count: 2 * 500)
        samples[500 + 123] = .nan
        do {
            _ = try FeatureExtractor(options: .kaldi).features(samples: samples, channels: 2)
            Issue.record("expected invalidInput")
        } catch {
            #expect(
                error == .invalidInput(channel: 1, sample: 123, value: .nan) || error.description.contains("channel 1"))
        }
        samples[500 + 123] = 0
        samples[7] = .infinity
        #expect(throws: SpectralError.invalidInput(channel: 0, sample: 7, value: .infinity)) {
            try STFT(options: STFTOptions(nFFT: 64))(samples: samples, channels: 2)
        }
        var stream = try StreamingFeatureExtractor(options: .kaldi, channels: 1)
        _ = try stream.push([Float](repeating: 0, count: 300))
        #expect(throws: SpectralError.invalidInput(channel: 0, sample: 305, value: -.infinity)) {
            try stream.push([0, 0, 0, 0, 0, -.infinity])
        }
    }

    @Test func emptyAndOneSampleSignals() throws {
        for options in [FeatureOptions.librosa, .torchaudio, .kaldi, .kaldiStreaming, .whisper, .psf] {
            let extractor = try FeatureExtractor(options: options)
            let empty = try extractor.features(samples: [], channels: 1)
            #expect(empty.frames == 0 && empty.values.isEmpty)
            let none = try extractor.features(samples: [], channels: 0)
            #expect(none.channels == 0 && none.values.isEmpty)
            let one = try extractor.features(samples: [0.25], channels: 1)
            #expect(one.values.allSatisfy { $0.isFinite }, "\(options.dims) dims")
        }
        // One sample: librosa centres one frame on it, Kaldi without snip_edges keeps none ((1 + 80) / 160 = 0),
        // python_speech_features pads one frame, Whisper drops its only frame.
        func frames(_ options: FeatureOptions) throws -> Int {
            try FeatureExtractor(options: options).features(samples: [0.25], channels: 1).frames
        }
        #expect(try frames(.librosa) == 1)
        #expect(try frames(.kaldiStreaming) == 0)
        #expect(try frames(.psf) == 1)
        #expect(try frames(.whisper) == 0)
    }

    @Test func librosaSilenceIsTheDecibelFloor() throws {
        var options = FeatureOptions.librosa
        options.sampleRate = 16000
        let features = try FeatureExtractor(options: options).features(
            samples: [Float](repeating: 0, count: 4096), channels: 1)
        // power_to_db(0) = 10 log10(amin = 1e-10) = −100 dB everywhere (top_db does not bind on a flat array).
        #expect(features.frames == 9)  // 1 + 4096 / 512
        assertClose(features.values, [Float](repeating: -100, count: features.values.count), rtol: 0, atol: 1e-4)
    }

    @Test func channelsAreIndependent() throws {
        let a = try SpectralFixture.array("input_a")
        let b = a.map { 0.5 * $0 }
        let both = try FeatureExtractor(options: .kaldiMFCC).features(samples: a + b, channels: 2)
        let first = try FeatureExtractor(options: .kaldiMFCC).features(samples: a, channels: 1)
        let second = try FeatureExtractor(options: .kaldiMFCC).features(samples: b, channels: 1)
        assertClose(Array(both.channel(0)), first.values, rtol: 1e-5, atol: 1e-4)
        assertClose(Array(both.channel(1)), second.values, rtol: 1e-5, atol: 1e-4)
    }
}

@Test func featuresRejectAMismatchedShape() {
    #expect(throws: SpectralError.self) { try Features(channels: 2, frames: 3, dims: 4, values: [1, 2, 3]) }
    #expect(throws: SpectralError.self) { try ComplexSpectrogram(channels: 1, frames: 1, bins: 3, values: [0, 0]) }
}
