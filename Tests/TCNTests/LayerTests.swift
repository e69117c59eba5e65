import Foundation
import TestSupport
import Testing

@testable import TCN

/// Double references of the element-wise activations.
func referenceActivation(_ a: Activation, _ x: Double) -> Double {
    switch a {
    case .relu: return max(x, 0)
    case .gelu: return 0.5 * x * (1 + erf(x / 2.0.squareRoot()))
    case .tanh: return tanh(x)
    case .elu: return x > 0 ? x : expm1(x)
    case .leakyRelu: return x > 0 ? x : 0.01 * x
    case .identity: return x
    }
}

/// Double reference of normalisation over `[B, C, T]`: over (B, T) per channel (`overChannels == false`) or
/// over C per (b, t) (`true`), biased variance, then `γ·x̂ + β`.
func referenceNorm(
    _ x: [Double], _ gamma: [Double], _ beta: [Double], shape: [Int], overChannels: Bool, eps: Double = 1e-5
) -> [Double] {
    let (batch, channels, time) = (shape[0], shape[1], shape[2])
    var y = x
    let groups: [[Int]] =
        overChannels
        ? (0..<(batch * time)).map { bt in (0..<channels).map { c in (bt / time * channels + c) * time + bt % time } }
        : (0..<channels).map { c in (0..<(batch * time)).map { bt in (bt / time * channels + c) * time + bt % time } }
    for group in groups {
        let mean = group.reduce(0) { $0 + x[$1] } / Double(group.count)
        let variance = group.reduce(0) { $0 + (x[$1] - mean) * (x[$1] - mean) } / Double(group.count)
        for i in group {
            let c = (i / time) % channels
            y[i] = gamma[c] * (x[i] - mean) / (variance + eps).squareRoot() + beta[c]
        }
    }
    return y
}

struct ActivationTests {
    @Test(arguments: Activation.allCases)
    func valuesAndDerivativesMatchDoubleReference(activation: Activation) throws {
        var rng = SplitMix64(seed: 11)
        // Avoid the kinks at 0 where the finite difference is not a derivative.
        let xs = rng.uniformArray(200, -4, 4).map { abs($0) < 1e-2 ? $0 + 0.05 : $0 }
        let x = try Tensor(shape: [2, 5, 20], data: xs)
        let y = activation(x)
        assertClose(y.data, xs.map { referenceActivation(activation, Double($0)) }, rtol: 1e-6, atol: 1e-6)
        let dy = randomTensor(x.shape, &rng)
        let dx = activation.backward(dy, input: x, output: y)
        let numeric = numericGradient(xs.doubles) { p in
            dot(p.map { referenceActivation(activation, $0) }, dy.data.doubles)
        }
        assertClose(dx.data, numeric, rtol: 1e-4, atol: 1e-5, "\(activation)")
    }

    @Test func reluDerivativeAtZeroIsZeroAsTorch() throws {
        let x = try Tensor(shape: [1, 1, 2], data: [0, -0.0])
        let dx = Activation.relu.backward(Tensor(zeros: [1, 1, 2], value: 1), input: x, output: Activation.relu(x))
        #expect(dx.data == [0, 0])
    }

    @Test func nanPropagates() throws {
        let x = try Tensor(shape: [1], data: [.nan])
        // As torch: relu, leaky_relu, elu, gelu and tanh all keep NaN.
        for a in Activation.allCases { #expect(a(x).data[0].isNaN, "\(a)") }
    }
}

struct NormalizationTests {
    @Test(arguments: [[2, 3, 7], [1, 4, 5], [3, 1, 2]])
    func batchNormTrainingMatchesReferenceAndFiniteDifferences(shape: [Int]) throws {
        var rng = SplitMix64(seed: 21)
        let x = randomTensor(shape, &rng)
        var bn = try BatchNorm1d(channels: shape[1])
        bn.weight = randomTensor([shape[1]], &rng, low: 0.5, high: 1.5)
        bn.bias = randomTensor([shape[1]], &rng)
        let (gamma, beta) = (bn.weight.data.doubles, bn.bias.data.doubles)
        var trained = bn
        let (y, cache) = try trained.forward(x, training: true)
        assertClose(
            y.data, referenceNorm(x.data.doubles, gamma, beta, shape: shape, overChannels: false), rtol: 1e-4,
            atol: 1e-5)
        // Running statistics: 0.9·old + 0.1·batch (unbiased variance), as torch.
        let n = Double(shape[0] * shape[2])
        for c in 0..<shape[1] {
            let values = (0..<shape[0]).flatMap { b in (0..<shape[2]).map { x.data[(b * shape[1] + c) * shape[2] + $0] }
            }.doubles
            let mean = values.reduce(0, +) / n
            let unbiased = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
            assertClose([trained.runningMean.data[c]], [0.1 * mean], rtol: 1e-5, atol: 1e-6)
            assertClose([trained.runningVariance.data[c]], [0.9 + 0.1 * unbiased], rtol: 1e-5, atol: 1e-6)
        }
        #expect(trained.batchesTracked == 1)
        let r = randomTensor(shape, &rng)
        var grads = TensorDictionary()
        let dx = bn.backward(r, cache: cache, prefix: "", gradients: &grads)
        let (xd, rd) = (x.data.doubles, r.data.doubles)
        func f(_ x: [Double], _ g: [Double], _ b: [Double]) -> Double {
            dot(referenceNorm(x, g, b, shape: shape, overChannels: false), rd)
        }
        assertClose(dx.data, numericGradient(xd) { f($0, gamma, beta) }, rtol: 1e-3, atol: 1e-4)
        assertClose(
            try #require(grads["weight"]).data, numericGradient(gamma) { f(xd, $0, beta) }, rtol: 1e-3, atol: 1e-4)
        assertClose(
            try #require(grads["bias"]).data, numericGradient(beta) { f(xd, gamma, $0) }, rtol: 1e-3, atol: 1e-4)
    }

    @Test func batchNormEvalUsesRunningStatistics() throws {
        var rng = SplitMix64(seed: 22)
        var bn = try BatchNorm1d(channels: 2)
        bn.runningMean = try Tensor(shape: [2], data: [0.5, -1])
        bn.runningVariance = try Tensor(shape: [2], data: [4, 0.25])
        let x = randomTensor([1, 2, 3], &rng)
        let before = bn
        let (y, cache) = try bn.forward(x, training: false)
        #expect(bn == before)
        let expected = (0..<6).map { i -> Double in
            let c = i / 3
            return (Double(x.data[i]) - [0.5, -1][c]) / ([4, 0.25][c] + 1e-5).squareRoot()
        }
        assertClose(y.data, expected, rtol: 1e-6, atol: 1e-6)
        var grads = TensorDictionary()
        let dx = bn.backward(Tensor(zeros: [1, 2, 3], value: 1), cache: cache, prefix: "", gradients: &grads)
        assertClose(
            dx.data,
            [Float](repeating: 1 / (4 + 1e-5).squareRoot(), count: 3)
                + [Float](repeating: 1 / (0.25 + 1e-5).squareRoot(), count: 3), rtol: 1e-6)
    }

    @Test func batchNormTrainingRejectsOneValuePerChannel() throws {
        var bn = try BatchNorm1d(channels: 2)
        #expect(throws: TCNError.self) { try bn.forward(Tensor(zeros: [1, 2, 1]), training: true) }
    }

    @Test(arguments: [[2, 3, 7], [1, 5, 1], [2, 1, 3]])
    func layerNormMatchesReferenceAndFiniteDifferences(shape: [Int]) throws {
        var rng = SplitMix64(seed: 23)
        let x = randomTensor(shape, &rng)
        var ln = try LayerNormChannels(channels: shape[1])
        ln.weight = randomTensor([shape[1]], &rng, low: 0.5, high: 1.5)
        ln.bias = randomTensor([shape[1]], &rng)
        let (gamma, beta) = (ln.weight.data.doubles, ln.bias.data.doubles)
        let (y, cache) = try ln.forward(x)
        assertClose(
            y.data, referenceNorm(x.data.doubles, gamma, beta, shape: shape, overChannels: true), rtol: 1e-4, atol: 1e-4
        )
        let r = randomTensor(shape, &rng)
        var grads = TensorDictionary()
        let dx = ln.backward(r, cache: cache, prefix: "", gradients: &grads)
        let (xd, rd) = (x.data.doubles, r.data.doubles)
        func f(_ x: [Double], _ g: [Double], _ b: [Double]) -> Double {
            dot(referenceNorm(x, g, b, shape: shape, overChannels: true), rd)
        }
        // One channel: x̂ = 0 and the gradient is 0 up to eps effects; FD agrees.
        assertClose(dx.data, numericGradient(xd) { f($0, gamma, beta) }, rtol: 1e-3, atol: 1e-3)
        assertClose(
            try #require(grads["weight"]).data, numericGradient(gamma) { f(xd, $0, beta) }, rtol: 1e-3, atol: 1e-4)
        assertClose(
            try #require(grads["bias"]).data, numericGradient(beta) { f(xd, gamma, $0) }, rtol: 1e-3, atol: 1e-4)
    }
}

struct DropoutTests {
    @Test func elementwiseDropsAboutPAndScalesTheRest() throws {
        let dropout = try Dropout(probability: 0.3)
        var random = TCNRandom(seed: 5)
        let mask = try #require(dropout.mask(for: [4, 8, 500], training: true, random: &random))
        let dropped = Double(mask.filter { $0 == 0 }.count) / Double(mask.count)
        #expect(abs(dropped - 0.3) < 0.02)
        #expect(mask.allSatisfy { $0 == 0 || $0 == 1 / Float(0.7) })
        #expect(dropout.mask(for: [4, 8, 500], training: false, random: &random) == nil)
        #expect(try Dropout(probability: 0).mask(for: [2, 2, 2], training: true, random: &random) == nil)
    }

    @Test func channelModeZeroesWholeRows() throws {
        let dropout = try Dropout(probability: 0.5, mode: .channel)
        var random = TCNRandom(seed: 6)
        let mask = try #require(dropout.mask(for: [3, 40, 9], training: true, random: &random))
        var zeroRows = 0
        for row in 0..<120 {
            let values = Set(mask[(row * 9)..<(row * 9 + 9)])
            #expect(values.count == 1)
            if values.first == 0 { zeroRows += 1 }
        }
        #expect(zeroRows > 40 && zeroRows < 80)
    }

    @Test func sameSeedSameMaskAndInvalidProbabilityThrows() throws {
        let dropout = try Dropout(probability: 0.5)
        var a = TCNRandom(seed: 9)
        var b = TCNRandom(seed: 9)
        #expect(
            dropout.mask(for: [2, 3, 4], training: true, random: &a)
                == dropout.mask(for: [2, 3, 4], training: true, random: &b))
        #expect(throws: TCNError.self) { try Dropout(probability: 1) }
        #expect(throws: TCNError.self) { try Dropout(probability: -0.1) }
    }
}

struct LossTests {
    static func referenceLoss(
        _ loss: HeadConfiguration.Loss, _ out: [Double], _ targets: [Double], k: Int, time: Int, valid: [Double],
        delta: Double
    ) -> Double {
        let batch = out.count / (k * time)
        var total = 0.0
        var count = 0.0
        for b in 0..<batch {
            for t in 0..<time where valid[b * time + t] > 0 {
                if loss == .crossEntropy {
                    let z = (0..<k).map { out[(b * k + $0) * time + t] }
                    total += log(z.map { exp($0) }.reduce(0, +)) - z[Int(targets[b * time + t])]
                    count += 1
                } else {
                    for c in 0..<k {
                        let d = out[(b * k + c) * time + t] - targets[(b * k + c) * time + t]
                        switch loss {
                        case .mse: total += d * d
                        case .mae: total += abs(d)
                        default: total += abs(d) <= delta ? 0.5 * d * d : delta * (abs(d) - 0.5 * delta)
                        }
                        count += 1
                    }
                }
            }
        }
        return total / count
    }

    @Test(arguments: HeadConfiguration.Loss.allCases, [false, true])
    func lossAndGradientMatchDoubleReference(loss: HeadConfiguration.Loss, perStep: Bool) throws {
        var rng = SplitMix64(seed: 31)
        let (batch, k, time) = (3, 4, perStep ? 5 : 1)
        let outShape = perStep ? [batch, k, time] : [batch, k]
        let out = randomTensor(outShape, &rng, low: -2, high: 2)
        let targets: Tensor
        if loss == .crossEntropy {
            let shape = perStep ? [batch, time] : [batch]
            targets = try Tensor(shape: shape, data: (0..<(batch * time)).map { _ in Float(rng.next() % UInt64(k)) })
        } else {
            targets = randomTensor(outShape, &rng, low: -2, high: 2)
        }
        let valid: [Float]? = perStep ? (0..<(batch * time)).map { $0 % 3 == 0 ? 0 : 1 } : nil
        let validD = (valid ?? [Float](repeating: 1, count: batch * time)).doubles
        let (value, gradient) = try loss.evaluate(output: out, targets: targets, validSteps: valid, huberDelta: 0.7)
        let ref = { (o: [Double]) in
            Self.referenceLoss(loss, o, targets.data.doubles, k: k, time: time, valid: validD, delta: 0.7)
        }
        assertClose([value], [ref(out.data.doubles)], rtol: 1e-5)
        assertClose(gradient.data, numericGradient(out.data.doubles, ref), rtol: 1e-3, atol: 1e-5, "\(loss)")
    }

    @Test func badTargetsThrow() throws {
        let out = Tensor(zeros: [2, 3])
        #expect(throws: TCNError.self) {
            try HeadConfiguration.Loss.crossEntropy.evaluate(
                output: out, targets: Tensor(shape: [2], data: [0, 3]), validSteps: nil, huberDelta: 1)
        }
        #expect(throws: TCNError.self) {
            try HeadConfiguration.Loss.mse.evaluate(
                output: out, targets: Tensor(zeros: [2]), validSteps: nil, huberDelta: 1)
        }
    }
}
