import Foundation
import TestSupport
import Testing

@testable import TCN

struct ConvolutionTests {
    static let cases: [(kernel: Int, dilation: Int)] = [1, 2, 3, 7].flatMap { k in [1, 2, 4].map { (k, $0) } }

    @Test(arguments: ConvolutionPadding.allCases, [false, true])
    func forwardMatchesDoubleReferenceAndGradientsMatchFiniteDifferences(
        padding: ConvolutionPadding, weightNorm: Bool
    ) throws {
        var rng = SplitMix64(seed: 7)
        for (k, d) in Self.cases {
            let (batch, cin, cout, time) = (2, 3, 4, 11)
            let x = randomTensor([batch, cin, time], &rng)
            let w = randomTensor([cout, cin, k], &rng)
            let b = randomTensor([cout], &rng)
            let g = weightNorm ? randomTensor([cout, 1, 1], &rng, low: 0.5, high: 2) : nil
            let conv = try Conv1d(weight: w, bias: b, weightGain: g, dilation: d, padding: padding)
            let label = "k=\(k) d=\(d) \(padding) weightNorm=\(weightNorm)"
            func reference(_ x: [Double], _ w: [Double], _ b: [Double], _ g: [Double]?) -> [Double] {
                referenceConv(
                    x: x, batch: batch, time: time, weight: w, bias: b, gain: g, inputChannels: cin,
                    outputChannels: cout, kernelSize: k, dilation: d, padding: padding)
            }
            let (y, cache) = try conv.forward(x)
            #expect(y.shape == [batch, cout, time])
            let yRef = reference(x.data.doubles, w.data.doubles, b.data.doubles, g?.data.doubles)
            assertClose(y.data, yRef, rtol: 1e-5, atol: 1e-5, label)

            // Loss L = Σ y · r; dL/dy = r.
            let r = randomTensor(y.shape, &rng)
            var grads = TensorDictionary()
            let dx = conv.backward(r, cache: cache, prefix: "c.", gradients: &grads)
            let rd = r.data.doubles
            let (xd, wd, bd, gd) = (x.data.doubles, w.data.doubles, b.data.doubles, g?.data.doubles)
            assertClose(
                dx.data, numericGradient(xd) { dot(reference($0, wd, bd, gd), rd) }, rtol: 1e-3, atol: 1e-4, label)
            let wKey = weightNorm ? "c.weight_v" : "c.weight"
            assertClose(
                try #require(grads[wKey]).data, numericGradient(wd) { dot(reference(xd, $0, bd, gd), rd) },
                rtol: 1e-3, atol: 1e-4, label)
            assertClose(
                try #require(grads["c.bias"]).data, numericGradient(bd) { dot(reference(xd, wd, $0, gd), rd) },
                rtol: 1e-3, atol: 1e-4, label)
            if let gd {
                assertClose(
                    try #require(grads["c.weight_g"]).data,
                    numericGradient(gd) { dot(reference(xd, wd, bd, $0), rd) }, rtol: 1e-3, atol: 1e-4, label)
                #expect(grads["c.weight"] == nil)
            }
        }
    }

    /// Receptive-field pruning: for outputs on a grid of every `s`-th step (`TimeGrid`), the input grid holds every
    /// step a tap reads, and the convolution between the two grids equals the full convolution at those steps —
    /// forward, input gradient and weight gradients.
    @Test func stridedGridsMatchTheFullConvolution() throws {
        var rng = SplitMix64(seed: 29)
        let time = 30
        let cases = [1, 2, 3].flatMap { k in
            [1, 2, 3, 4, 6].flatMap { d in [0, 1, 2, 3, 4, 8, 12].map { (k, d, $0) } }
        }
        for (k, d, s) in cases {
            for count in s == 0 ? [1] : [1, 2, 3, (time - 1) / s + 1] {
                let output = TimeGrid(stride: s, count: count)
                let input = output.inputGrid(kernelSize: k, dilation: d, time: time)
                let label = "k=\(k) d=\(d) out=\(output) in=\(input)"
                let held = Set((0..<input.count).map { time - 1 - input.stride * (input.count - 1 - $0) })
                for j in 0..<count {
                    let t = time - 1 - s * (count - 1 - j)
                    for tap in 0..<k where t - tap * d >= 0 {
                        #expect(held.contains(t - tap * d), "\(label): step \(t - tap * d) not held")
                    }
                }
                let conv = try Conv1d(
                    weight: randomTensor([3, 2, k], &rng), bias: randomTensor([3], &rng),
                    weightGain: randomTensor([3, 1, 1], &rng, low: 0.5, high: 2), dilation: d)
                let x = randomTensor([2, 2, time], &rng)
                let (full, fullCache) = try conv.forward(x)
                let (y, cache) = try conv.forward(
                    x.suffix(input.count, stride: input.stride), outputTime: count, inputStride: input.stride,
                    outputStride: s)
                let outStride = output.stride(within: .full(time))
                assertClose(y.data, full.suffix(count, stride: outStride).data, rtol: 1e-5, atol: 1e-6, label)
                let dy = randomTensor(y.shape, &rng)
                var dyFull = Tensor(zeros: full.shape)
                dyFull.addSuffix(dy, stride: outStride)
                var gFull = TensorDictionary()
                var g = TensorDictionary()
                let dxFull = conv.backward(dyFull, cache: fullCache, prefix: "", gradients: &gFull)
                let dxHeld = conv.backward(dy, cache: cache, prefix: "", gradients: &g)
                var dx = Tensor(zeros: x.shape)
                dx.addSuffix(dxHeld, stride: input.stride(within: .full(time)))
                assertClose(dx.data, dxFull.data, rtol: 1e-5, atol: 1e-6, label)
                for (key, value) in gFull { assertClose(g[key]?.data ?? [], value.data, rtol: 1e-5, atol: 1e-5, key) }
            }
        }
    }

    /// The input gradient is the adjoint of the (linear) convolution: `⟨conv(x) − conv(0), r⟩ = ⟨x, dx(r)⟩`, for
    /// one example, long outputs (one GEMM per example) and short outputs of a group of examples (one GEMM per
    /// group), long dilations included.
    @Test(arguments: ConvolutionPadding.allCases)
    func inputGradientIsTheAdjoint(padding: ConvolutionPadding) throws {
        var rng = SplitMix64(seed: 13)
        for (batch, time) in [(1, 150), (2, 200), (3, 12)] {
            for (k, d) in [(1, 1), (2, 1), (3, 2), (5, 4), (7, 64)] {
                let conv = try Conv1d(
                    weight: randomTensor([4, 3, k], &rng), bias: randomTensor([4], &rng), dilation: d,
                    padding: padding)
                let x = randomTensor([batch, 3, time], &rng)
                let (y, cache) = try conv.forward(x)
                let y0 = try conv(Tensor(zeros: x.shape))
                let r = randomTensor(y.shape, &rng)
                var gradients = TensorDictionary()
                let dx = conv.backward(r, cache: cache, prefix: "", gradients: &gradients)
                let lhs = zip(zip(y.data, y0.data), r.data).reduce(0.0) { $0 + Double($1.0.0 - $1.0.1) * Double($1.1) }
                let rhs = zip(x.data, dx.data).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                let scale = zip(x.data, dx.data).reduce(0.0) { $0 + abs(Double($1.0) * Double($1.1)) }
                #expect(abs(lhs - rhs) <= 1e-5 * scale, "batch \(batch) time \(time) k=\(k) d=\(d) \(padding)")
            }
        }
    }

    /// `seqtool` commands stop OpenBLAS's load-time threads first thing; GEMMs afterwards give the same results and
    /// OpenBLAS stays on one thread (setting the count again would restart its pool).
    @Test func releasingOpenBLASThreadsKeepsGEMMsExact() throws {
        var rng = SplitMix64(seed: 5)
        let conv = try Conv1d(weight: randomTensor([4, 3, 3], &rng), bias: randomTensor([4], &rng), dilation: 2)
        let x = randomTensor([5, 3, 33], &rng)
        let before = try conv(x)
        TCNThreads.releaseIdleBLASThreads()
        #expect(TCNThreads.blasThreads == 1)
        #expect(try conv(x) == before)
        TCNThreads.releaseIdleBLASThreads()
        #expect(try conv(x) == before)
    }

    @Test func causalOutputDependsOnlyOnThePast() throws {
        var rng = SplitMix64(seed: 3)
        let conv = try Conv1d(weight: randomTensor([2, 1, 3], &rng), bias: nil, dilation: 2)
        var x = randomTensor([1, 1, 9], &rng)
        let y0 = try conv(x)
        x.data[5] += 1
        let y1 = try conv(x)
        for t in 0..<9 {
            let changed = y0.data[t] != y1.data[t] || y0.data[9 + t] != y1.data[9 + t]
            // Output t sees inputs t, t−2, t−4.
            #expect(changed == [5, 7, 9].contains(t), "t=\(t)")
        }
    }

    @Test func oneStepAndEmptyInputs() throws {
        var rng = SplitMix64(seed: 4)
        let conv = try Conv1d(weight: randomTensor([2, 3, 3], &rng), bias: randomTensor([2], &rng), dilation: 4)
        let x = randomTensor([1, 3, 1], &rng)
        let y = try conv(x)
        let yRef = referenceConv(
            x: x.data.doubles, batch: 1, time: 1, weight: conv.weight.data.doubles, bias: conv.bias?.data.doubles,
            gain: nil, inputChannels: 3, outputChannels: 2, kernelSize: 3, dilation: 4, padding: .causal)
        assertClose(y.data, yRef)
        #expect(try conv(Tensor(zeros: [2, 3, 0])).shape == [2, 2, 0])
        #expect(try conv(Tensor(zeros: [0, 3, 5])).shape == [0, 2, 5])
    }

    @Test func wrongShapesThrowTypedErrors() throws {
        var rng = SplitMix64(seed: 5)
        let conv = try Conv1d(weight: randomTensor([2, 3, 3], &rng), bias: nil)
        #expect(throws: TCNError.shapeMismatch(name: "conv input", expected: [1, 3, 4], actual: [1, 2, 4])) {
            try conv(Tensor(zeros: [1, 2, 4]))
        }
        #expect(throws: TCNError.self) { try Conv1d(weight: Tensor(zeros: [2, 3, 3]), bias: Tensor(zeros: [3])) }
        #expect(throws: TCNError.self) { try Conv1d(weight: Tensor(zeros: [2, 3, 3]), bias: nil, dilation: 0) }
    }

    @Test func seededWeightNormInitTakesEffect() throws {
        var random = TCNRandom(seed: 1)
        let conv = try Conv1d(
            inputChannels: 3, outputChannels: 4, kernelSize: 2, weightNormalized: true, initialization: .normal001,
            random: &random)
        // g = ‖v‖ so the effective filter is exactly the drawn N(0, 0.01) filter.
        assertClose(conv.effectiveWeight().data, conv.weight.data, rtol: 1e-6, atol: 0)
        let std = (conv.weight.data.reduce(0) { $0 + $1 * $1 } / Float(conv.weight.count)).squareRoot()
        #expect(std > 0.005 && std < 0.02)
    }
}
