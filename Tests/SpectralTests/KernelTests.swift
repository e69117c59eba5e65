import CSpectralKernels
import Foundation
import TestSupport
import Testing

/// The libmvec (AVX2) logarithms against Foundation's scalar ones, with lengths that exercise the tail loop.
struct KernelTests {
    @Test(arguments: [0, 1, 7, 8, 9, 1000, 1003])
    func vectorLogsMatchScalarLogs(count: Int) {
        var rng = SplitMix64(seed: UInt64(count))
        let x: [Float] = (0..<count).map { i in
            i % 5 == 0 ? 0 : pow(10, rng.uniform(-12, 6))  // zeros hit the floor
        }
        var natural = x
        natural.withUnsafeMutableBufferPointer { spectral_log_floor($0.baseAddress, $0.count, 1e-10, 1) }
        assertClose(natural, x.map { Foundation.log(max($0, 1e-10)) }, rtol: 1e-6, atol: 1e-6, "ln, \(count)")
        var decibels = x
        decibels.withUnsafeMutableBufferPointer { spectral_log10_floor($0.baseAddress, $0.count, 1e-10, 10) }
        assertClose(decibels, x.map { 10 * log10(max($0, 1e-10)) }, rtol: 1e-6, atol: 1e-5, "dB, \(count)")
    }

    @Test func vectorPathIsReported() {
        let flag = spectral_kernels_vectorized()
        #expect(flag == 0 || flag == 1)
    }
}
