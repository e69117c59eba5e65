import Foundation

/// A mini-batch of examples: input `[batch, channels, time]`, targets as the head expects, optional lengths.
public struct TCNBatch: Sendable, Equatable {
    /// `[batch, inputChannels, time]`.
    public var input: Tensor
    /// Class indices `[batch]` / `[batch, time]`, or values shaped like the model's output.
    public var targets: Tensor
    /// Valid steps per example, or `nil` when all `time` steps are valid.
    public var lengths: [Int]?

    /// Creates a batch.
    public init(input: Tensor, targets: Tensor, lengths: [Int]? = nil) {
        self.input = input
        self.targets = targets
        self.lengths = lengths
    }
}

/// A source of training or validation examples addressed by index (the trainer shuffles the indices).
public protocol TCNDataSource: Sendable {
    /// Number of examples.
    var count: Int { get }
    /// The examples at `indices`, stacked in that order.
    ///
    /// - Throws: the source's own errors (for example a file that cannot be read).
    func batch(_ indices: [Int]) throws -> TCNBatch
}

/// Examples held in memory as stacked tensors.
public struct InMemoryDataSource: TCNDataSource {
    /// `[count, channels, time]`.
    public let inputs: Tensor
    /// `[count, …]`: one row of targets per example.
    public let targets: Tensor
    /// Valid steps per example, or `nil`.
    public let lengths: [Int]?

    /// Creates the source.
    ///
    /// - Throws: `TCNError.shapeMismatch` when `inputs` is not 3-D or the example counts disagree.
    public init(inputs: Tensor, targets: Tensor, lengths: [Int]? = nil) throws {
        guard inputs.shape.count == 3 else {
            throw TCNError.shapeMismatch(name: "inputs", expected: [-1, -1, -1], actual: inputs.shape)
        }
        guard targets.shape.first == inputs.shape[0], lengths.map({ $0.count == inputs.shape[0] }) ?? true else {
            throw TCNError.shapeMismatch(
                name: "targets/lengths", expected: [inputs.shape[0]],
                actual: [targets.shape.first ?? 0, lengths?.count ?? inputs.shape[0]])
        }
        self.inputs = inputs
        self.targets = targets
        self.lengths = lengths
    }

    /// Number of examples.
    public var count: Int { inputs.shape[0] }

    /// Gathers rows.
    public func batch(_ indices: [Int]) throws -> TCNBatch {
        func gather(_ t: Tensor) -> Tensor {
            let row = count == 0 ? 0 : t.count / count
            var data = [Float]()
            data.reserveCapacity(row * indices.count)
            for i in indices { data += t.data[(i * row)..<((i + 1) * row)] }
            return Tensor(uncheckedShape: [indices.count] + t.shape.dropFirst(), data: data)
        }
        return TCNBatch(
            input: gather(inputs), targets: gather(targets), lengths: lengths.map { l in indices.map { l[$0] } })
    }
}

/// Training settings, with defaults that suit small TCNs.
public struct TrainerOptions: Sendable, Equatable, Codable {
    /// Passes over the training data (default 10).
    public var epochs: Int
    /// Examples per step (default 32; the last batch of an epoch may be smaller).
    public var batchSize: Int
    /// Visit examples in a seeded random order each epoch (default `true`).
    public var shuffle: Bool
    /// Seeds shuffling and dropout (default 0).
    public var seed: UInt64
    /// `clip_grad_norm_` bound, or `nil` (default).
    public var clipNorm: Float?
    /// `clip_grad_value_` bound, or `nil` (default).
    public var clipValue: Float?
    /// Learning rate per epoch, or `nil` to keep the optimiser's (default).
    public var schedule: LearningRateSchedule?
    /// Reduce the rate when the validation (or training) loss plateaus, or `nil` (default).
    public var plateau: ReduceOnPlateau?
    /// Stop after this many epochs without a validation improvement, or `nil` (default).
    public var earlyStoppingPatience: Int?

    /// Creates options; see each property for its default.
    public init(
        epochs: Int = 10, batchSize: Int = 32, shuffle: Bool = true, seed: UInt64 = 0, clipNorm: Float? = nil,
        clipValue: Float? = nil, schedule: LearningRateSchedule? = nil, plateau: ReduceOnPlateau? = nil,
        earlyStoppingPatience: Int? = nil
    ) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.seed = seed
        self.clipNorm = clipNorm
        self.clipValue = clipValue
        self.schedule = schedule
        self.plateau = plateau
        self.earlyStoppingPatience = earlyStoppingPatience
    }
}

/// What one epoch achieved.
public struct EpochMetrics: Sendable, Equatable, Codable {
    /// 0-based epoch.
    public var epoch: Int
    /// Mean training loss over the epoch's batches.
    public var trainLoss: Float
    /// Validation loss (evaluation mode, weighted by batch size), or `nil` without validation data.
    public var validationLoss: Float?
    /// The learning rate used in the epoch.
    public var learningRate: Float
}

/// Everything a resumed run needs besides the model and optimiser: where it is and the RNG.
public struct TrainerState: Sendable, Equatable, Codable {
    /// The current epoch (0-based).
    public var epoch = 0
    /// Batches already done in the current epoch.
    public var position = 0
    /// This epoch's visiting order (empty before the epoch starts).
    public var permutation: [Int] = []
    /// Drives shuffling and dropout.
    public var random: TCNRandom
    /// The current learning rate (when no schedule sets it).
    public var learningRate: Float
    /// Sum and count of this epoch's batch losses so far.
    public var lossSum: Double = 0
    /// Batches summed in `lossSum`.
    public var batches = 0
    /// Metrics of finished epochs.
    public var history: [EpochMetrics] = []
    /// Best validation loss seen.
    public var bestValidation: Float?
    /// Epochs since the best validation loss.
    public var epochsWithoutImprovement = 0
    /// Set by early stopping.
    public var stopped = false
    /// The plateau controller's state.
    public var plateau: ReduceOnPlateau?
}

/// Mini-batch training of a `TCNModel` with seeded shuffling, validation, early stopping, schedules and
/// checkpoints that resume bit for bit (weights, optimiser moments, RNG and data position are all saved).
public struct Trainer {
    /// The model being trained.
    public var model: TCNModel
    /// The optimiser (its hyper-parameters are not checkpointed: pass the same kind on resume).
    public var optimizer: any Optimizer
    /// The settings.
    public let options: TrainerOptions
    /// Progress, RNG and history.
    public private(set) var state: TrainerState

    /// Starts a run.
    ///
    /// - Throws: `TCNError.invalidParameter` for `epochs < 0` or `batchSize < 1`.
    public init(model: TCNModel, optimizer: any Optimizer, options: TrainerOptions = TrainerOptions()) throws {
        guard options.epochs >= 0, options.batchSize >= 1 else {
            throw TCNError.invalidParameter(
                name: "epochs/batchSize", value: "\(options.epochs)/\(options.batchSize)",
                reason: "need epochs ≥ 0 and batchSize ≥ 1")
        }
        self.model = model
        self.optimizer = optimizer
        self.options = options
        state = TrainerState(
            random: TCNRandom(seed: options.seed), learningRate: optimizer.learningRate, plateau: options.plateau)
    }

    /// Whether every epoch has run or early stopping fired.
    public var isFinished: Bool { state.stopped || state.epoch >= options.epochs }

    /// Trains until finished, or until `maxSteps` batches have run in this call (to interrupt and resume).
    ///
    /// - Parameters:
    ///   - training: the training examples (at least one).
    ///   - validation: evaluated after each epoch, or `nil`.
    ///   - maxSteps: stop after this many batches in this call, or `nil` to run to the end.
    ///   - onEpoch: called with each finished epoch's metrics.
    /// - Throws: data-source errors and model errors (shapes, targets).
    public mutating func fit(
        training: some TCNDataSource, validation: (any TCNDataSource)? = nil, maxSteps: Int? = nil,
        onEpoch: (EpochMetrics) -> Void = { _ in }
    ) throws {
        guard training.count > 0 else {
            throw TCNError.invalidParameter(name: "training", value: "0 examples", reason: "need at least one")
        }
        var steps = 0
        while !isFinished {
            let n = training.count
            if state.permutation.isEmpty {
                state.permutation = Array(0..<n)
                if options.shuffle {
                    for i in stride(from: n - 1, to: 0, by: -1) {
                        let j = Int(state.random.next() % UInt64(i + 1))
                        state.permutation.swapAt(i, j)
                    }
                }
            }
            let rate = options.schedule?.learningRate(at: state.epoch) ?? state.learningRate
            let batchCount = (n + options.batchSize - 1) / options.batchSize
            while state.position < batchCount {
                if let maxSteps, steps >= maxSteps { return }
                let lo = state.position * options.batchSize
                let batch = try training.batch(Array(state.permutation[lo..<min(n, lo + options.batchSize)]))
                var (loss, gradients) = try model.lossAndGradients(
                    batch.input, targets: batch.targets, lengths: batch.lengths, random: &state.random)
                if let clip = options.clipNorm { GradientClipping.clipNorm(&gradients, maxNorm: clip) }
                if let clip = options.clipValue { GradientClipping.clipValue(&gradients, clipValue: clip) }
                optimizer.learningRate = rate
                optimizer.update(&model, gradients: gradients)
                state.lossSum += Double(loss)
                state.batches += 1
                state.position += 1
                steps += 1
            }
            let validationLoss = try validation.map { try evaluate($0) }
            let metrics = EpochMetrics(
                epoch: state.epoch, trainLoss: Float(state.lossSum / Double(max(state.batches, 1))),
                validationLoss: validationLoss, learningRate: rate)
            state.history.append(metrics)
            if var plateau = state.plateau {
                state.learningRate = plateau.step(
                    loss: validationLoss ?? metrics.trainLoss, learningRate: state.learningRate)
                state.plateau = plateau
            }
            if let validationLoss, let patience = options.earlyStoppingPatience {
                if validationLoss < state.bestValidation ?? .infinity {
                    state.bestValidation = validationLoss
                    state.epochsWithoutImprovement = 0
                } else {
                    state.epochsWithoutImprovement += 1
                    state.stopped = state.epochsWithoutImprovement >= patience
                }
            }
            state.epoch += 1
            state.position = 0
            state.permutation = []
            state.lossSum = 0
            state.batches = 0
            onEpoch(metrics)
        }
    }

    /// The model's mean loss over `data` in evaluation mode (batches of `batchSize`, weighted by size).
    ///
    /// - Throws: data-source and model errors.
    public func evaluate(_ data: any TCNDataSource) throws -> Float {
        var total: Double = 0
        var lo = 0
        while lo < data.count {
            let hi = min(data.count, lo + options.batchSize)
            let batch = try data.batch(Array(lo..<hi))
            total +=
                Double(try model.loss(batch.input, targets: batch.targets, lengths: batch.lengths)) * Double(hi - lo)
            lo = hi
        }
        return Float(total / Double(max(data.count, 1)))
    }

    // MARK: Checkpoints

    /// Writes a checkpoint directory: `config.json`, `weights.safetensors`, `optimizer.safetensors` and
    /// `trainer.json` (options, position, RNG, history).
    ///
    /// The files are written into a fresh temporary directory beside `directory`, which then replaces it by
    /// rename, so an interrupted save leaves the previous checkpoint whole.
    /// - Throws: `TCNError.ioFailure`.
    public func saveCheckpoint(to directory: URL) throws {
        let parent = directory.deletingLastPathComponent()
        let temporary = parent.appendingPathComponent(".\(directory.lastPathComponent).tmp-\(UUID().uuidString)")
        try model.save(to: temporary)
        try SafeTensors.write(optimizer.state, to: temporary.appendingPathComponent("optimizer.safetensors"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let record = CheckpointRecord(version: 1, options: options, state: state)
        try writeAtomically(encoder.encode(record), to: temporary.appendingPathComponent("trainer.json"))
        let old = parent.appendingPathComponent(".\(directory.lastPathComponent).old-\(UUID().uuidString)")
        let hadOld = FileManager.default.fileExists(atPath: directory.path)
        if hadOld, rename(directory.path, old.path) != 0 {
            throw TCNError.ioFailure(path: directory.path, reason: String(cString: strerror(errno)))
        }
        guard rename(temporary.path, directory.path) == 0 else {
            throw TCNError.ioFailure(path: directory.path, reason: String(cString: strerror(errno)))
        }
        if hadOld { try? FileManager.default.removeItem(at: old) }
    }

    /// Resumes from a checkpoint written by `saveCheckpoint(to:)`.
    ///
    /// - Parameter optimizer: an optimiser of the same kind and hyper-parameters as the saved run; its state
    ///   (moments, step count) is replaced by the checkpoint's.
    /// - Throws: `TCNError` for missing or damaged files.
    public init(resumingFrom directory: URL, optimizer: any Optimizer) throws {
        let model = try TCNModel(contentsOf: directory)
        var optimizer = optimizer
        let optimizerURL = directory.appendingPathComponent("optimizer.safetensors")
        let saved = try SafeTensors.read(optimizerURL).tensors
        // Per-parameter slots (`<parameter>#<slot>`) must match their parameter: a damaged file is an error here,
        // not an out-of-bounds access in the next step.
        let parameters = model.parameters
        for (key, tensor) in saved.sorted(by: { $0.key < $1.key }) {
            // `#step` and other keys without a parameter prefix are the optimiser's own counters.
            guard let mark = key.firstIndex(of: "#"), mark != key.startIndex else { continue }
            guard let parameter = parameters[String(key[..<mark])] else {
                throw TCNError.unexpectedKey(path: optimizerURL.path, key: key)
            }
            guard tensor.shape == parameter.shape else {
                throw TCNError.keyShapeMismatch(
                    path: optimizerURL.path, key: key, expected: parameter.shape, actual: tensor.shape)
            }
        }
        optimizer.state = saved
        let url = directory.appendingPathComponent("trainer.json")
        let record: CheckpointRecord
        do {
            record = try JSONDecoder().decode(CheckpointRecord.self, from: Data(contentsOf: url))
        } catch {
            throw TCNError.badFile(path: url.path, reason: "not a trainer checkpoint: \(error)")
        }
        try self.init(model: model, optimizer: optimizer, options: record.options)
        state = record.state
    }
}

/// `trainer.json`.
private struct CheckpointRecord: Codable {
    var version: Int
    var options: TrainerOptions
    var state: TrainerState
}
