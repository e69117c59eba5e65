import Foundation
import TestSupport
import Testing

@testable import TCN

/// `Tests/Fixtures/TCN/<name>/expected.json`, written by `scripts/fixtures/tcn_fixtures.py` (torch 2.11.0).
struct TorchFixture: Decodable {
    struct Trained: Decodable {
        var losses: [Float]
        var stateDict: [String: [Float]]
    }
    var input: [Float]
    var inputShape: [Int]
    var targets: [Float]
    var targetShape: [Int]
    var lengths: [Int]
    var steps: Int
    var clipNorm: Float
    var receptiveField: Int
    var stateDictKeys: [String]
    var evalOutput: [Float]
    var trainOutput: [Float]
    var outputShape: [Int]
    var loss: Float
    var gradients: [String: [Float]]
    var buffersAfterOnePass: [String: [Float]]
    var afterTraining: [String: Trained]

    static func load(_ name: String) throws -> (TorchFixture, TCNModel) {
        let folder = TestPaths.fixture("TCN/\(name)")
        let fixture = try JSONDecoder().decode(
            TorchFixture.self, from: Data(contentsOf: folder.appendingPathComponent("expected.json")))
        var model = try TCNModel(contentsOf: folder)
        model.receptiveFieldPolicy = .ignore
        return (fixture, model)
    }

    var x: Tensor { try! Tensor(shape: inputShape, data: input) }
    var y: Tensor { try! Tensor(shape: targetShape, data: targets) }

    /// The fixture's training run on `model`: `steps` steps of loss and gradients on the fixture's batch, gradient
    /// clipping by norm, and an optimiser update. Returns the trained model and the loss of each step.
    func train(_ model: TCNModel, with optimizer: any Optimizer) throws -> (model: TCNModel, losses: [Float]) {
        var model = model
        var optimizer = optimizer
        var random = TCNRandom(seed: 0)
        var losses: [Float] = []
        for _ in 0..<steps {
            var (loss, grads) = try model.lossAndGradients(x, targets: y, lengths: lengths, random: &random)
            GradientClipping.clipNorm(&grads, maxNorm: clipNorm)
            optimizer.update(&model, gradients: grads)
            losses.append(loss)
        }
        return (model, losses)
    }
}

/// Every element of our forward pass, loss, gradients and optimiser steps against PyTorch on the same weights.
///
/// Tolerance: rtol 1e-5 plus atol 1e-6 (1e-5 for gradients and trained weights, whose small elements are sums
/// of cancelling terms); PyTorch and OpenBLAS sum in different orders, so bit equality is not expected.
struct ParityTests {
    static let names = ["locuslab", "pytcn", "layernorm"]

    @Test(arguments: names)
    func forwardLossAndGradientsMatchPyTorch(name: String) throws {
        let (f, model) = try TorchFixture.load(name)
        #expect(model.receptiveField == f.receptiveField)
        // Every key in torch's state_dict is ours, except locuslab's `net.*` aliases.
        #expect(Set(model.stateDict.keys) == Set(f.stateDictKeys.filter { !TCNModel.isAlias($0) }), "\(name)")
        let eval = try model(f.x, lengths: f.lengths)
        #expect(eval.shape == f.outputShape)
        assertClose(eval.data, f.evalOutput, rtol: 1e-5, atol: 1e-6, "\(name) eval output")

        var trained = model
        var random = TCNRandom(seed: 0)
        let (out, cache) = try trained.forward(f.x, lengths: f.lengths, training: true, random: &random)
        assertClose(out.data, f.trainOutput, rtol: 1e-5, atol: 1e-6, "\(name) train output")
        var m = model
        let (loss, grads) = try m.lossAndGradients(f.x, targets: f.y, lengths: f.lengths, random: &random)
        _ = cache
        assertClose([loss], [f.loss], rtol: 1e-5, atol: 1e-7, "\(name) loss")
        #expect(Set(grads.keys) == Set(f.gradients.keys), "\(name)")
        for (key, expected) in f.gradients.sorted(by: { $0.key < $1.key }) {
            assertClose(try #require(grads[key]).data, expected, rtol: 1e-5, atol: 1e-5, "\(name) ∂\(key)")
        }
        for (key, expected) in f.buffersAfterOnePass.sorted(by: { $0.key < $1.key }) {
            assertClose(try #require(m.buffers[key]).data, expected, rtol: 1e-5, atol: 1e-6, "\(name) \(key)")
        }
    }

    static func optimizer(_ name: String) throws -> any Optimizer {
        switch name {
        case "adam": return try Adam(learningRate: 1e-2, weightDecay: 1e-3)
        case "adamw": return try Adam.adamW(learningRate: 1e-2, weightDecay: 0.05)
        case "sgd": return try SGD(learningRate: 0.05, momentum: 0.9, weightDecay: 1e-4, nesterov: true)
        default: return try RMSprop(learningRate: 1e-3, weightDecay: 1e-4, momentum: 0.5)
        }
    }

    @Test(arguments: names, ["adam", "adamw", "sgd", "rmsprop"])
    func trainingStepsMatchPyTorch(name: String, optimizerName: String) throws {
        let (f, start) = try TorchFixture.load(name)
        // Batch norm makes the preceding conv biases' gradients pure rounding noise, which AdamW and RMSprop
        // normalise into steps of arbitrary sign; the script checks those two only on the other models.
        guard let expected = f.afterTraining[optimizerName] else {
            #expect(name == "pytcn" && ["adamw", "rmsprop"].contains(optimizerName))
            return
        }
        let (model, losses) = try f.train(start, with: Self.optimizer(optimizerName))
        assertClose(losses, expected.losses, rtol: 1e-5, atol: 1e-7, "\(name) \(optimizerName) losses")
        let state = model.stateDict
        #expect(Set(state.keys) == Set(expected.stateDict.keys))
        for (key, values) in expected.stateDict.sorted(by: { $0.key < $1.key }) {
            assertClose(
                try #require(state[key]).data, values, rtol: 1e-5, atol: 1e-5, "\(name) \(optimizerName) \(key)")
        }
    }
}
