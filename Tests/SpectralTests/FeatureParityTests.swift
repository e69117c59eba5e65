import AudioIO
import TestSupport
import Testing

@testable import Spectral

/// Every preset against the library it names, element by element, on the fixtures of spectral_fixtures.py.
struct FeatureParityTests {
    static func signal(_ name: String, channels: Int = 1) throws -> Signal {
        try Signal(samples: try SpectralFixture.array(name), channels: channels, sampleRate: 16000)
    }

    private func check(
        _ options: FeatureOptions, input: String, channels: Int = 1, expected name: String,
        rtol: Double, atol: Double, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let features = try FeatureExtractor(options: options)(try Self.signal(input, channels: channels))
        let shape = try SpectralFixture.shape(name)
        let expectedShape =
            channels == 1 ? [features.frames, features.dims] : [channels, features.frames, features.dims]
        #expect(shape == expectedShape, "\(name) shape", sourceLocation: sourceLocation)
        assertClose(
            features.values, try SpectralFixture.array(name), rtol: rtol, atol: atol, name,
            sourceLocation: sourceLocation)
    }

    // Kaldi computes in float32 on the int16 scale; 1e-3 absolute on log energies (≈ 0.004 dB).
    @Test func kaldiFbankMatchesKaldiNativeFbank() throws {
        try check(.kaldi, input: "input_a", expected: "kaldi_fbank_a", rtol: 0, atol: 1e-3)
    }

    @Test func kaldiStreamingPresetMatchesKaldiNativeFbankWithoutSnipEdges() throws {
        try check(.kaldiStreaming, input: "input_a", expected: "kaldi_fbank80_nosnip_a", rtol: 0, atol: 1e-3)
        try check(.kaldiStreaming, input: "input_short", expected: "kaldi_fbank80_nosnip_short", rtol: 0, atol: 1e-3)
    }

    @Test func kaldiSilenceIsTheEpsilonFloor() throws {
        let silence = try Signal(samples: [Float](repeating: 0, count: 800), channels: 1, sampleRate: 16000)
        let features = try FeatureExtractor(options: .kaldi)(silence)
        assertClose(features.values, try SpectralFixture.array("kaldi_fbank_silence"), rtol: 0, atol: 1e-5)
    }

    @Test func kaldiEnergyAndMFCC() throws {
        var energy = FeatureOptions.kaldi
        energy.energy = .prepend
        try check(energy, input: "input_a", expected: "kaldi_fbank_energy_a", rtol: 0, atol: 1e-3)
        try check(.kaldiMFCC, input: "input_a", expected: "kaldi_mfcc_a", rtol: 0, atol: 2e-3)
    }

    @Test func kaldiWindowedEnergyWithFloor() throws {
        var options = FeatureOptions.kaldi
        options.energy = .prepend
        options.energySource = .windowed
        options.energyFloor = 1
        let quiet = try SpectralFixture.array("input_a").map { $0 * 0.01 }
        let features = try FeatureExtractor(options: options)(
            try Signal(samples: quiet, channels: 1, sampleRate: 16000))
        assertClose(
            features.values, try SpectralFixture.array("kaldi_fbank_energy_windowed_floor_a"), rtol: 0, atol: 1e-3)
    }

    @Test func kaldiSnipEdgesDropsAShortSignal() throws {
        let features = try FeatureExtractor(options: .kaldi)(try Self.signal("input_short"))
        #expect(features.frames == 0 && features.values.isEmpty)
    }

    // python_speech_features computes in float64; we are float32: 1e-3 absolute on logs and cepstra.
    @Test func psfMatchesPythonSpeechFeatures() throws {
        try check(.psf, input: "input_a", expected: "psf_mfcc_a", rtol: 0, atol: 2e-3)
        try check(.psfLogFbank, input: "input_a", expected: "psf_logfbank_a", rtol: 0, atol: 1e-3)
        try check(.psf, input: "input_short", expected: "psf_mfcc_short", rtol: 0, atol: 2e-3)
    }

    // Whisper's values are (log10 + 4) / 4, so 2.5e-4 here is 1e-3 in log10 units (0.01 dB).
    @Test func whisperMatchesWhisperLogMelSpectrogram() throws {
        try check(.whisper, input: "input_a", expected: "whisper_a", rtol: 0, atol: 2.5e-4)
        var quiet = try SpectralFixture.array("input_a")
        for i in 0..<2000 { quiet[i] *= 1e-4 }
        let features = try FeatureExtractor(options: .whisper)(
            try Signal(samples: quiet, channels: 1, sampleRate: 16000))
        assertClose(features.values, try SpectralFixture.array("whisper_quiet_a"), rtol: 0, atol: 2.5e-4)
    }

    @Test func torchaudioMelSpectrogramDefaultsOnTwoChannels() throws {
        try check(
            .torchaudio, input: "input_b", channels: 2, expected: "torchaudio_melspec_default_b", rtol: 1e-4, atol: 1e-5
        )
    }

    @Test func kaldiPresetMatchesTorchaudioComplianceKaldi() throws {
        try check(.kaldi, input: "input_a", expected: "torchaudio_kaldi_fbank_a", rtol: 0, atol: 1e-3)
    }

    private func librosaOptions(mels: Int = 40) -> FeatureOptions {
        var options = FeatureOptions.librosa
        options.sampleRate = 16000
        options.frameLength = 512
        options.nFFT = 512
        options.hopLength = 160
        options.windowLength = 400
        options.mel = MelOptions(bands: mels)
        return options
    }

    @Test func librosaMelDecibelsAndMFCC() throws {
        try check(librosaOptions(), input: "input_a", expected: "librosa_melspec_db_a", rtol: 0, atol: 1e-3)
        var mfcc = librosaOptions()
        mfcc.cepstrum = CepstrumOptions(count: 13)
        try check(mfcc, input: "input_a", expected: "librosa_mfcc_a", rtol: 0, atol: 2e-3)
    }

    @Test func librosaDefaultMFCCWithLifterOnTwoChannels() throws {
        var options = FeatureOptions.librosaMFCC
        options.sampleRate = 16000
        options.cepstrum?.lifter = .librosa(22)
        try check(
            options, input: "input_b", channels: 2, expected: "librosa_mfcc_default_lifter_b", rtol: 0, atol: 5e-3)
    }

    @Test func librosaShortSignalIsPaddedLikeLibrosa() throws {
        var options = librosaOptions()
        options.log = .none
        try check(options, input: "input_short", expected: "librosa_melspec_short", rtol: 1e-4, atol: 1e-6)
    }
}
