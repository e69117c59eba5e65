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
            var pieces: [Tensor] = []
            var t = 0
            while t < time {
                let n = min(time - t, trial == 0 ? 1 : Int(rng.next() % 9))
                var chunk = Tensor(zeros: [batch, 2, n])
                for r in 0..<(batch * 2) {
                    for s in 0..<n { chunk.data[r * n + s] = x.data[r * time + t + s] }
                }
                pieces.append(try stream.process(chunk))
                t += n
            }
            #expect(stream.stepsProcessed == [time, time, time])
            // Reassemble [B, outputs, T] from the chunks.
            let outputs = expected.shape[1]
            var got = Tensor(zeros: expected.shape)
            var offset = 0
            for p in pieces {
                let n = p.shape[2]
                for r in 0..<(batch * outputs) {
                    for s in 0..<n { got.data[r * time + offset + s] = p.data[r * n + s] }
                }
                offset += n
            }
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
}
