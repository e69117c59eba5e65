import Foundation
import TestSupport
import Testing

@testable import TCN

/// Cross-entropy with class-probability targets (targets shaped like the output), as mixup and label smoothing
/// need: against PyTorch's `F.cross_entropy` and against finite differences of a double-precision reference.
struct SoftTargetLossTests {
    struct Fixture: Decodable {
        struct Case: Decodable {
            var name: String
            var shape: [Int]
            var logits: [Float]
            var targets: [Float]
            var loss: Double
            var gradient: [Float]
        }
        var cases: [Case]
    }

    /// `−Σ valid Σ_c y_c log softmax(z)_c / valid terms` in double precision over `[B, K, T]` logits.
    static func reference(_ z: [Double], _ y: [Double], k: Int, time: Int, valid: [Double]) -> Double {
        let batch = z.count / (k * time)
        var total = 0.0
        for b in 0..<batch {
            for t in 0..<time where valid[b * time + t] > 0 {
                let row = (0..<k).map { z[(b * k + $0) * time + t] }
                let top = row.max() ?? 0
                let logSum = top + log(row.map { exp($0 - top) }.reduce(0, +))
                for c in 0..<k { total -= y[(b * k + c) * time + t] * (row[c] - logSum) }
            }
        }
        return total / valid.reduce(0, +)
    }

    @Test func matchesTorchCrossEntropyWithProbabilityTargets() throws {
        let url = TestPaths.fixture("TCN/soft_cross_entropy.json")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        #expect(fixture.cases.count == 5)
        for c in fixture.cases {
            let (value, gradient) = try HeadConfiguration.Loss.crossEntropy.evaluate(
                output: Tensor(shape: c.shape, data: c.logits), targets: Tensor(shape: c.shape, data: c.targets),
                validSteps: nil, huberDelta: 1)
            assertClose([Double(value)], [c.loss], rtol: 1e-6, atol: 1e-7, c.name)
            assertClose(gradient.data, c.gradient, rtol: 1e-5, atol: 1e-7, c.name)
        }
    }

    @Test(arguments: [false, true])
    func gradientMatchesFiniteDifferences(perStep: Bool) throws {
        var rng = SplitMix64(seed: 77)
        let (batch, k, time) = (3, 4, perStep ? 5 : 1)
        let shape = perStep ? [batch, k, time] : [batch, k]
        let out = randomTensor(shape, &rng, low: -3, high: 3)
        let targets = randomTensor(shape, &rng, low: 0, high: 0.5)  // rows need not sum to 1
        let valid: [Float]? = perStep ? (0..<(batch * time)).map { $0 % 4 == 1 ? 0 : 1 } : nil
        let validD = (valid ?? [Float](repeating: 1, count: batch * time)).doubles
        let (value, gradient) = try HeadConfiguration.Loss.crossEntropy.evaluate(
            output: out, targets: targets, validSteps: valid, huberDelta: 1)
        let ref = { (z: [Double]) in Self.reference(z, targets.data.doubles, k: k, time: time, valid: validD) }
        assertClose([value], [ref(out.data.doubles)], rtol: 1e-5)
        assertClose(gradient.data, numericGradient(out.data.doubles, ref), rtol: 1e-3, atol: 1e-6, "perStep \(perStep)")
        if let valid {  // masked steps get no gradient
            for b in 0..<batch {
                for t in 0..<time where valid[b * time + t] == 0 {
                    #expect((0..<k).allSatisfy { gradient.data[(b * k + $0) * time + t] == 0 })
                }
            }
        }
    }

    @Test func oneHotProbabilitiesEqualClassIndices() throws {
        var rng = SplitMix64(seed: 5)
        let out = randomTensor([4, 3], &rng, low: -2, high: 2)
        let classes: [Float] = [2, 0, 1, 2]
        var oneHot = [Float](repeating: 0, count: 12)
        for (b, c) in classes.enumerated() { oneHot[b * 3 + Int(c)] = 1 }
        let hard = try HeadConfiguration.Loss.crossEntropy.evaluate(
            output: out, targets: Tensor(shape: [4], data: classes), validSteps: nil, huberDelta: 1)
        let soft = try HeadConfiguration.Loss.crossEntropy.evaluate(
            output: out, targets: Tensor(shape: [4, 3], data: oneHot), validSteps: nil, huberDelta: 1)
        assertClose([soft.loss], [hard.loss], rtol: 1e-6)
        assertClose(soft.gradient.data, hard.gradient.data, rtol: 1e-6, atol: 1e-8)
    }

    @Test func badProbabilitiesThrow() throws {
        let out = Tensor(zeros: [2, 3])
        for bad: Float in [-0.1, .nan, .infinity] {
            #expect(throws: TCNError.self, "\(bad)") {
                try HeadConfiguration.Loss.crossEntropy.evaluate(
                    output: out, targets: Tensor(shape: [2, 3], data: [0.5, 0.5, 0, 0, bad, 1]), validSteps: nil,
                    huberDelta: 1)
            }
        }
        // Neither class indices nor probabilities: [2, 2] for a [2, 3] output.
        #expect(throws: TCNError.self) {
            try HeadConfiguration.Loss.crossEntropy.evaluate(
                output: out, targets: Tensor(zeros: [2, 2]), validSteps: nil, huberDelta: 1)
        }
        // A masked step's targets are not read.
        let masked = try HeadConfiguration.Loss.crossEntropy.evaluate(
            output: Tensor(zeros: [1, 2, 2]), targets: Tensor(shape: [1, 2, 2], data: [1, .nan, 0, .nan]),
            validSteps: [1, 0], huberDelta: 1)
        #expect(abs(masked.loss - Float(log(2.0))) < 1e-6)
    }
}
