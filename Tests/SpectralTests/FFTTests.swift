import Foundation
import TestSupport
import Testing

@testable import Spectral

struct FFTTests {
    /// The DFT by definition, in double precision.
    private func naiveDFT(_ x: [Float], size: Int) -> [Double] {
        (0..<(size / 2 + 1)).flatMap { k -> [Double] in
            var re = 0.0
            var im = 0.0
            for n in 0..<size {
                let angle = -2 * Double.pi * Double(k * n) / Double(size)
                re += Double(x[n]) * cos(angle)
                im += Double(x[n]) * sin(angle)
            }
            return [re, im]
        }
    }

    @Test(arguments: [1, 2, 7, 16, 255, 400, 512])
    func forwardMatchesTheDefinition(size: Int) throws {
        var rng = SplitMix64(seed: UInt64(size))
        let x = rng.uniformArray(size)
        let fft = try RealFFT.shared(size: size)
        assertClose(fft.forward(x), naiveDFT(x, size: size), rtol: 1e-4, atol: 1e-4 * Double(size).squareRoot())
    }

    @Test func inverseRoundTripsAndParsevalHolds() throws {
        var rng = SplitMix64(seed: 9)
        for size in [8, 9, 512] {
            let x = rng.uniformArray(size)
            let fft = try RealFFT.shared(size: size)
            let spectrum = fft.forward(x)
            assertClose(fft.inverse(spectrum), x, rtol: 1e-5, atol: 1e-5, "size \(size)")
            // Parseval for a real signal: Σ x² = (|X0|² + 2 Σ_{0<k<N/2} |Xk|² + |X_{N/2}|² [N even]) / N.
            var energy = 0.0
            for k in 0..<fft.bins {
                let power = Double(spectrum[2 * k] * spectrum[2 * k] + spectrum[2 * k + 1] * spectrum[2 * k + 1])
                let onEdge = k == 0 || (size % 2 == 0 && k == size / 2)
                energy += onEdge ? power : 2 * power
            }
            let timeEnergy = x.reduce(0.0) { $0 + Double($1 * $1) }
            #expect(abs(energy / Double(size) - timeEnergy) < 1e-4 * timeEnergy, "size \(size)")
        }
    }

    @Test func planCacheSharesOnePlanPerSizeAcrossThreads() async throws {
        let reference = try RealFFT.shared(size: 384)
        let x = (0..<384).map { Float(sin(Double($0) * 0.1)) }
        let expected = reference.forward(x)
        try await withThrowingTaskGroup(of: (Bool, [Float]).self) { group in
            for _ in 0..<8 {
                group.addTask {
                    let fft = try RealFFT.shared(size: 384)
                    return (fft === reference, fft.forward(x))
                }
            }
            for try await (same, spectrum) in group {
                #expect(same)
                #expect(spectrum == expected)
            }
        }
        #expect(throws: SpectralError.self) { try RealFFT(size: 0) }
    }
}
