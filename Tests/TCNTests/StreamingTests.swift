import Foundation
import TestSupport
import Testing

@testable import TCN

struct StreamingTests {
    static let configs: [(String, TCNConfiguration)] = [
        ("weightNorm perStep", Configs.make(activation: .relu, head: .perStep, loss: .mse)),
        (
            "batchNorm skip reset",
            Configs.make(
                normalization: .batchNorm, head: .perStep, loss: .mse, skip: true, channels: [3, 4, 4, 2], reset: 2)
        ),
        (
            "layerNorm lastStep k5",
            Configs.make(normalization: .layerNorm, activation: .gelu, head: .lastStep, loss: .mse, kernelSize: 5)
        ),
        ("none meanPool k1", Configs.make(normalization: .none, head: .meanPool, loss: .mse, kernelSize: 1)),
        (
            "weightNorm branch skips",
            Configs.make(
                activation: .relu, head: .perStep, loss: .mse, skip: true, channels: [3, 4, 4, 2],
                skipSource: .residualBranch)
        ),
        (
            "batchNorm branch skips same widths",
            Configs.make(
                normalization: .batchNorm, head: .perStep, loss: .mse, skip: true, channels: [3, 3, 3],
                skipSource: .residualBranch)
        ),
    ]

    /// Offline per-step head outputs `[B, outputs, T]` (mean-pool: running mean of the features).
    static func offline(_ model: TCNModel, _ x: Tensor) throws -> Tensor {
        var h = try model.features(x)
        if model.configuration.head.kind == .meanPool {
            let (batch, channels, time) = (h.shape[0], h.shape[1], h.shape[2])
            for r in 0..<(batch * channels) {
                var s: Float = 0
                for t in 0..<time {
                    s += h.data[r * time + t]
                    h.data[r * time + t] = s / Float(t + 1)
                }
            }
        }
        return try model.linear(h)
    }

    /// Steps `[B, C, t ..< t + n]` of `x` `[B, C, T]`.
    static func slice(_ x: Tensor, from t: Int, count n: Int) -> Tensor {
        let (rows, time) = (x.shape[0] * x.shape[1], x.shape[2])
        var chunk = Tensor(zeros: [x.shape[0], x.shape[1], n])
        for r in 0..<rows {
            for s in 0..<n { chunk.data[r * n + s] = x.data[r * time + t + s] }
        }
        return chunk
    }

    /// Streams `x` `[B, C, T]` in chunks of `lengths` (summing to `T`) and reassembles `[B, outputs, T]`.
    static func run(_ stream: inout TCNStream, _ x: Tensor, chunks lengths: [Int]) throws -> Tensor {
        let time = x.shape[2]
        var pieces: [Tensor] = []
        var t = 0
        for n in lengths {
            pieces.append(try stream.process(slice(x, from: t, count: n)))
            t += n
        }
        let (batch, outputs) = (x.shape[0], stream.model.configuration.head.outputs)
        var got = Tensor(zeros: [batch, outputs, time])
        var offset = 0
        for p in pieces {
            let n = p.shape[2]
            for r in 0..<(batch * outputs) {
                for s in 0..<n { got.data[r * time + offset + s] = p.data[r * n + s] }
            }
            offset += n
        }
        return got
    }

    /// Random chunk lengths in `0 ... maxLength` summing to `time`.
    static func randomChunks(time: Int, maxLength: Int, _ rng: inout SplitMix64) -> [Int] {
        var lengths: [Int] = []
        var t = 0
        while t < time {
            let n = min(time - t, Int(rng.next() % UInt64(maxLength + 1)))
            lengths.append(n)
            t += n
        }
        return lengths
    }

    /// A model from `configs[index]` with non-trivial batch-norm statistics.
    static func model(_ index: Int, _ rng: inout SplitMix64) throws -> TCNModel {
        var model = try TCNModel(configuration: configs[index].1, seed: 3)
        model.receptiveFieldPolicy = .ignore
        for i in model.blocks.indices {
            for s in model.blocks[i].batchNorms.indices {
                let width = model.blocks[i].conv1.outputChannels
                model.blocks[i].batchNorms[s].runningMean = randomTensor([width], &rng)
                model.blocks[i].batchNorms[s].runningVariance = randomTensor([width], &rng, low: 0.5, high: 2)
            }
        }
        return model
    }

    @Test(arguments: 0..<configs.count)
    func streamingMatchesOfflineForRandomChunkings(index: Int) throws {
        let (label, config) = Self.configs[index]
        var model = try TCNModel(configuration: config, seed: 3)
        model.receptiveFieldPolicy = .ignore
        var rng = SplitMix64(seed: 100 + UInt64(index))
        // Non-trivial batch-norm statistics.
        for i in model.blocks.indices {
            for s in model.blocks[i].batchNorms.indices {
                model.blocks[i].batchNorms[s].runningMean = randomTensor([model.blocks[i].conv1.outputChannels], &rng)
            }
        }
        let (batch, time) = (3, 50)
        let x = randomTensor([batch, 2, time], &rng)
        let expected = try Self.offline(model, x)
        for trial in 0..<3 {
            var stream = try TCNStream(model: model, streams: batch)
            var lengths: [Int] = []
            var t = 0
            while t < time {
                let n = min(time - t, trial == 0 ? 1 : Int(rng.next() % 9))
                lengths.append(n)
                t += n
            }
            let got = try Self.run(&stream, x, chunks: lengths)
            #expect(stream.stepsProcessed == [time, time, time])
            assertClose(got.data, expected.data, rtol: 1e-5, atol: 1e-5, "\(label) trial \(trial)")
        }
        if config.head.kind == .lastStep {
            var stream = try TCNStream(model: model, streams: batch)
            let last = try stream.process(x)
            let y = try model(x)
            assertClose((0..<(batch * 3)).map { last.data[$0 * time + time - 1] }, y.data, rtol: 1e-5, atol: 1e-6)
        }
    }

    @Test func resetRestartsOneStream() throws {
        let model = try TCNModel(configuration: Configs.make(head: .perStep, loss: .mse), seed: 1)
        var rng = SplitMix64(seed: 2)
        let a = randomTensor([2, 2, 20], &rng)
        let b = randomTensor([2, 2, 20], &rng)
        var stream = try TCNStream(model: model, streams: 2)
        _ = try stream.process(a)
        try stream.reset(stream: 1)
        let continued = try stream.process(b)
        var fresh = try TCNStream(model: model, streams: 2)
        let restarted = try fresh.process(b)
        let half = continued.count / 2
        #expect(Array(continued.data[half...]) == Array(restarted.data[half...]))
        #expect(Array(continued.data[..<half]) != Array(restarted.data[..<half]))
        #expect(stream.stepsProcessed == [40, 20])
        #expect(throws: TCNError.self) { try stream.reset(stream: 2) }
        #expect(throws: TCNError.self) { try stream.process(Tensor(zeros: [3, 2, 4])) }
        let same = Configs.make(head: .perStep, loss: .mse, padding: .same)
        #expect(throws: TCNError.self) { try TCNStream(model: TCNModel(configuration: same, seed: 0), streams: 1) }
    }

    /// One stream and many (one shard of 33, shards of 35 + 35 and of 43 + 44 + 44), in one-step chunks and in
    /// chunks from 0 steps to far more than a piece (7–64 steps here) or a ring holds: every stream equals the
    /// offline model. One stream stepping one step at a time takes the matrix-vector path.
    @Test(arguments: [(0, 1), (1, 33), (2, 70), (3, 131), (1, 131), (4, 70), (5, 3)])
    func manyStreamsMatchOffline(index: Int, streams: Int) throws {
        var rng = SplitMix64(seed: 200 + UInt64(index))
        let model = try Self.model(index, &rng)
        let time = 160
        let x = randomTensor([streams, 2, time], &rng)
        let expected = try Self.offline(model, x)
        let chunkings = [
            [Int](repeating: 1, count: time),
            [1, 0, 2, 140] + Self.randomChunks(time: time - 143, maxLength: 9, &rng),
        ]
        for (trial, chunks) in chunkings.enumerated() {
            var stream = try TCNStream(model: model, streams: streams)
            let got = try Self.run(&stream, x, chunks: chunks)
            assertClose(
                got.data, expected.data, rtol: 1e-5, atol: 1e-5,
                "\(Self.configs[index].0) \(streams) streams trial \(trial)")
            #expect(stream.stepsProcessed == [Int](repeating: time, count: streams))
        }
    }

    /// Shards run in parallel, but each stream's arithmetic does not depend on the thread count: bit-identical.
    /// (Changing the global count while other tests run is harmless for the same reason.)
    @Test func threadCountDoesNotChangeStreamOutputs() throws {
        let saved = TCNThreads.current
        defer { try? TCNThreads.set(saved) }
        var rng = SplitMix64(seed: 300)
        let model = try Self.model(1, &rng)
        let x = randomTensor([131, 2, 40], &rng)
        let chunks = Self.randomChunks(time: 40, maxLength: 9, &rng)
        var results: [Tensor] = []
        for threads in [1, 2, 3] {
            try TCNThreads.set(threads)
            var stream = try TCNStream(model: model, streams: 131)
            results.append(try Self.run(&stream, x, chunks: chunks))
        }
        #expect(results[0] == results[1])
        #expect(results[0] == results[2])
    }

    /// A copy of a stream is a snapshot: restoring it and feeding the same input repeats the same outputs
    /// (rings and mean-pool sums included), while the original moves on.
    @Test(arguments: [1, 3])
    func copyingAStreamSavesAndRestoresItsState(index: Int) throws {
        var rng = SplitMix64(seed: 400 + UInt64(index))
        let model = try Self.model(index, &rng)
        let (a, b, c) = (
            randomTensor([100, 2, 7], &rng), randomTensor([100, 2, 5], &rng), randomTensor([100, 2, 3], &rng)
        )
        var stream = try TCNStream(model: model, streams: 100)
        _ = try stream.process(a)
        let saved = stream
        let first = try stream.process(b)
        _ = try stream.process(c)
        #expect(saved.stepsProcessed == [Int](repeating: 7, count: 100))
        stream = saved
        let again = try stream.process(b)
        #expect(first == again)
        #expect(stream.stepsProcessed == [Int](repeating: 12, count: 100))
    }

    /// Resetting streams in different shards restarts exactly those streams; an empty chunk changes nothing.
    @Test func resetAcrossShardsAndEmptyChunks() throws {
        var rng = SplitMix64(seed: 500)
        let model = try Self.model(1, &rng)
        let (a, b) = (randomTensor([100, 2, 9], &rng), randomTensor([100, 2, 6], &rng))
        var stream = try TCNStream(model: model, streams: 100)
        _ = try stream.process(a)
        let empty = try stream.process(Tensor(zeros: [100, 2, 0]))
        #expect(empty.shape == [100, 3, 0])
        #expect(stream.stepsProcessed == [Int](repeating: 9, count: 100))
        try stream.reset(stream: 3)
        try stream.reset(stream: 75)
        let continued = try stream.process(b)
        var fresh = try TCNStream(model: model, streams: 100)
        let restarted = try fresh.process(b)
        let width = 3 * 6
        for s in 0..<100 {
            let (got, want) = (
                continued.data[(s * width)..<((s + 1) * width)], restarted.data[(s * width)..<((s + 1) * width)]
            )
            if s == 3 || s == 75 {
                #expect(got == want, "stream \(s)")
                #expect(stream.stepsProcessed[s] == 6)
            } else {
                #expect(got != want, "stream \(s)")
                #expect(stream.stepsProcessed[s] == 15)
            }
        }
    }

    /// A NaN in one stream's input stays in that stream (the others are unchanged, bit for bit), and after a reset
    /// that stream computes as a fresh one: no NaN is left in its rings or leaks from scratch space through 0 · NaN
    /// (one stream stepping one step at a time takes the matrix-vector path).
    @Test(arguments: [1, 3])
    func nanStaysInItsStreamAndResetClearsIt(streams: Int) throws {
        var rng = SplitMix64(seed: 600)
        let model = try Self.model(1, &rng)  // tanh: NaN propagates (ReLU maps it to 0, offline too)
        let clean = randomTensor([streams, 2, 5], &rng)
        var x = clean
        x.data[3] = .nan  // stream 0, channel 0, step 3
        var stream = try TCNStream(model: model, streams: streams)
        var reference = try TCNStream(model: model, streams: streams)
        let y = try stream.process(x)
        let expected = try reference.process(clean)
        let width = 3 * 5
        for (i, (got, want)) in zip(y.data, expected.data).enumerated() {
            if i < width && i % 5 >= 3 {
                #expect(got.isNaN, "stream 0 output \(i)")
            } else {
                #expect(got == want, "output \(i)")
            }
        }
        try stream.reset(stream: 0)
        try reference.reset(stream: 0)
        for _ in 0..<4 {
            let step = randomTensor([streams, 2, 1], &rng)
            #expect(try stream.process(step) == reference.process(step))
        }
    }

    /// The packed plan indexes memory by layer widths, so a built model whose layers no longer chain is refused
    /// with the `state_dict` key of the first misfit.
    @Test func layersThatDoNotChainAreRefused() throws {
        var rng = SplitMix64(seed: 700)
        let model = try Self.model(1, &rng)  // channels [3, 4, 4, 2], skip connections
        var random = TCNRandom(seed: 1)
        var wide = model
        wide.blocks[1].conv1 = try Conv1d(inputChannels: 5, outputChannels: 4, kernelSize: 3, random: &random)
        #expect(
            throws: TCNError.shapeMismatch(name: "network.1.conv1.weight", expected: [4, 3, 3], actual: [4, 5, 3])
        ) {
            try TCNStream(model: wide, streams: 2)
        }
        var noDownsample = model
        noDownsample.blocks[0].downsample = nil
        #expect(throws: TCNError.shapeMismatch(name: "network.0.downsample.weight", expected: [3, 2, 1], actual: [])) {
            try TCNStream(model: noDownsample, streams: 2)
        }
        var badNorm = model
        badNorm.blocks[2].batchNorms[1].runningMean = Tensor(zeros: [5])
        #expect(throws: TCNError.shapeMismatch(name: "network.2.norm2.running_mean", expected: [4], actual: [5])) {
            try TCNStream(model: badNorm, streams: 2)
        }
        var noSkip = model
        noSkip.skipProjections[0] = nil
        #expect(
            throws: TCNError.shapeMismatch(
                name: "downsample_skip_connection.0.weight", expected: [2, 3, 1], actual: [])
        ) {
            try TCNStream(model: noSkip, streams: 2)
        }
        var empty = model
        empty.blocks = []
        #expect(throws: TCNError.self) { try TCNStream(model: empty, streams: 2) }
        _ = try TCNStream(model: model, streams: 2)
    }
}
