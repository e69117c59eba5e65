import Foundation
import TestSupport
import Testing

@testable import TCN

/// Learning-rate schedules and optimiser edge cases against `Tests/Fixtures/TCN/schedules.json`
/// (torch 2.11.0 `lr_scheduler`, written by `scripts/fixtures/tcn_fixtures.py`).
struct ScheduleTests {
    struct Fixture: Decodable {
        struct Plateau: Decodable {
            var losses: [Float]
            var rates: [Float]
        }
        var step: [Double]
        var exponential: [Double]
        var cosine: [Double]
        var cosineWarmUp: [Double]
        var cyclic: [Double]
        var oneCycle: [Double]
        var plateau: Plateau
    }

    static func fixture() throws -> Fixture {
        try JSONDecoder().decode(
            Fixture.self, from: Data(contentsOf: TestPaths.fixture("TCN/schedules.json")))
    }

    static func rates(_ schedule: LearningRateSchedule, _ count: Int) -> [Float] {
        (0..<count).map { schedule.learningRate(at: $0) }
    }

    @Test func closedFormSchedulesMatchTorch() throws {
        let f = try Self.fixture()
        assertClose(Self.rates(.step(base: 0.1, stepSize: 3, gamma: 0.5), f.step.count), f.step, rtol: 1e-6)
        assertClose(Self.rates(.exponential(base: 0.1, gamma: 0.9), f.exponential.count), f.exponential, rtol: 1e-6)
        assertClose(
            Self.rates(.cosine(base: 0.1, minimum: 0.001, warmUp: 0, warmUpStartFactor: 1, total: 10), f.cosine.count),
            f.cosine, rtol: 1e-6, atol: 1e-7)
        assertClose(
            Self.rates(
                .cosine(base: 0.1, minimum: 0.001, warmUp: 4, warmUpStartFactor: 0.25, total: 12), f.cosineWarmUp.count),
            f.cosineWarmUp, rtol: 1e-6, atol: 1e-7)
        assertClose(
            Self.rates(.cyclicTriangular(base: 0.01, maximum: 0.1, stepSize: 4), f.cyclic.count), f.cyclic,
            rtol: 1e-6, atol: 1e-7)
        let oneCycle = LearningRateSchedule.oneCycle(
            maximum: 0.1, total: 20, percentStart: 0.3, divFactor: 25, finalDivFactor: 1e4)
        assertClose(Self.rates(oneCycle, f.oneCycle.count), f.oneCycle, rtol: 1e-5, atol: 1e-9)
    }

    @Test func reduceOnPlateauMatchesTorch() throws {
        let f = try Self.fixture()
        var plateau = try ReduceOnPlateau(factor: 0.5, patience: 2, cooldown: 1)
        var rate: Float = 0.1
        var rates: [Float] = []
        for loss in f.plateau.losses {
            rate = plateau.step(loss: loss, learningRate: rate)
            rates.append(rate)
        }
        assertClose(rates, f.plateau.rates, rtol: 1e-6)
        #expect(throws: TCNError.self) { try ReduceOnPlateau(factor: 1) }
    }

    @Test func clippingMatchesClosedForm() throws {
        var grads: TensorDictionary = [
            "a": try Tensor(shape: [2], data: [3, 0]), "b": try Tensor(shape: [1, 1], data: [4]),
        ]
        let norm = GradientClipping.clipNorm(&grads, maxNorm: 1)
        #expect(norm == 5)
        assertClose(grads["a"]!.data + grads["b"]!.data, [3 / 5.000001, 0, 4 / 5.000001], rtol: 1e-6)
        var small = grads
        GradientClipping.clipNorm(&small, maxNorm: 10)
        #expect(small == grads)
        GradientClipping.clipValue(&grads, clipValue: 0.7)
        assertClose(grads["a"]!.data + grads["b"]!.data, [0.6, 0, 0.7], rtol: 1e-5)
    }

    @Test func invalidOptimiserSettingsThrow() {
        #expect(throws: TCNError.self) { try SGD(learningRate: -1) }
        #expect(throws: TCNError.self) { try SGD(learningRate: 0.1, nesterov: true) }
        #expect(throws: TCNError.self) { try Adam(betas: (1, 0.9)) }
        #expect(throws: TCNError.self) { try RMSprop(alpha: -0.5) }
    }

    @Test func sgdWithMomentumFollowsTheRecurrence() throws {
        var sgd = try SGD(learningRate: 0.1, momentum: 0.5, dampening: 0.2)
        var p: TensorDictionary = ["w": try Tensor(shape: [1], data: [1])]
        let g: TensorDictionary = ["w": try Tensor(shape: [1], data: [2])]
        sgd.update(&p, gradients: g)  // b = 2; p = 1 − 0.2 = 0.8
        sgd.update(&p, gradients: g)  // b = 0.5·2 + 0.8·2 = 2.6; p = 0.8 − 0.26 = 0.54
        assertClose(p["w"]!.data, [0.54], rtol: 1e-6)
        assertClose(sgd.state["w#momentum_buffer"]!.data, [2.6], rtol: 1e-6)
    }
}
