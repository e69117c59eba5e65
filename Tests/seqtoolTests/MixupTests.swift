import AudioIO
import Foundation
import TCN
import TestSupport
import Testing

@testable import seqtool

@Suite struct MixupTests {
    /// Sample mean and population variance.
    static func moments(_ x: [Double]) -> (mean: Double, variance: Double) {
        let mean = x.reduce(0, +) / Double(x.count)
        return (mean, x.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(x.count))
    }

    @Test(arguments: [0.3, 1.0, 4.5])
    func gammaDrawsHaveTheGammaMoments(shape: Double) {
        var random = TCNRandom(seed: 11)
        let x = (0..<40_000).map { _ in random.gamma(shape) }
        let (mean, variance) = Self.moments(x)
        // Gamma(k, 1): mean k, variance k; 40 000 draws give a standard error of √(k / 40 000) on the mean.
        #expect(x.allSatisfy { $0 >= 0 && $0.isFinite })
        #expect(abs(mean - shape) < 4 * (shape / 40_000).squareRoot(), "mean \(mean) for shape \(shape)")
        #expect(abs(variance - shape) < 0.05 * shape, "variance \(variance) for shape \(shape)")
    }

    @Test(arguments: [(0.2, 0.2), (0.4, 0.4), (1.0, 1.0), (2.0, 5.0)])
    func betaDrawsHaveTheBetaMoments(a: Double, b: Double) {
        var random = TCNRandom(seed: 12)
        let x = (0..<40_000).map { _ in random.beta(a, b) }
        let (mean, variance) = Self.moments(x)
        let expectedMean = a / (a + b)
        let expectedVariance = a * b / ((a + b) * (a + b) * (a + b + 1))
        #expect(x.allSatisfy { $0 >= 0 && $0 <= 1 })
        #expect(
            abs(mean - expectedMean) < 4 * (expectedVariance / 40_000).squareRoot(), "Beta(\(a), \(b)) mean \(mean)")
        #expect(abs(variance - expectedVariance) < 0.05 * expectedVariance, "Beta(\(a), \(b)) variance \(variance)")
    }

    @Test func mixesPairsOfTheBatchWithOneLambda() throws {
        let (batch, size, classes) = (5, 3, 4)
        let input = (0..<(batch * size)).map { Float($0 * $0 % 17) }
        let labels = [0, 3, 1, 3, 2]
        var mixed = input
        var lengths: [Int]? = [3, 1, 2, 3, 1]
        var random = TCNRandom(seed: 3)
        let targets = Mixup(alpha: 0.4).apply(
            input: &mixed, classes: labels, classCount: classes, lengths: &lengths, random: &random)
        var replay = TCNRandom(seed: 3)
        let lambda = Float(replay.beta(0.4, 0.4))
        // Recover each example's partner from its targets and inputs: x̃_b = λ x_b + (1 − λ) x_p.
        var partners: [Int] = []
        for b in 0..<batch {
            let p = try #require(
                (0..<batch).first { p in
                    (0..<size).allSatisfy {
                        abs(
                            mixed[b * size + $0] - (lambda * input[b * size + $0] + (1 - lambda) * input[p * size + $0])
                        )
                            <= 1e-5 * max(1, abs(mixed[b * size + $0]))
                    }
                        && abs(targets[b * classes + labels[p]] - (labels[p] == labels[b] ? 1 : 1 - lambda)) < 1e-6
                }, "example \(b)")
            partners.append(p)
            let row = targets[(b * classes)..<((b + 1) * classes)]
            #expect(abs(row.reduce(0, +) - 1) < 1e-6)
            #expect(row.allSatisfy { $0 >= 0 })
            #expect(lengths?[b] == max([3, 1, 2, 3, 1][b], [3, 1, 2, 3, 1][p]))
        }
        #expect(Set(partners).count == batch, "partners form a permutation: \(partners)")
    }

    @Test func oneExampleIsLeftUnmixed() {
        var input: [Float] = [1, 2, 3]
        var lengths: [Int]? = nil
        var random = TCNRandom(seed: 1)
        let targets = Mixup(alpha: 1).apply(
            input: &input, classes: [1], classCount: 3, lengths: &lengths, random: &random)
        assertClose(input, [1, 2, 3], rtol: 1e-6, atol: 1e-6)
        assertClose(targets, [0, 1, 0], rtol: 0, atol: 1e-6)
    }

    @Test func trainingBatchesAreMixedDeterministicallyPerEpoch() throws {
        var pipeline = try samplePipeline(preset: "raw", channels: 1)
        pipeline.window = .init(length: 4, hop: 4, boundary: "valid")
        pipeline.normalization = .init(mean: [0], std: [1])
        let files = try (0..<6).map { i in
            LoadedFile(
                path: "\(i).wav", label: i % 2 == 0 ? "no" : "yes", group: nil,
                signal: try Signal(samples: (0..<4).map { Float(10 * i + $0) }, channels: 1, sampleRate: 8000))
        }
        let set = try WindowSet(files: files, pipeline: pipeline, labels: ["no", "yes"])
        var augmentation = AugmentationSpec()
        augmentation.mixup = 0.4
        let epoch = EpochCounter()
        let source = try WindowDataSource(
            windows: set, pipeline: pipeline, target: .classes, augmentation: augmentation, seed: 9, epoch: epoch)
        let first = try source.batch([4, 1, 0, 5])
        #expect(first.targets.shape == [4, 2])
        #expect(first == (try source.batch([4, 1, 0, 5])))
        let clean = try WindowDataSource(windows: set, pipeline: pipeline, target: .classes).batch([4, 1, 0, 5])
        #expect(clean.targets.shape == [4])
        #expect(first.input != clean.input)
        epoch.epoch = 1
        #expect(try source.batch([4, 1, 0, 5]).input != first.input)
        // The soft targets train: a model's loss accepts them.
        var model = try TCNModel(
            configuration: TCNConfiguration(
                backbone: BackboneConfiguration(inputChannels: 1, channels: [3]),
                head: HeadConfiguration(kind: .meanPool, outputs: 2, loss: .crossEntropy)),
            seed: 1)
        var random = TCNRandom(seed: 0)
        let loss = try model.lossAndGradients(first.input, targets: first.targets, random: &random).loss
        #expect(loss.isFinite && loss > 0)
    }

    @Test func labelSmoothingSoftensTheTargetsAfterMixup() throws {
        var pipeline = try samplePipeline(preset: "raw", channels: 1)
        pipeline.window = .init(length: 4, hop: 4, boundary: "valid")
        pipeline.normalization = .init(mean: [0], std: [1])
        let files = try (0..<4).map { i in
            LoadedFile(
                path: "\(i).wav", label: i % 2 == 0 ? "no" : "yes", group: nil,
                signal: try Signal(samples: (0..<4).map { Float(i + $0) }, channels: 1, sampleRate: 8000))
        }
        let set = try WindowSet(files: files, pipeline: pipeline, labels: ["no", "yes"])
        // Smoothing alone: (1 − ε)·onehot + ε/K, PyTorch's label_smoothing; the inputs stay clean.
        let smooth = try WindowDataSource(
            windows: set, pipeline: pipeline, target: .classes, augmentation: AugmentationSpec(), labelSmoothing: 0.2)
        let batch = try smooth.batch([0, 1, 3])
        assertClose(batch.targets.data, [0.9, 0.1, 0.1, 0.9, 0.1, 0.9], rtol: 0, atol: 1e-6)
        #expect(
            batch.input
                == (try WindowDataSource(windows: set, pipeline: pipeline, target: .classes).batch([0, 1, 3]).input))
        // With mixup: the mixed targets, smoothed.
        var augmentation = AugmentationSpec()
        augmentation.mixup = 0.5
        let mixed = try WindowDataSource(
            windows: set, pipeline: pipeline, target: .classes, augmentation: augmentation, seed: 4)
        let both = try WindowDataSource(
            windows: set, pipeline: pipeline, target: .classes, augmentation: augmentation, labelSmoothing: 0.2,
            seed: 4)
        let plain = try mixed.batch([0, 1, 2, 3])
        let smoothed = try both.batch([0, 1, 2, 3])
        #expect(smoothed.input == plain.input)
        assertClose(smoothed.targets.data, plain.targets.data.map { 0.8 * $0 + 0.1 }, rtol: 0, atol: 1e-6)
    }

    @Test func configKeyIsCheckedAndClassificationOnly() throws {
        var object = tinyConfig(folder: URL(fileURLWithPath: "/data"))
        object["augmentation"] = ["mixup": 0.2]
        #expect(try decodeConfig(object).augmentation.mixup == 0.2)
        object["augmentation"] = ["mixup": -1]
        #expect(throws: JobError.self) { try decodeConfig(object) }
        object["augmentation"] = [:]
        object["training"] = ["labelSmoothing": 0.1]
        #expect(try decodeConfig(object).training.labelSmoothing == 0.1)
        for bad in [-0.1, 1] {
            object["training"] = ["labelSmoothing": bad]
            #expect(throws: JobError.self, "\(bad)") { try decodeConfig(object) }
        }
        let anomaly: [String: Any] = [
            "version": 1, "task": "anomaly",
            "data": ["kind": "sensor", "files": ["a.csv"]],
            "window": ["length": 16, "hop": 4],
            "augmentation": ["mixup": 0.2],
            "model": ["channels": [4], "head": "perStep"],
            "anomaly": ["mode": "forecast"],
        ]
        do {
            _ = try decodeConfig(anomaly)
            Issue.record("mixup accepted for an anomaly task")
        } catch let JobError.invalidValue(_, key, _, _) {
            #expect(key == "augmentation.mixup")
        }
        var smoothing = anomaly
        smoothing["augmentation"] = nil
        smoothing["training"] = ["labelSmoothing": 0.1]
        do {
            _ = try decodeConfig(smoothing)
            Issue.record("label smoothing accepted for an anomaly task")
        } catch let JobError.invalidValue(_, key, _, _) {
            #expect(key == "training.labelSmoothing")
        }
    }
}
