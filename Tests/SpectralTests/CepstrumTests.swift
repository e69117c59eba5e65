import TestSupport
import Testing

@testable import Spectral

struct CepstrumTests {
    @Test func dctMatchesScipyOrtho() throws {
        let x = try SpectralFixture.array("dct_input")
        let dct = try DCT(inputs: 20, outputs: 13)
        assertClose(try dct(x), try SpectralFixture.array("dct_ortho_13"), rtol: 1e-5, atol: 1e-5)
    }

    @Test func fullDCTIsOrthonormal() throws {
        let dct = try DCT(inputs: 9, outputs: 9)
        for i in 0..<9 {
            for j in 0..<9 {
                let dot = (0..<9).reduce(0.0) { $0 + Double(dct.matrix[i * 9 + $1]) * Double(dct.matrix[j * 9 + $1]) }
                #expect(abs(dot - (i == j ? 1 : 0)) < 1e-6, "rows \(i), \(j)")
            }
        }
        #expect(throws: SpectralError.self) { try DCT(inputs: 9, outputs: 10) }
    }

    @Test func liftersFollowKaldiAndLibrosa() {
        let kaldi = Lifter.kaldi(22).weights(count: 13)
        #expect(kaldi[0] == 1)
        #expect(abs(kaldi[11] - 12) < 1e-5)  // 1 + 11 sin(π/2)
        let librosa = Lifter.librosa(22).weights(count: 13)
        #expect(abs(librosa[10] - 12) < 1e-5)  // 1 + 11 sin(π · 11/22)
        #expect(Lifter.none.weights(count: 3) == [1, 1, 1])
    }

    @Test func powerToDBMatchesLibrosa() throws {
        let power = try SpectralFixture.array("db_input")
        assertClose(try powerToDB(power), try SpectralFixture.array("db_default"), rtol: 1e-5, atol: 1e-4)
        let maxRef = DecibelOptions(reference: .maximum, amin: 1e-5, topDB: 40)
        assertClose(
            try powerToDB(power, options: maxRef), try SpectralFixture.array("db_max_top40"), rtol: 1e-5, atol: 1e-4)
        let noClamp = DecibelOptions(reference: .value(2), topDB: nil)
        assertClose(
            try powerToDB(power, options: noClamp), try SpectralFixture.array("db_none"), rtol: 1e-5, atol: 1e-4)
        #expect(throws: SpectralError.self) {
            try powerToDB(power, options: DecibelOptions(reference: .value(1), amin: 0))
        }
    }

    @Test func deltasMatchLibrosaAndPsf() throws {
        let x = try SpectralFixture.array("delta_input")
        for (order, name) in [(1, "delta_librosa_1"), (2, "delta_librosa_2")] {
            assertClose(
                try deltas(x, dims: 5, order: order), try SpectralFixture.array(name), rtol: 1e-5, atol: 1e-5, name)
        }
        assertClose(
            try deltas(x, dims: 5, method: .savitzkyGolay(width: 5)), try SpectralFixture.array("delta_librosa_w5"),
            rtol: 1e-5, atol: 1e-5)
        assertClose(
            try deltas(x, dims: 5, method: .regression(window: 2)), try SpectralFixture.array("delta_psf_2"),
            rtol: 1e-5, atol: 1e-5)
    }

    @Test func regressionDeltaMatchesTorchaudioComputeDeltas() throws {
        let x = try SpectralFixture.array("delta_input")
        assertClose(
            try deltas(x, dims: 5, method: .regression(window: 2)), try SpectralFixture.array("delta_torchaudio_5"),
            rtol: 1e-5, atol: 1e-5)
    }

    @Test func kaldiSecondOrderKernelIsTheComposedRegression() {
        // Kaldi's delta-delta scales for window 2: [1 2 3 4 5 4 3 2 1]·conv… = (1/100)[4 4 1 -4 -10 -4 1 4 4].
        let kernel = regressionKernel(window: 2, order: 2)
        let expected: [Double] = [4, 4, 1, -4, -10, -4, 1, 4, 4].map { $0 / 100 }
        assertClose(kernel, expected, rtol: 0, atol: 1e-12)
    }

    @Test func featureDeltasWorkPerChannel() throws {
        let x = try SpectralFixture.array("delta_input")
        let features = try Features(channels: 2, frames: 12, dims: 5, values: x + x.map { -$0 })
        let delta = try features.deltas(method: .regression(window: 2))
        let expected = try SpectralFixture.array("delta_psf_2")
        assertClose(Array(delta.channel(0)), expected, rtol: 1e-5, atol: 1e-5)
        assertClose(Array(delta.channel(1)), expected.map { -$0 }, rtol: 1e-5, atol: 1e-5)
    }

    @Test func deltaRejectsTooFewFramesLikeLibrosa() {
        #expect(throws: SpectralError.self) { try deltas([Float](repeating: 0, count: 8 * 2), dims: 2) }
        #expect(throws: SpectralError.self) { try deltas([1, 2, 3], dims: 1, order: 0) }
    }
}

struct RunningPowerToDBTests {
    @Test func equalsOfflineOnceTheLoudestBlockHasPassed() throws {
        let power = try SpectralFixture.array("db_input")  // 54 values, the largest (5) at index 21
        for options in [
            DecibelOptions(), DecibelOptions(reference: .maximum, amin: 1e-5, topDB: 40),
            DecibelOptions(reference: .value(2), topDB: nil),
        ] {
            let offline = try powerToDB(power, options: options)
            var stream = try RunningPowerToDB(options: options)
            let first = stream(Array(power[0..<30]))
            let second = stream(Array(power[30...]))
            assertClose(first + second, offline, rtol: 1e-5, atol: 1e-4, "\(options)")
        }
    }

    @Test func earlyBlocksUseTheRunningMaximum() throws {
        var stream = try RunningPowerToDB(options: DecibelOptions(reference: .maximum, topDB: 10))
        let quiet = stream([1e-4, 1e-6])
        // ref = running max 1e-4: 0 dB and −20 dB clamped to −10 dB.
        assertClose(quiet, [0, -10], rtol: 0, atol: 1e-4)
        let loud = stream([1, 1e-4])
        assertClose(loud, [0, -10], rtol: 0, atol: 1e-4)
        #expect(stream.peakPower == 1)
    }
}
