import CTCNKernels
import TestSupport
import Testing

/// The AVX2 element-wise kernels against the scalar expressions they replace, bit for bit, on lengths around the
/// vector width and on values that separate the cases (NaN, ±0, ±∞, negatives). On a CPU without AVX2 this checks
/// the scalar path instead (`tcn_kernels_vectorized()` says which ran).
struct KernelTests {
    static func values(_ count: Int, _ rng: inout SplitMix64) -> [Float] {
        let special: [Float] = [.nan, 0, -0, .infinity, -.infinity, 1e-30, -1e-30]
        return (0..<count).map { i in i % 5 == 0 ? special[(i / 5) % special.count] : rng.uniformArray(1, -2, 2)[0] }
    }

    static func bits(_ x: [Float]) -> [UInt32] { x.map(\.bitPattern) }

    @Test(arguments: [0, 1, 7, 8, 9, 16, 31, 100])
    func kernelsMatchTheScalarExpressions(count: Int) {
        var rng = SplitMix64(seed: UInt64(count) + 3)
        let x = Self.values(count, &rng)
        let g = Self.values(count, &rng)
        var y = x
        tcn_relu(&y, count)
        #expect(Self.bits(y) == Self.bits(x.map { $0 < 0 ? 0 : $0 }))
        var copy = [Float](repeating: 7, count: count)
        tcn_relu_copy(x, &copy, count)
        #expect(Self.bits(copy) == Self.bits(y))
        var d = g
        tcn_relu_gradient(&d, x, count)
        let expected = zip(g, x).map { gi, xi in xi > 0 ? gi : 0 }
        #expect(Self.bits(d) == Self.bits(expected))
        var d2 = [Float](repeating: 7, count: count)
        tcn_relu_gradient_copy(g, x, &d2, count)
        #expect(Self.bits(d2) == Self.bits(expected))
        var product = x
        tcn_multiply(&product, g, count)
        #expect(Self.bits(product) == Self.bits(zip(x, g).map { $0 * $1 }))
        var sum = x
        tcn_add(&sum, g, count)
        #expect(Self.bits(sum) == Self.bits(zip(x, g).map { $0 + $1 }))
    }
}
