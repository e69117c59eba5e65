import TestSupport
import Testing

@testable import Spectral

struct MelFilterBankTests {
    private func check(
        _ name: String, _ options: MelOptions, nFFT: Int, sampleRate: Double = 16000,
        rtol: Double = 1e-5, atol: Double = 1e-7
    ) throws {
        let bank = try MelFilterBank(options: options, nFFT: nFFT, sampleRate: sampleRate)
        let expected = try SpectralFixture.array(name)
        #expect(try SpectralFixture.shape(name) == [bank.bands, bank.bins], "\(name)")
        assertClose(bank.weights, expected, rtol: rtol, atol: atol, name)
    }

    @Test func librosaSlaneyBanks() throws {
        try check("mel_librosa_256_20", MelOptions(bands: 20), nFFT: 256)
        try check("mel_librosa_odd_255_16", MelOptions(bands: 16), nFFT: 255, sampleRate: 22050)
    }

    @Test func librosaHTKWithoutNorm() throws {
        let options = MelOptions(bands: 40, minHz: 100, maxHz: 6000, scale: .htk, norm: .none)
        try check("mel_librosa_htk_256_40", options, nFFT: 256)
    }

    @Test func torchaudioBinGridForOddFFT() throws {
        let options = MelOptions(
            bands: 24, minHz: 30, maxHz: 7000, scale: .htk, norm: .slaney, binFrequencies: .torchaudio)
        try check("mel_torchaudio_odd_255_24", options, nFFT: 255, rtol: 1e-4, atol: 1e-6)
    }

    @Test func kaldiMelDomainTriangles() throws {
        // kaldi-native-fbank computes in float32, so the tolerance is float32's (relative 1e-5 of weights ≤ 1).
        try check(
            "mel_kaldi_23", MelOptions(bands: 23, minHz: 20, maxHz: 0, scale: .kaldi, norm: .none, triangles: .kaldi),
            nFFT: 512, atol: 2e-5)
        try check(
            "mel_kaldi_40_m400",
            MelOptions(bands: 40, minHz: 60, maxHz: -400, scale: .kaldi, norm: .none, triangles: .kaldi),
            nFFT: 256, atol: 2e-5)
    }

    @Test func pythonSpeechFeaturesBank() throws {
        try check("mel_psf_26", MelOptions(bands: 26, scale: .htk, norm: .none, triangles: .psf), nFFT: 512)
    }

    @Test func emptyFilterIsAnErrorNamingTheBand() throws {
        do {
            _ = try MelFilterBank(
                options: MelOptions(bands: 128, scale: .htk, norm: .none), nFFT: 400, sampleRate: 16000)
            Issue.record("expected an empty-filter error")
        } catch let error {
            guard case .emptyMelFilter(let band, _, _, let bands, let nFFT) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(band >= 0 && band < 128 && bands == 128 && nFFT == 400)
            #expect(error.description.contains("mel band \(band)"))
        }
        var allowed = MelOptions(bands: 128, scale: .htk, norm: .none)
        allowed.allowEmptyFilters = true
        #expect(try MelFilterBank(options: allowed, nFFT: 400, sampleRate: 16000).bands == 128)
    }

    @Test func badFrequenciesAreRejectedWithTheirNames() {
        #expect(
            throws: SpectralError.invalidParameter(
                name: "fmax", value: "9000.0", reason: "must be ≤ Nyquist = 8000.0 Hz")
        ) {
            try MelFilterBank(options: MelOptions(bands: 10, maxHz: 9000), nFFT: 512, sampleRate: 16000)
        }
        #expect(throws: SpectralError.self) {
            try MelFilterBank(options: MelOptions(bands: 0), nFFT: 512, sampleRate: 16000)
        }
        #expect(throws: SpectralError.self) {
            try MelFilterBank(options: MelOptions(bands: 10, minHz: 4000, maxHz: 3000), nFFT: 512, sampleRate: 16000)
        }
    }

    @Test func scalesRoundTrip() {
        for scale in [MelScale.slaney, .htk, .kaldi] {
            for hz in [0.0, 20, 700, 999, 1000, 1001, 8000, 22050] {
                #expect(abs(scale.hz(scale.mel(hz)) - hz) < 1e-9 * max(1, hz), "\(scale) \(hz)")
            }
        }
    }

    @Test(arguments: [1, 3, 300])  // below and above the sgemm threshold
    func projectionIsMatrixProduct(frames: Int) throws {
        let bank = try MelFilterBank(options: MelOptions(bands: 20), nFFT: 64, sampleRate: 8000)
        var rng = SplitMix64(seed: 3)
        let spectrum = rng.uniformArray(frames * bank.bins, 0, 1)
        let projected = try bank(spectrum)
        var expected = [Float](repeating: 0, count: frames * 20)
        for f in 0..<frames {
            for b in 0..<20 {
                var sum = 0.0
                for k in 0..<bank.bins {
                    sum += Double(spectrum[f * bank.bins + k]) * Double(bank.weights[b * bank.bins + k])
                }
                expected[f * 20 + b] = Float(sum)
            }
        }
        assertClose(projected, expected, rtol: 1e-5, atol: 1e-7)
    }
}
