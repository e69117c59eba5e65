import Foundation
import TestSupport
import Testing

@testable import Spectral

struct WelchTests {
    @Test func defaultsMatchScipyWelch() throws {
        let x = try SpectralFixture.array("input_a")
        let psd = try welch(x, channels: 1, options: WelchOptions(sampleRate: 16000))
        #expect(psd.segments == 30 && psd.frequencies.count == 129 && psd.frequencies[128] == 8000)
        assertClose(psd.values, try SpectralFixture.array("welch_default"), rtol: 1e-4, atol: 1e-12)
    }

    @Test func medianSpectrumOnTwoChannels() throws {
        let x = try SpectralFixture.array("input_b")
        let options = WelchOptions(
            sampleRate: 16000, segmentLength: 200, overlap: 120, scaling: .spectrum, average: .median)
        let psd = try welch(x, channels: 2, options: options)
        assertClose(psd.values, try SpectralFixture.array("welch_median_spectrum_2ch"), rtol: 1e-4, atol: 1e-12)
    }

    @Test func oddSegmentHammingNoDetrendMedian() throws {
        let x = Array(try SpectralFixture.array("input_a").prefix(1001))
        let options = WelchOptions(
            sampleRate: 16000, window: .hamming, segmentLength: 129, detrend: .none, average: .median)
        assertClose(
            try welch(x, channels: 1, options: options).values, try SpectralFixture.array("welch_odd_hamming_median"),
            rtol: 1e-4, atol: 1e-12)
    }

    @Test func linearDetrendWithZeroPaddedFFT() throws {
        let x = Array(try SpectralFixture.array("input_a").prefix(3000))
        let options = WelchOptions(sampleRate: 16000, segmentLength: 256, overlap: 200, nFFT: 512, detrend: .linear)
        let psd = try welch(x, channels: 1, options: options)
        #expect(psd.frequencies.count == 257)
        assertClose(psd.values, try SpectralFixture.array("welch_linear_nfft512"), rtol: 1e-4, atol: 1e-12)
    }

    @Test func periodogramOddLength() throws {
        let x = Array(try SpectralFixture.array("input_a").prefix(999))
        assertClose(
            try periodogram(x, channels: 1, sampleRate: 16000).values, try SpectralFixture.array("periodogram_odd"),
            rtol: 1e-4, atol: 1e-12)
    }

    @Test func sinePeakAndWhiteNoiseLevel() throws {
        // A bin-centred sine of amplitude A under 'spectrum' scaling shows A²/2 at its bin (closed form below).
        let fs = 1000.0
        let n = 8192
        let amplitude: Float = 2
        let x = (0..<n).map { amplitude * Float(sin(2 * Double.pi * 125 * Double($0) / fs)) }
        let psd = try welch(
            x, channels: 1, options: WelchOptions(sampleRate: fs, segmentLength: 256, scaling: .spectrum))
        let peak = try #require(psd.values.indices.max { psd.values[$0] < psd.values[$1] })
        #expect(abs(psd.frequencies[peak] - 125) < 1e-9)
        // Hann, bin-centred sine: |X[k0]| = A N/4, Σw = N/2 → spectrum = 2 · (A N/4)² / (N/2)² = A²/2.
        #expect(abs(psd.values[peak] - amplitude * amplitude / 2) < 1e-3)
        // White noise of variance σ²: one-sided density 2σ²/fs on average.
        var rng = SplitMix64(seed: 21)
        let noise = (0..<(1 << 16)).map { _ in rng.normal() }
        let density = try welch(noise, channels: 1, options: WelchOptions(sampleRate: fs))
        let interior = density.values[1..<(density.values.count - 1)]
        let level = interior.reduce(0.0) { $0 + Double($1) } / Double(interior.count)
        #expect(abs(level - 2 / fs) < 0.02 * 2 / fs, "mean density \(level)")
        // The median estimate is bias-corrected to the same level.
        var options = WelchOptions(sampleRate: fs)
        options.average = .median
        let robust = try welch(noise, channels: 1, options: options).values[1..<128]
        let robustLevel = robust.reduce(0.0) { $0 + Double($1) } / Double(robust.count)
        #expect(abs(robustLevel - 2 / fs) < 0.05 * 2 / fs, "median density \(robustLevel)")
    }

    @Test func medianBiasMatchesScipy() {
        // scipy.signal._spectral_py._median_bias(1), (3), (30) (scipy 1.18.1)
        #expect(medianBias(1) == 1)
        #expect(abs(medianBias(3) - (1 + 1.0 / 3 - 0.5)) < 1e-15)
        #expect(abs(medianBias(30) - 0.7100914710247312) < 1e-12)
    }

    @Test func badParametersAreNamed() {
        #expect(throws: SpectralError.self) { try welch([], channels: 1) }
        #expect(throws: SpectralError.self) {
            try welch([1, 2, 3, 4], channels: 1, options: WelchOptions(sampleRate: 0))
        }
        var options = WelchOptions(sampleRate: 1)
        options.overlap = 300
        #expect(throws: SpectralError.self) {
            try welch([Float](repeating: 0, count: 1000), channels: 1, options: options)
        }
    }
}
