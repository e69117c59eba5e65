import Dispatch
import Synchronization
import TestSupport
import Testing

@testable import TCN

/// The channels-last engine (oneDNN; `ConvolutionEngine.automatic`) against the im2col engine: the same outputs,
/// losses and gradients (within float rounding: the two sum in different orders), over the paths it has — ReLU
/// (post-ops and fused kernels) and other activations, dropout of both kinds, downsampling, time folded for large
/// dilations or not, causal and "same" padding, skip connections of both sources with and without projections,
/// per-step and mean-pooled heads with lengths.
struct ChannelsLastTests {
    static let cases: [(name: String, config: TCNConfiguration, time: Int)] = [
        (
            "relu weightNorm perStep",
            Configs.make(activation: .relu, head: .perStep, loss: .mse, channels: [4, 6, 6]), 24
        ),
        (
            "relu none perStep dropout, folded d16/d32",
            Configs.make(
                normalization: .none, activation: .relu, head: .perStep, loss: .mse, channels: [5, 5, 4],
                dilations: [1, 16, 32], dropout: 0.25),
            64
        ),
        (
            "relu channel dropout, d16 folded by 2, d32 unfolded (50 steps)",
            Configs.make(
                activation: .relu, head: .perStep, loss: .mse, channels: [4, 4, 4], dilations: [2, 16, 32],
                dropout: 0.3, dropoutMode: .channel),
            50
        ),
        (
            "gelu meanPool same padding folded",
            Configs.make(
                activation: .gelu, head: .meanPool, loss: .crossEntropy, padding: .same, channels: [4, 3],
                dilations: [1, 32], dropout: 0.2),
            64
        ),
        (
            "relu skips with projections, folded d16",
            Configs.make(
                activation: .relu, head: .perStep, loss: .mse, skip: true, channels: [4, 6, 3], dilations: [1, 2, 16],
                dropout: 0.2),
            32
        ),
        (
            "relu residual-branch skips (pytorch-tcn), dropout",
            Configs.make(
                activation: .relu, head: .perStep, loss: .mse, skip: true, channels: [4, 4, 3], dropout: 0.3,
                skipSource: .residualBranch),
            24
        ),
        (
            "gelu residual-branch skips meanPool, folded d32",
            Configs.make(
                activation: .gelu, head: .meanPool, loss: .crossEntropy, skip: true, channels: [3, 5, 4],
                dilations: [1, 32, 2], dropout: 0.2, dropoutMode: .channel, skipSource: .residualBranch),
            64
        ),
        (
            "tanh perStep k2 masked warm-up",
            Configs.make(
                normalization: .none, head: .perStep, loss: .huber, kernelSize: 2, channels: [3, 5, 5, 3], reset: 2,
                maskWarmUp: true),
            30
        ),
    ]

    /// A model and its inputs for case `index`, on `engine`.
    static func setUp(_ index: Int, engine: ConvolutionEngine) throws -> (TCNModel, Tensor, Tensor, [Int]?) {
        let (_, config, time) = cases[index]
        var model = try TCNModel(configuration: config, seed: 5)
        model.receptiveFieldPolicy = .ignore
        model.convolutionEngine = engine
        var rng = SplitMix64(seed: 9)
        let batch = 3
        let x = randomTensor([batch, 2, time], &rng)
        let y = ModelTests.targets(config, batch: batch, time: time, &rng)
        let lengths = config.head.kind == .meanPool || index == cases.count - 1 ? [time, time - 5, 9] : nil
        return (model, x, y, lengths)
    }

    @Test(arguments: 0..<cases.count)
    func channelsLastEqualsIm2col(index: Int) throws {
        for training in [true, false] {
            var results: [(Tensor, Float, TensorDictionary)] = []
            for engine in [ConvolutionEngine.automatic, .im2col] {
                var (model, x, y, lengths) = try Self.setUp(index, engine: engine)
                var random = TCNRandom(seed: 4)
                let (out, cache) = try model.forward(x, lengths: lengths, training: training, random: &random)
                #expect(
                    (cache.channelsLast != nil) == (engine == .automatic),
                    "\(Self.cases[index].name): engine \(engine)")
                var r2 = TCNRandom(seed: 4)
                let (loss, gradients) = try model.lossAndGradients(
                    x, targets: y, lengths: lengths, training: training, random: &r2)
                results.append((out, loss, gradients))
                // Inference without caches takes the same engine and gives the same output.
                if !training { assertClose(try model(x, lengths: lengths).data, out.data, rtol: 0, atol: 0) }
            }
            let name = "\(Self.cases[index].name), training \(training)"
            let (a, b) = (results[0], results[1])
            assertClose(a.0.data, b.0.data, rtol: 1e-4, atol: 1e-5, "output, \(name)")
            assertClose([a.1], [b.1], rtol: 1e-4, atol: 1e-6, "loss, \(name)")
            #expect(Set(a.2.keys) == Set(b.2.keys), "gradient keys, \(name)")
            for (key, value) in b.2 {
                assertClose(a.2[key]?.data ?? [], value.data, rtol: 1e-3, atol: 1e-5, "\(key), \(name)")
            }
        }
    }

    /// oneDNN's sums are fixed for a thread count: the same inputs give the same bits, pass after pass — with time
    /// folded (its AVX-512 kernels) and with a dilation of 32 unfolded (its GEMM-based ones, case 2).
    @Test(arguments: [1, 2])
    func channelsLastGradientsAreRepeatable(index: Int) throws {
        var results: [(Tensor, TensorDictionary)] = []
        for _ in 0..<3 {
            var (model, x, y, lengths) = try Self.setUp(index, engine: .automatic)
            var random = TCNRandom(seed: 4)
            let (out, cache) = try model.forward(x, lengths: lengths, training: true, random: &random)
            #expect(cache.channelsLast != nil)
            let valid = model.validSteps(batch: x.shape[0], time: x.shape[2], lengths: cache.lengths)
            let (_, dOut) = try model.configuration.head.loss.evaluate(
                output: out, targets: y, validSteps: valid, huberDelta: 1)
            results.append((out, model.backward(dOut, cache: cache)))
        }
        for (out, gradients) in results.dropFirst() {
            #expect(out.data == results[0].0.data)
            for (key, value) in results[0].1 { #expect(gradients[key]?.data == value.data, "\(key)") }
        }
    }

    /// Passes on several threads at once (different shapes, so different primitives, GEMM-based ones among them)
    /// give what each gives alone. Each primitive has its own scratchpad: with oneDNN's shared one this crashed
    /// about one run in two.
    @Test func concurrentPassesGiveTheSerialResults() throws {
        @Sendable func run(_ index: Int) throws -> [Float] {
            var (model, x, y, lengths) = try Self.setUp(index, engine: .automatic)
            var random = TCNRandom(seed: 4)
            let (loss, gradients) = try model.lossAndGradients(
                x, targets: y, lengths: lengths, training: true, random: &random)
            return [loss] + gradients.sorted { $0.key < $1.key }.flatMap(\.value.data)
        }
        let indices = Array(Self.cases.indices) + Array(Self.cases.indices)
        let serial = try indices.map(run)
        let results = Mutex<[Int: [Float]]>([:])
        DispatchQueue.concurrentPerform(iterations: indices.count) { n in
            let result = try? run(indices[n])
            results.withLock { $0[n] = result }
        }
        for (n, expected) in serial.enumerated() {
            #expect(results.withLock { $0[n] } == expected, "\(Self.cases[indices[n]].name)")
        }
    }

    /// Passes the engine does not take stay on im2col: pruned last-step heads, batch and layer norm.
    @Test func otherPassesStayOnIm2col() throws {
        let configs = [
            Configs.make(activation: .relu, head: .lastStep, loss: .crossEntropy),
            Configs.make(normalization: .batchNorm, activation: .relu, head: .perStep, loss: .mse),
            Configs.make(normalization: .layerNorm, activation: .relu, head: .perStep, loss: .mse),
        ]
        var rng = SplitMix64(seed: 2)
        let x = randomTensor([2, 2, 20], &rng)
        for config in configs {
            var model = try TCNModel(configuration: config, seed: 1)
            model.receptiveFieldPolicy = .ignore
            var random = TCNRandom(seed: 1)
            let (_, cache) = try model.forward(x, training: true, random: &random)
            #expect(cache.channelsLast == nil)
        }
    }

    /// Folding time into the batch and back, and the batch transposes, move every element where they say.
    @Test func foldsAndTransposesMoveEveryElement() {
        let (batch, time, channels) = (2, 12, 3)
        let x = (0..<(batch * time * channels)).map(Float.init)
        for fold in [2, 3, 4] {
            let folded = refolded(x, batch: batch, time: time, channels: channels, from: 1, to: fold)
            let rows = time / fold
            for b in 0..<batch {
                for t in 0..<time {
                    for c in 0..<channels {
                        let (q, r) = (t / fold, t % fold)
                        #expect(folded[((b * fold + r) * rows + q) * channels + c] == x[(b * time + t) * channels + c])
                    }
                }
            }
            #expect(refolded(folded, batch: batch, time: time, channels: channels, from: fold, to: 1) == x)
            let refold = refolded(folded, batch: batch, time: time, channels: channels, from: fold, to: 6 / fold * 2)
            #expect(refold == refolded(x, batch: batch, time: time, channels: channels, from: 1, to: 6 / fold * 2))
        }
        // Shapes around the 8 × 8 vector blocks: none, some with edges, only whole blocks.
        for (rows, cols) in [(time, channels), (19, 37), (32, 256), (8, 9)] {
            let y = (0..<(batch * rows * cols)).map(Float.init)
            let t = transposedBatch(y, batch: batch, rows: rows, cols: cols)
            var moved = true
            for b in 0..<batch {
                for i in 0..<rows {
                    for j in 0..<cols where t[b * rows * cols + j * rows + i] != y[b * rows * cols + i * cols + j] {
                        moved = false
                    }
                }
            }
            #expect(moved, "\(rows) × \(cols)")
            #expect(transposedBatch(t, batch: batch, rows: cols, cols: rows) == y, "\(rows) × \(cols) back")
        }
    }
}
