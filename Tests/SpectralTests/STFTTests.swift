import TestSupport
import Testing

@testable import Spectral

struct STFTTests {
    @Test func complexSTFTMatchesLibrosaWithShortWindow() throws {
        let x = Array(try SpectralFixture.array("input_a").prefix(1600))
        let stft = try STFT(options: STFTOptions(nFFT: 256, hopLength: 80, winLength: 200))
        let spectrogram = try stft(samples: x, channels: 1)
        #expect(try SpectralFixture.shape("stft_librosa") == [spectrogram.frames, spectrogram.bins, 2])
        assertClose(spectrogram.values, try SpectralFixture.array("stft_librosa"), rtol: 1e-4, atol: 2e-5)
    }

    @Test func complexSTFTMatchesTorchReflect() throws {
        let x = Array(try SpectralFixture.array("input_a").prefix(1600))
        let stft = try STFT(options: .torch(nFFT: 256, hopLength: 80, winLength: 200))
        let spectrogram = try stft(samples: x, channels: 1)
        assertClose(spectrogram.values, try SpectralFixture.array("stft_torch_reflect"), rtol: 1e-4, atol: 2e-5)
    }

    @Test func oddFFTReflectOnTwoChannels() throws {
        let both = try SpectralFixture.array("input_b")
        let x = Array(both[0..<1000]) + Array(both[2400..<3400])
        let stft = try STFT(options: STFTOptions(nFFT: 255, hopLength: 100, padMode: .reflect))
        let spectrogram = try stft(samples: x, channels: 2)
        #expect(spectrogram.channels == 2 && spectrogram.bins == 128)
        assertClose(
            spectrogram.power(), try SpectralFixture.array("stft_librosa_odd_reflect_2ch"), rtol: 1e-4, atol: 1e-5)
    }

    @Test func uncenteredSTFT() throws {
        let x = Array(try SpectralFixture.array("input_a").prefix(1000))
        let stft = try STFT(options: STFTOptions(nFFT: 128, hopLength: 64, center: false))
        assertClose(
            try stft(samples: x, channels: 1).magnitude(), try SpectralFixture.array("stft_librosa_nocenter"),
            rtol: 1e-4, atol: 1e-5)
    }

    @Test(arguments: [
        STFTOptions(nFFT: 256, hopLength: 64), STFTOptions(nFFT: 255, hopLength: 50, padMode: .reflect),
        STFTOptions(nFFT: 512, hopLength: 160, winLength: 400), STFTOptions(nFFT: 64, hopLength: 16, center: false),
    ])
    func inverseRoundTrips(options: STFTOptions) throws {
        var rng = SplitMix64(seed: 11)
        for length in [1000, 1001, 777] {
            let x = rng.uniformArray(2 * length)
            let stft = try STFT(options: options)
            let y = try stft.inverse(try stft(samples: x, channels: 2), length: length)
            #expect(y.count == x.count)
            if options.center {
                assertClose(y, x, rtol: 1e-4, atol: 1e-4, "\(options) length \(length)")
            } else {
                // Without centring, samples outside the first/last full frame have no window coverage.
                let covered = (options.nFFT..<(length - options.nFFT))
                for c in 0..<2 {
                    assertClose(
                        covered.map { y[c * length + $0] }, covered.map { x[c * length + $0] }, rtol: 1e-4, atol: 1e-4)
                }
            }
        }
    }

    @Test func inverseWithoutLengthTrimsTheCentrePadding() throws {
        let stft = try STFT(options: STFTOptions(nFFT: 128, hopLength: 32))
        let x = (0..<640).map { Float($0 % 17) / 17 - 0.5 }
        let y = try stft.inverse(try stft(samples: x, channels: 1))
        #expect(y.count == 640)  // 1 + 640/32 = 21 frames → 128 + 20·32 − 128 samples
        assertClose(y, x, rtol: 1e-4, atol: 1e-4)
    }

    @Test func badParametersNameTheParameter() {
        #expect(
            throws: SpectralError.invalidParameter(name: "winLength", value: "600", reason: "must be in 1…nFFT = 512")
        ) {
            try STFT(options: STFTOptions(nFFT: 512, winLength: 600))
        }
        #expect(throws: SpectralError.invalidParameter(name: "hopLength", value: "0", reason: "must be ≥ 1")) {
            try STFT(options: STFTOptions(nFFT: 512, hopLength: 0))
        }
    }

    @Test func emptyAndShortSignals() throws {
        let stft = try STFT(options: STFTOptions(nFFT: 64, hopLength: 16))
        #expect(try stft(samples: [], channels: 1).frames == 0)
        let one = try stft(samples: [0.5], channels: 1)
        #expect(one.frames == 1)
        // A single sample under zero padding: X[k] = w[32] · 0.5 · e^{−2πik·32/64} = 0.5 · (−1)^k.
        for k in 0..<one.bins {
            #expect(abs(one.values[2 * k] - (k % 2 == 0 ? 0.5 : -0.5)) < 1e-6 && abs(one.values[2 * k + 1]) < 1e-6)
        }
    }
}

struct SpectrogramConsistencyTests {
    @Test func linearFeaturesEqualTheSTFTPowerAndMagnitude() throws {
        let x = Array(try SpectralFixture.array("input_b").prefix(2 * 1200))
        let stft = try STFT(options: STFTOptions(nFFT: 256, hopLength: 64, winLength: 200, padMode: .reflect))
        let spectrogram = try stft(samples: x, channels: 2)
        var options = FeatureOptions(
            sampleRate: 16000, frameLength: 256, hopLength: 64, boundary: .center(.reflect), windowLength: 200,
            mel: nil, log: .none)
        let power = try FeatureExtractor(options: options).features(samples: x, channels: 2)
        #expect(power.dims == 129 && power.frames == spectrogram.frames)
        assertClose(power.values, spectrogram.power(), rtol: 1e-5, atol: 1e-6)
        options.spectrum = .magnitude
        let magnitude = try FeatureExtractor(options: options).features(samples: x, channels: 2)
        assertClose(magnitude.values, spectrogram.magnitude(), rtol: 1e-5, atol: 1e-6)
    }
}
