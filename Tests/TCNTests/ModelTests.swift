import Foundation
import TestSupport
import Testing

@testable import TCN

/// Small configurations covering every block option.
enum Configs {
    static func make(
        normalization: Normalization = .weightNorm, activation: Activation = .tanh, head: HeadConfiguration.Kind,
        loss: HeadConfiguration.Loss, skip: Bool = false, padding: ConvolutionPadding = .causal,
        kernelSize: Int = 3, channels: [Int] = [4, 4, 3], dilations: [Int]? = nil, reset: Int? = nil,
        maskWarmUp: Bool = false, dropout: Float = 0, dropoutMode: Dropout.Mode = .elementwise,
        skipSource: SkipSource = .blockOutput
    ) -> TCNConfiguration {
        TCNConfiguration(
            backbone: BackboneConfiguration(
                inputChannels: 2, channels: channels, kernelSize: kernelSize, dilations: dilations,
                dilationReset: reset, padding: padding, normalization: normalization, activation: activation,
                dropout: dropout, dropoutMode: dropoutMode, skipConnections: skip, initialization: .torchDefault,
                skipSource: skipSource),
            head: HeadConfiguration(kind: head, outputs: 3, loss: loss, maskWarmUp: maskWarmUp))
    }
}

struct ModelTests {
    /// Targets for a model's head.
    static func targets(_ config: TCNConfiguration, batch: Int, time: Int, _ rng: inout SplitMix64) -> Tensor {
        let perStep = config.head.kind == .perStep
        if config.head.loss == .crossEntropy {
            let n = perStep ? batch * time : batch
            return try! Tensor(
                shape: perStep ? [batch, time] : [batch], data: (0..<n).map { _ in Float(rng.next() % 3) })
        }
        return randomTensor(perStep ? [batch, 3, time] : [batch, 3], &rng)
    }

    static let gradientCases: [(String, TCNConfiguration)] = [
        ("weightNorm lastStep CE", Configs.make(head: .lastStep, loss: .crossEntropy)),
        (
            "batchNorm meanPool MSE skip",
            Configs.make(normalization: .batchNorm, activation: .gelu, head: .meanPool, loss: .mse, skip: true)
        ),
        (
            "layerNorm perStep MSE same",
            Configs.make(normalization: .layerNorm, activation: .gelu, head: .perStep, loss: .mse, padding: .same)
        ),
        (
            "none perStep CE masked k2 reset",
            Configs.make(
                normalization: .none, head: .perStep, loss: .crossEntropy, kernelSize: 2, channels: [3, 5, 5, 3],
                reset: 2, maskWarmUp: true)
        ),
        (
            "weightNorm perStep MAE skip k1",
            Configs.make(head: .perStep, loss: .mae, skip: true, kernelSize: 1, channels: [3, 2])
        ),
        // Training-mode passes draw the same dropout masks from the same seed, so the loss is a smooth function.
        (
            "weightNorm lastStep CE channel dropout",
            Configs.make(head: .lastStep, loss: .crossEntropy, dropout: 0.3, dropoutMode: .channel)
        ),
        (
            "batchNorm perStep MSE elementwise dropout",
            Configs.make(normalization: .batchNorm, head: .perStep, loss: .mse, dropout: 0.2)
        ),
        // pytorch-tcn's skip rule: residual branches (with dropout) of all blocks but the last, widths 4 → 3.
        (
            "weightNorm lastStep MSE branch skips dropout",
            Configs.make(
                activation: .gelu, head: .lastStep, loss: .mse, skip: true, dropout: 0.2, skipSource: .residualBranch)
        ),
        (
            "layerNorm perStep MSE branch skips",
            Configs.make(
                normalization: .layerNorm, head: .perStep, loss: .mse, skip: true, channels: [3, 4, 3],
                skipSource: .residualBranch)
        ),
    ]

    /// Finite differences of the Float model's loss (Richardson-extrapolated steps 4e-3 and 2e-3)
    /// against the analytic gradient for a sample of elements of every parameter. The cases use smooth
    /// activations (tanh, GELU): ELU's and Huber's second-derivative jumps break the extrapolation; their
    /// derivatives are checked layer by layer against Double references instead.
    @Test(arguments: 0..<gradientCases.count)
    func gradientsMatchFiniteDifferences(caseIndex: Int) throws {
        let (label, config) = Self.gradientCases[caseIndex]
        var rng = SplitMix64(seed: 41 + UInt64(caseIndex))
        var model = try TCNModel(configuration: config, seed: 1)
        model.receptiveFieldPolicy = .ignore
        let (batch, time) = (3, 13)
        let x = randomTensor([batch, 2, time], &rng)
        let y = Self.targets(config, batch: batch, time: time, &rng)
        let lengths = config.head.kind == .lastStep || caseIndex == 3 ? [13, 7, 10] : nil
        // Evaluation-mode gradients (batch norm with running statistics) and training-mode ones (batch stats).
        for training in [false, true] {
            var random = TCNRandom(seed: 0)
            var m = model
            let (_, grads) = try m.lossAndGradients(
                x, targets: y, lengths: lengths, training: training, random: &random)
            #expect(Set(grads.keys) == Set(model.parameters.keys), "\(label)")
            for (key, value) in model.parameters.sorted(by: { $0.key < $1.key }) {
                let analytic = try #require(grads[key], "\(label) \(key)")
                for i in stride(from: 0, to: value.count, by: max(1, value.count / 5)) {
                    func lossWith(_ delta: Float) throws -> Double {
                        var p = model.parameters
                        p[key]?.data[i] += delta
                        var probe = model
                        probe.update(from: p)
                        var r = TCNRandom(seed: 0)
                        return Double(
                            try probe.lossAndGradients(x, targets: y, lengths: lengths, training: training, random: &r)
                                .loss)
                    }
                    // Richardson extrapolation of central differences cancels the O(h²) term.
                    let h: Float = 4e-3
                    let coarse = (try lossWith(h) - lossWith(-h)) / Double(2 * h)
                    let fine = (try lossWith(h / 2) - lossWith(-h / 2)) / Double(h)
                    let numeric = (4 * fine - coarse) / 3
                    let got = Double(analytic.data[i])
                    #expect(
                        abs(got - numeric) <= 1e-3 + 1e-2 * abs(numeric),
                        "\(label) training=\(training) \(key)[\(i)]: analytic \(got), numeric \(numeric)")
                }
            }
        }
    }

    /// Receptive-field pruning of `.lastStep` heads computes only the steps that reach the pooled output; the
    /// output, loss and every gradient must equal the unpruned pass (up to summation order in the GEMMs).
    @Test(arguments: [
        (Configs.make(head: .lastStep, loss: .crossEntropy, kernelSize: 3, channels: [4, 5, 5, 3]), [40, 40, 40]),
        (Configs.make(head: .lastStep, loss: .crossEntropy, channels: [4, 4, 3]), [40, 21, 33]),
        (Configs.make(head: .lastStep, loss: .mse, skip: true, kernelSize: 2, channels: [3, 5, 4]), [40, 38, 2]),
        (
            Configs.make(head: .lastStep, loss: .mse, skip: true, channels: [3, 5, 4], skipSource: .residualBranch),
            [40, 30, 33]
        ),
        (
            Configs.make(normalization: .layerNorm, head: .lastStep, loss: .mse, channels: [4, 4], reset: 1),
            [20, 40, 30]
        ),
        (Configs.make(head: .lastStep, loss: .mse, kernelSize: 5, channels: [3, 3, 3, 3, 3]), [40, 40, 40]),
        (Configs.make(normalization: .batchNorm, head: .lastStep, loss: .mse, channels: [4, 4]), [40, 35, 40]),
        // Full-length samples: strided grids (every 2d-th step), including a first block on a strided input
        // (dilations from 2), dilations whose grids need gcd strides, skips with projections and layer norm.
        (Configs.make(head: .lastStep, loss: .mse, channels: [3, 4, 4], dilations: [2, 4, 8]), [40, 40, 40]),
        (
            Configs.make(head: .lastStep, loss: .mse, skip: true, channels: [3, 5, 4, 4], dilations: [1, 3, 2, 6]),
            [40, 40, 40]
        ),
        (
            Configs.make(
                head: .lastStep, loss: .crossEntropy, skip: true, kernelSize: 2, channels: [3, 5, 4],
                skipSource: .residualBranch), [40, 40, 40]
        ),
        (
            Configs.make(normalization: .layerNorm, head: .lastStep, loss: .mse, channels: [4, 4, 4], reset: 2),
            [40, 40, 40]
        ),
    ])
    func prunedLastStepPassEqualsTheFullPass(config: TCNConfiguration, lengths: [Int]) throws {
        var rng = SplitMix64(seed: 17)
        var model = try TCNModel(configuration: config, seed: 5)
        model.receptiveFieldPolicy = .ignore
        let x = randomTensor([3, 2, 40], &rng)
        for training in [false, true] {
            var full = model
            var pruned = model
            var r1 = TCNRandom(seed: 0)
            var r2 = TCNRandom(seed: 0)
            let (a, cacheA) = try full.forward(
                x, lengths: lengths, training: training, pruned: false, keepCache: true, random: &r1)
            let (b, cacheB) = try pruned.forward(
                x, lengths: lengths, training: training, pruned: true, keepCache: true, random: &r2)
            if config.backbone.normalization != .batchNorm {
                #expect(cacheB.features.shape[2] < 40, "pruning took effect: \(cacheB.features.shape)")
                if lengths.allSatisfy({ $0 == 40 }) {
                    #expect(cacheB.features.shape[2] == 1, "full-length samples need one top step")
                }
            }
            assertClose(b.data, a.data, rtol: 1e-5, atol: 1e-6)
            let dOut = randomTensor(a.shape, &rng)
            let gA = full.backward(dOut, cache: cacheA)
            let gB = pruned.backward(dOut, cache: cacheB)
            #expect(Set(gA.keys) == Set(gB.keys))
            for (key, value) in gA { assertClose(gB[key]?.data ?? [], value.data, rtol: 1e-4, atol: 2e-5, key) }
            #expect(full.stateDict == pruned.stateDict, "running statistics agree")
        }
    }

    /// Pruned passes group short outputs of several examples into one GEMM; the groups depend on the batch only,
    /// so outputs and gradients are bit-identical for any thread count (layers wide enough to be split).
    @Test(arguments: [HeadConfiguration.Kind.lastStep, .perStep])
    func gradientsAreBitIdenticalAcrossThreadCounts(head: HeadConfiguration.Kind) throws {
        let saved = TCNThreads.current
        defer { try? TCNThreads.set(saved) }
        var rng = SplitMix64(seed: 41)
        let config = Configs.make(head: head, loss: .mse, skip: true, channels: [32, 32, 24])
        let x = randomTensor([19, 2, 64], &rng)
        var results: [(Tensor, TensorDictionary)] = []
        for threads in [1, 2, 3] {
            try TCNThreads.set(threads)
            var model = try TCNModel(configuration: config, seed: 3)
            // The claim is the im2col engine's (oneDNN's holds for one thread count: ChannelsLastTests).
            model.convolutionEngine = .im2col
            var random = TCNRandom(seed: 1)
            let (y, cache) = try model.forward(x, training: true, random: &random)
            var dRng = SplitMix64(seed: 2)
            results.append((y, model.backward(randomTensor(y.shape, &dRng), cache: cache)))
        }
        for (threads, (y, gradients)) in zip([2, 3], results.dropFirst()) {
            #expect(y.data == results[0].0.data, "output, \(threads) threads")
            #expect(Set(gradients.keys) == Set(results[0].1.keys))
            for (key, value) in results[0].1.sorted(by: { $0.key < $1.key }) {
                #expect(gradients[key]?.data == value.data, "\(key), \(threads) threads")
            }
        }
    }

    /// Darts test: perturb input step j and record which output steps change.
    @Test(arguments: ConvolutionPadding.allCases)
    func receptiveFieldIsExactlyTheSetOfReachedOutputs(padding: ConvolutionPadding) throws {
        let config = Configs.make(
            normalization: .layerNorm, activation: .gelu, head: .perStep, loss: .mse, padding: padding,
            kernelSize: 3, channels: [3, 3], dilations: [1, 3])
        var model = try TCNModel(configuration: config, seed: 2)
        model.receptiveFieldPolicy = .ignore
        #expect(model.receptiveField == 1 + 2 * 2 * 1 + 2 * 2 * 3)
        let time = 40
        var rng = SplitMix64(seed: 3)
        let x = randomTensor([1, 2, time], &rng)
        let base = try model(x)
        let reach = model.receptiveField - 1
        for j in [0, 7, 20, 39] {
            var xj = x
            xj.data[j] += 0.5
            let out = try model(xj)
            for t in 0..<time {
                let changed = (0..<3).contains { out.data[$0 * time + t] != base.data[$0 * time + t] }
                let expected = padding == .causal ? (t >= j && t - j <= reach) : abs(t - j) <= reach / 2
                #expect(changed == expected, "\(padding) input \(j) output \(t)")
            }
        }
    }

    @Test func receptiveFieldScheduleAndPolicy() throws {
        let locuslab = Configs.make(head: .lastStep, loss: .mse, kernelSize: 7, channels: [8, 8, 8, 8])
        #expect(locuslab.backbone.receptiveField == 1 + 2 * 6 * (1 + 2 + 4 + 8))
        let reset = Configs.make(head: .lastStep, loss: .mse, channels: [2, 2, 2, 2, 2], reset: 2)
        #expect((0..<5).map { reset.backbone.dilation(ofBlock: $0) } == [1, 2, 1, 2, 1])
        var model = try TCNModel(configuration: locuslab, seed: 0)
        #expect(try model.checkInputLength(300) == nil)
        #expect(try model.checkInputLength(10)?.contains("receptive field 181") == true)
        model.receptiveFieldPolicy = .error
        #expect(throws: TCNError.inputShorterThanReceptiveField(length: 10, receptiveField: 181)) {
            try model(Tensor(zeros: [1, 2, 10]))
        }
    }

    @Test func lengthsSelectTheLastValidStepAndAreChecked() throws {
        var model = try TCNModel(configuration: Configs.make(head: .lastStep, loss: .mse), seed: 4)
        model.receptiveFieldPolicy = .ignore
        var rng = SplitMix64(seed: 5)
        let x = randomTensor([2, 2, 12], &rng)
        let full = try model(x, lengths: [12, 8])
        // Sample 1 cut to 8 steps gives the same output as lengths 8 (causal: later steps cannot leak back).
        let cut = try Tensor(shape: [1, 2, 8], data: Array(x.data[24..<32]) + Array(x.data[36..<44]))
        assertClose(Array(full.data[3..<6]), try model(cut).data, rtol: 1e-5, atol: 1e-6)
        #expect(throws: TCNError.self) { try model(x, lengths: [12, 13]) }
        #expect(throws: TCNError.self) { try model(x, lengths: [12]) }
        #expect(throws: TCNError.self) { try model(Tensor(zeros: [2, 3, 12])) }
    }

    @Test func edgeCases() throws {
        var pooled = try TCNModel(configuration: Configs.make(head: .lastStep, loss: .mse), seed: 1)
        pooled.receptiveFieldPolicy = .ignore
        #expect(throws: TCNError.self) { try pooled(Tensor(zeros: [2, 2, 0])) }
        #expect(try pooled(Tensor(zeros: [0, 2, 5])).shape == [0, 3])
        let one = try pooled(Tensor(zeros: [1, 2, 1], value: 0.5))
        #expect(one.shape == [1, 3] && one.data.allSatisfy { $0.isFinite })
        var perStep = try TCNModel(configuration: Configs.make(head: .perStep, loss: .mse), seed: 1)
        perStep.receptiveFieldPolicy = .ignore
        #expect(try perStep(Tensor(zeros: [2, 2, 0])).shape == [2, 3, 0])
        // NaN propagates forward from its step on (causal), earlier steps stay finite.
        var x = Tensor(zeros: [1, 2, 6], value: 0.1)
        x.data[3] = .nan
        let y = try perStep(x)
        for c in 0..<3 {
            #expect(y.data[c * 6..<c * 6 + 3].allSatisfy { $0.isFinite })
            #expect(y.data[c * 6 + 3].isNaN)
        }
        // One input channel, many output channels.
        let wide = TCNConfiguration(
            backbone: BackboneConfiguration(inputChannels: 1, channels: [33], kernelSize: 4),
            head: HeadConfiguration(kind: .meanPool, outputs: 1, loss: .mse))
        var model = try TCNModel(configuration: wide, seed: 2)
        model.receptiveFieldPolicy = .ignore
        var rng = SplitMix64(seed: 1)
        var random = TCNRandom(seed: 1)
        let (loss, grads) = try model.lossAndGradients(
            randomTensor([2, 1, 9], &rng), targets: Tensor(zeros: [2, 1]), random: &random)
        #expect(loss.isFinite && grads.count == model.parameters.count)
    }

    @Test func seededBuildsAreIdenticalAndDifferentSeedsDiffer() throws {
        let config = Configs.make(normalization: .batchNorm, head: .lastStep, loss: .mse, skip: true)
        let a = try TCNModel(configuration: config, seed: 9)
        let b = try TCNModel(configuration: config, seed: 9)
        let c = try TCNModel(configuration: config, seed: 10)
        #expect(a == b)
        #expect(a.parameters != c.parameters)
        #expect(
            Set(a.stateDict.keys).isSuperset(of: [
                "network.0.conv1.weight", "network.0.norm1.running_mean", "network.0.downsample.weight",
                "network.2.norm2.num_batches_tracked", "downsample_skip_connection.0.weight", "linear.weight",
            ]))
    }
}
