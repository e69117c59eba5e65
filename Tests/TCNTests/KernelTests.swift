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

    /// The channels-last engine's fused ReLU-block kernels, with and without a dropout mask.
    @Test(arguments: [0, 1, 7, 8, 9, 16, 31, 100])
    func fusedReLUBlockKernelsMatchTheScalarExpressions(count: Int) {
        var rng = SplitMix64(seed: UInt64(count) + 17)
        let (a, r, dy, y) = (
            Self.values(count, &rng), Self.values(count, &rng), Self.values(count, &rng), Self.values(count, &rng)
        )
        let mask = (0..<count).map { i -> Float in i % 3 == 0 ? 0 : 1.25 }
        for m in [nil, mask] {
            var out = [Float](repeating: 7, count: count)
            m.withOptionalPointer { mp in tcn_relu_residual(a, mp, r, &out, count) }
            let expected = (0..<count).map { i -> Float in
                let v = (m.map { a[i] * $0[i] } ?? a[i]) + r[i]
                return v < 0 ? 0 : v
            }
            #expect(Self.bits(out) == Self.bits(expected), "relu_residual, mask \(m != nil)")
            var (dSum, g) = ([Float](repeating: 7, count: count), [Float](repeating: 7, count: count))
            m.withOptionalPointer { mp in tcn_relu_block_gradient(dy, y, a, mp, &dSum, &g, count) }
            let dSumExpected = (0..<count).map { i -> Float in y[i] > 0 ? dy[i] : 0 }
            let gExpected = (0..<count).map { i -> Float in
                a[i] > 0 ? (m.map { dSumExpected[i] * $0[i] } ?? dSumExpected[i]) : 0
            }
            #expect(Self.bits(dSum) == Self.bits(dSumExpected), "relu_block_gradient dsum, mask \(m != nil)")
            #expect(Self.bits(g) == Self.bits(gExpected), "relu_block_gradient g, mask \(m != nil)")
            var masked = dy
            m.withOptionalPointer { mp in tcn_masked_relu_gradient(&masked, a, mp, count) }
            let maskedExpected = (0..<count).map { i -> Float in a[i] > 0 ? (m.map { dy[i] * $0[i] } ?? dy[i]) : 0 }
            #expect(Self.bits(masked) == Self.bits(maskedExpected), "masked_relu_gradient, mask \(m != nil)")
        }
    }

    /// Channel sums (the channels-last bias gradient): each channel summed in row order, as the scalar loop. Finite
    /// values of mixed magnitudes, where the order shows in the rounding (which NaN a sum of several NaNs and
    /// infinities ends with depends on how the compiler orders each addition's operands, in any loop).
    @Test(arguments: [(0, 8), (1, 3), (5, 8), (7, 13), (100, 32), (33, 17)])
    func channelSumsMatchTheScalarLoop(rows: Int, channels: Int) {
        var rng = SplitMix64(seed: UInt64(rows * 31 + channels))
        let x = rng.uniformArray(rows * channels, -2, 2).enumerated().map { $0 % 7 == 0 ? $1 * 1e6 : $1 }
        var sums = [Float](repeating: 7, count: channels)
        tcn_channel_sums(x, rows, channels, &sums)
        let expected = (0..<channels).map { c in (0..<rows).reduce(Float(0)) { $0 + x[$1 * channels + c] } }
        #expect(Self.bits(sums) == Self.bits(expected))
    }

    /// Adam's vectorised step against the scalar Swift expression it replaced (the parity tests check it against
    /// `torch.optim.Adam`).
    @Test(arguments: [0, 1, 7, 8, 9, 16, 31, 100])
    func adamMatchesTheScalarExpression(count: Int) {
        var rng = SplitMix64(seed: UInt64(count) + 11)
        let g = rng.uniformArray(count, -2, 2)
        var (p, m) = (rng.uniformArray(count, -1, 1), rng.uniformArray(count, -0.1, 0.1))
        var v = rng.uniformArray(count, 0, 0.01)
        let (b1, b2, epsilon, stepSize, correction2Root): (Float, Float, Float, Float, Float) = (
            0.9, 0.999, 1e-8, 3e-3, 0.0447
        )
        var (pRef, mRef, vRef) = (p, m, v)
        for i in 0..<count {
            mRef[i] += (g[i] - mRef[i]) * (1 - b1)
            vRef[i] = b2 * vRef[i] + (1 - b2) * g[i] * g[i]
            let denominator = vRef[i].squareRoot() / correction2Root + epsilon
            pRef[i] -= stepSize * mRef[i] / denominator
        }
        tcn_adam(&p, &m, &v, g, count, 1 - b1, b2, 1 - b2, correction2Root, epsilon, stepSize)
        #expect(Self.bits(m) == Self.bits(mRef))
        #expect(Self.bits(v) == Self.bits(vRef))
        #expect(Self.bits(p) == Self.bits(pRef))
    }
}

extension Optional where Wrapped == [Float] {
    /// Calls `body` with the array's base address, or `nil` for `nil`.
    fileprivate func withOptionalPointer(_ body: (UnsafePointer<Float>?) -> Void) {
        guard let array = self else { return body(nil) }
        array.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
