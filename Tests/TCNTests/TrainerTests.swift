import Foundation
import TestSupport
import Testing

@testable import TCN

struct TrainerTests {
    /// A learnable task: is the sum of channel 0 over the last 5 steps positive?
    static func data(count: Int, seed: UInt64) throws -> InMemoryDataSource {
        var rng = SplitMix64(seed: seed)
        let time = 24
        let x = randomTensor([count, 2, time], &rng)
        let labels = (0..<count).map { n -> Float in
            let s = (time - 5..<time).reduce(Float(0)) { $0 + x.data[n * 2 * time + $1] }
            return s > 0 ? 1 : 0
        }
        return try InMemoryDataSource(inputs: x, targets: Tensor(shape: [count], data: labels))
    }

    static func config(dropout: Float = 0.2) -> TCNConfiguration {
        TCNConfiguration(
            backbone: BackboneConfiguration(
                inputChannels: 2, channels: [6, 6], kernelSize: 3, normalization: .batchNorm, dropout: dropout,
                dropoutMode: .channel, initialization: .kaimingNormal),
            head: HeadConfiguration(kind: .lastStep, outputs: 2, loss: .crossEntropy))
    }

    static func trainer(seed: UInt64, epochs: Int = 3) throws -> Trainer {
        let options = TrainerOptions(
            epochs: epochs, batchSize: 4, seed: seed, clipNorm: 1,
            schedule: .cosine(base: 0.01, minimum: 0.001, warmUp: 1, warmUpStartFactor: 0.5, total: epochs))
        return try Trainer(
            model: TCNModel(configuration: config(), seed: seed), optimizer: Adam(learningRate: 0.01),
            options: options)
    }

    @Test func sameSeedGivesBitIdenticalWeights() throws {
        let data = try Self.data(count: 10, seed: 1)
        var a = try Self.trainer(seed: 5)
        var b = try Self.trainer(seed: 5)
        var c = try Self.trainer(seed: 6)
        try a.fit(training: data)
        try b.fit(training: data)
        try c.fit(training: data)
        #expect(a.model.stateDict == b.model.stateDict)
        #expect(a.state == b.state)
        #expect(a.model.stateDict != c.model.stateDict)
        #expect(a.state.history.count == 3)
    }

    /// Convolutions split a batch over threads; results must not depend on how many. (Changing the global
    /// count while other tests run is harmless for the same reason.)
    @Test func threadCountDoesNotChangeResults() throws {
        let data = try Self.data(count: 10, seed: 8)
        let saved = TCNThreads.current
        defer { try? TCNThreads.set(saved) }
        var results: [TensorDictionary] = []
        for threads in [1, 3, 2] {
            try TCNThreads.set(threads)
            var trainer = try Self.trainer(seed: 9, epochs: 2)
            try trainer.fit(training: data)
            results.append(trainer.model.stateDict)
        }
        #expect(results[0] == results[1])
        #expect(results[0] == results[2])
        #expect(throws: TCNError.self) { try TCNThreads.set(0) }
    }

    @Test(arguments: [1, 4, 6])
    func resumedRunEqualsUninterruptedRunBitForBit(interruptAfter: Int) throws {
        let data = try Self.data(count: 10, seed: 2)
        let validation = try Self.data(count: 6, seed: 3)
        var straight = try Self.trainer(seed: 7)
        try straight.fit(training: data, validation: validation)

        let folder = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = folder.appendingPathComponent("ckpt")
        var first = try Self.trainer(seed: 7)
        try first.fit(training: data, validation: validation, maxSteps: interruptAfter)
        #expect(!first.isFinished)
        try first.saveCheckpoint(to: checkpoint)
        try first.saveCheckpoint(to: checkpoint)  // replacing an existing checkpoint works
        var resumed = try Trainer(resumingFrom: checkpoint, optimizer: Adam(learningRate: 0.01))
        #expect(resumed.state == first.state)
        try resumed.fit(training: data, validation: validation)
        #expect(resumed.model.stateDict == straight.model.stateDict, "interrupted after \(interruptAfter)")
        #expect(resumed.optimizer.state == straight.optimizer.state)
        #expect(resumed.state == straight.state)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["ckpt"])
    }

    /// Optimiser moments whose shapes do not match their parameters (a damaged or foreign checkpoint) are a typed
    /// error naming the file and key, not a crash in the next step.
    @Test func resumingWithMismatchedOptimizerStateThrows() throws {
        let data = try Self.data(count: 10, seed: 2)
        let folder = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = folder.appendingPathComponent("ckpt")
        var first = try Self.trainer(seed: 7)
        try first.fit(training: data, validation: nil, maxSteps: 2)
        try first.saveCheckpoint(to: checkpoint)
        let url = checkpoint.appendingPathComponent("optimizer.safetensors")
        var state = try SafeTensors.read(url).tensors
        let key = try #require(state.keys.sorted().first { $0.hasSuffix("#exp_avg") })
        state[key] = Tensor(zeros: [3])
        try SafeTensors.write(state, to: url)
        #expect {
            _ = try Trainer(resumingFrom: checkpoint, optimizer: Adam(learningRate: 0.01))
        } throws: { error in
            guard case .keyShapeMismatch(let path, let name, _, let actual) = error as? TCNError else { return false }
            return path == url.path && name == key && actual == [3]
        }
    }

    @Test func trainingLearnsAndEarlyStoppingStops() throws {
        let data = try Self.data(count: 64, seed: 4)
        let config = TCNConfiguration(
            backbone: BackboneConfiguration(inputChannels: 2, channels: [8, 8], kernelSize: 3),
            head: HeadConfiguration(kind: .lastStep, outputs: 2, loss: .crossEntropy))
        var trainer = try Trainer(
            model: TCNModel(configuration: config, seed: 1), optimizer: Adam(learningRate: 0.02),
            options: TrainerOptions(epochs: 15, batchSize: 16))
        let before = try trainer.evaluate(data)
        var seen: [Int] = []
        try trainer.fit(training: data, validation: data) { seen.append($0.epoch) }
        let after = try trainer.evaluate(data)
        #expect(after < 0.5 * before, "loss \(before) → \(after)")
        #expect(seen == Array(0..<seen.count))

        // Validation loss that never improves after the first epoch stops after `patience` epochs.
        let noise = try InMemoryDataSource(
            inputs: data.inputs, targets: Tensor(shape: [64], data: (0..<64).map { Float($0 % 2) }))
        var stopping = try Trainer(
            model: TCNModel(configuration: config, seed: 1), optimizer: SGD(learningRate: 0),
            options: TrainerOptions(epochs: 50, batchSize: 16, earlyStoppingPatience: 3))
        try stopping.fit(training: noise, validation: noise)
        #expect(stopping.state.stopped)
        #expect(stopping.state.history.count == 4)
    }

    @Test func badArgumentsThrow() throws {
        let model = try TCNModel(configuration: Self.config(), seed: 0)
        #expect(throws: TCNError.self) {
            try Trainer(model: model, optimizer: SGD(learningRate: 0.1), options: TrainerOptions(batchSize: 0))
        }
        #expect(throws: TCNError.self) {
            try InMemoryDataSource(inputs: Tensor(zeros: [3, 2, 4]), targets: Tensor(zeros: [2]))
        }
        var trainer = try Trainer(model: model, optimizer: SGD(learningRate: 0.1))
        #expect(throws: TCNError.self) {
            try trainer.fit(
                training: InMemoryDataSource(inputs: Tensor(zeros: [0, 2, 4]), targets: Tensor(zeros: [0])))
        }
        #expect(throws: TCNError.self) {
            try Trainer(resumingFrom: URL(fileURLWithPath: "/nonexistent"), optimizer: SGD(learningRate: 0.1))
        }
    }
}
