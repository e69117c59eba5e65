import Foundation

/// What to do when an input is shorter than the receptive field (early outputs then see zero padding only).
public enum ReceptiveFieldPolicy: String, Sendable, Codable, CaseIterable {
    /// Run anyway.
    case ignore
    /// Run, and write one line to standard error.
    case warn
    /// Throw `TCNError.inputShorterThanReceptiveField`.
    case error
}

/// A temporal convolutional network: a stack of `TemporalBlock`s and a linear head, over
/// `[batch, inputChannels, time]` inputs (locuslab/TCN's `TemporalConvNet` + `nn.Linear`; pytorch-tcn's `TCN`).
///
/// Parameter names are the PyTorch `state_dict` keys: `network.{i}.conv1.weight_g`, `network.{i}.conv1.weight_v`,
/// `network.{i}.conv1.bias`, `network.{i}.downsample.weight`, `network.{i}.norm1.running_mean`,
/// `downsample_skip_connection.{i}.weight`, `linear.weight`, `linear.bias`.
///
/// ```swift
/// let config = TCNConfiguration(
///     backbone: BackboneConfiguration(inputChannels: 1, channels: [25, 25, 25, 25], kernelSize: 7),
///     head: HeadConfiguration(kind: .lastStep, outputs: 10, loss: .crossEntropy))
/// var model = try TCNModel(configuration: config, seed: 42)
/// let logits = try model(x)                                   // x [batch, 1, time] → [batch, 10]
/// var trainer = try Trainer(model: model, optimizer: Adam(learningRate: 2e-3))
/// try trainer.fit(training: data, validation: heldOut)
/// try trainer.model.save(to: URL(fileURLWithPath: "model"))   // config.json + weights.safetensors
/// ```
public struct TCNModel: Sendable, Equatable {
    /// The configuration the model was built from.
    public let configuration: TCNConfiguration
    /// The temporal blocks (`network.{i}`).
    public var blocks: [TemporalBlock]
    /// Per block, the 1×1 projection of its output to the last block's width for skip connections
    /// (`downsample_skip_connection.{i}`), or `nil` when widths agree or skips are off.
    public var skipProjections: [Conv1d?]
    /// The head (`linear`): `[outputs, channels.last]`.
    public var linear: Linear
    /// What to do with inputs shorter than `receptiveField` (default `.warn`).
    public var receptiveFieldPolicy: ReceptiveFieldPolicy = .warn
    /// Which engine runs the temporal blocks (default `.automatic`: oneDNN channels-last where a pass allows it;
    /// `.im2col` for results bit-identical across thread counts). Not part of the configuration or model files.
    public var convolutionEngine: ConvolutionEngine = .automatic

    /// Builds a seeded model from a configuration (the same seed always gives the same weights).
    ///
    /// - Throws: `TCNError.invalidParameter` for an invalid configuration.
    public init(configuration: TCNConfiguration, seed: UInt64) throws {
        try configuration.validate()
        self.configuration = configuration
        let bb = configuration.backbone
        var random = TCNRandom(seed: seed)
        let dropout = try Dropout(probability: bb.dropout, mode: bb.dropoutMode)
        var blocks: [TemporalBlock] = []
        var width = bb.inputChannels
        for (i, out) in bb.channels.enumerated() {
            blocks.append(
                try TemporalBlock(
                    inputChannels: width, outputChannels: out, kernelSize: bb.kernelSize,
                    dilation: bb.dilation(ofBlock: i), padding: bb.padding, normalization: bb.normalization,
                    activation: bb.activation, finalActivation: bb.finalActivation ?? bb.activation,
                    dropout: dropout, initialization: bb.initialization, random: &random))
            width = out
        }
        self.blocks = blocks
        let last = width
        skipProjections = try bb.channels.map { c in
            guard bb.skipConnections, c != last else { return nil }
            return try Conv1d(
                inputChannels: c, outputChannels: last, kernelSize: 1, initialization: bb.initialization,
                random: &random)
        }
        linear = try Linear(
            inputFeatures: last, outputFeatures: configuration.head.outputs, initialization: .torchDefault,
            random: &random)
    }

    /// Input steps that reach one output step (`BackboneConfiguration.receptiveField`).
    public var receptiveField: Int { configuration.backbone.receptiveField }

    /// Applies the policy to an input of `length` steps.
    ///
    /// - Returns: the warning text when the input is short and the policy is `.warn`, else `nil`.
    /// - Throws: `TCNError.inputShorterThanReceptiveField` when short and the policy is `.error`.
    @discardableResult
    public func checkInputLength(_ length: Int, policy: ReceptiveFieldPolicy? = nil) throws -> String? {
        guard length < receptiveField else { return nil }
        switch policy ?? receptiveFieldPolicy {
        case .ignore: return nil
        case .error: throw TCNError.inputShorterThanReceptiveField(length: length, receptiveField: receptiveField)
        case .warn:
            return "warning: input length \(length) is shorter than the receptive field \(receptiveField); "
                + "early outputs see only zero padding"
        }
    }

    /// Everything the backward pass needs from a forward pass.
    public struct ForwardCache: Sendable {
        var blocks: [TemporalBlock.Cache]
        var blockOutputs: [Tensor]
        var skipCaches: [Conv1d.Cache?]
        var skipSum: Tensor?
        var features: Tensor
        var pooled: Tensor
        var head: Conv1d.Cache
        var lengths: [Int]
        /// The first sequence step the features hold (receptive-field pruning; 0 when not pruned).
        var firstStep: Int
        /// The steps the features (and skip sums) hold, and each block's steps.
        var topGrid: TimeGrid
        var grids: [TemporalBlock.Grids]
        /// The backbone's caches when the pass ran on the channels-last engine (then `blocks` is empty).
        var channelsLast: ChannelsLastCache?
    }

    /// Runs the model in evaluation mode (no dropout, batch norms use running statistics).
    ///
    /// - Parameters:
    ///   - x: `[batch, inputChannels, time]`.
    ///   - lengths: valid steps per sample (`1...time`), or `nil` for all; used by `.lastStep`/`.meanPool`.
    /// - Returns: `[batch, outputs]` (`.lastStep`, `.meanPool`) or `[batch, outputs, time]` (`.perStep`).
    /// - Throws: `TCNError.shapeMismatch` for a wrong input shape, `TCNError.invalidParameter` for bad lengths,
    ///   `TCNError.inputShorterThanReceptiveField` under `.error`.
    public func callAsFunction(_ x: Tensor, lengths: [Int]? = nil) throws -> Tensor {
        var copy = self
        var random = TCNRandom(seed: 0)
        return try copy.forward(x, lengths: lengths, training: false, pruned: true, keepCache: false, random: &random)
            .output
    }

    /// The backbone features `[batch, channels.last, time]` in evaluation mode.
    ///
    /// - Throws: as `callAsFunction`.
    public func features(_ x: Tensor) throws -> Tensor {
        var copy = self
        var random = TCNRandom(seed: 0)
        return try copy.forward(x, lengths: nil, training: false, pruned: false, keepCache: false, random: &random)
            .cache.features
    }

    /// The forward pass. In training, dropout draws from `random` and batch norms update running statistics.
    ///
    /// With a `.lastStep` head only the steps that reach a pooled output are computed (receptive-field pruning,
    /// see `forward(_:lengths:training:pruned:random:)`); the output and every gradient are those of the full pass.
    /// - Throws: as `callAsFunction`.
    public mutating func forward(
        _ x: Tensor, lengths: [Int]? = nil, training: Bool, random: inout TCNRandom
    ) throws -> (output: Tensor, cache: ForwardCache) {
        try forward(x, lengths: lengths, training: training, pruned: true, keepCache: true, random: &random)
    }

    /// The steps each block computes when only `top` must be produced at the top, from the top block down: the
    /// steps each block's outputs read (`TemporalBlock.grids(producing:time:)`). With skip connections every
    /// block's output grid holds `top`, as each block's input grid holds its output grid.
    private func prunedGrids(time: Int, top: TimeGrid) -> [TemporalBlock.Grids] {
        var need = top
        var grids = [TemporalBlock.Grids](repeating: .full(time), count: blocks.count)
        for i in blocks.indices.reversed() {
            grids[i] = blocks[i].grids(producing: need, time: time)
            need = grids[i].input
        }
        return grids
    }

    /// The forward pass, optionally pruned to the receptive field of the pooled outputs.
    ///
    /// A `.lastStep` head reads step `length − 1` of each sample; with causal padding only the steps its causal
    /// filters reach below it matter, so with `pruned` each block computes just the steps the blocks above it read
    /// (`TimeGrid`): for full-length samples the top block needs one step, the block below it every `2d`-th
    /// step of its receptive field, and so on (for the speech configuration A 20 % of the convolution
    /// work, for the adding problem B 14 %); with shorter samples, the steps from the shortest one's last step
    /// on. Not pruned: other heads, `.same` padding, and batch norm in training (its statistics cover every step).
    /// Without `keepCache` blocks keep no intermediate values for a backward pass (inference).
    mutating func forward(
        _ x: Tensor, lengths: [Int]?, training: Bool, pruned: Bool, keepCache: Bool, random: inout TCNRandom
    ) throws -> (output: Tensor, cache: ForwardCache) {
        let (batch, _, time) = try x.batchChannelsTime(
            name: "model input", channels: configuration.backbone.inputChannels)
        if let message = try checkInputLength(time) {
            FileHandle.standardError.write(Data((message + "\n").utf8))
        }
        let lengths = try validatedLengths(lengths, batch: batch, time: time)
        let bb = configuration.backbone
        let prunable =
            pruned && configuration.head.kind == .lastStep && bb.padding == .causal
            && !(training && bb.normalization == .batchNorm)
        let first = prunable ? max(0, (lengths.min() ?? 1) - 1) : 0
        // Full-length samples need just the last step (a single step fits any stride).
        let top =
            !prunable
            ? TimeGrid.full(time)
            : first == time - 1 ? TimeGrid(stride: 0, count: 1) : TimeGrid(stride: 1, count: time - first)
        let grids = prunable ? prunedGrids(time: time, top: top) : Array(repeating: .full(time), count: blocks.count)
        var h = x.suffix(grids.first?.input.count ?? time, stride: grids.first?.input.stride ?? 1)
        var caches: [TemporalBlock.Cache] = []
        var outputs: [Tensor] = []
        let branchSkips = bb.skipConnections && bb.skipSource == .residualBranch
        var channelsLast: ChannelsLastCache?
        var channelsLastRan = false
        if !prunable, let plan = channelsLastPlan(batch: batch, time: time, backward: keepCache) {
            (h, channelsLast) = channelsLastForward(
                x, plan: plan, training: training, keepCache: keepCache, random: &random)
            channelsLastRan = true
        }
        for i in blocks.indices where !channelsLastRan {
            let (y, cache) = try blocks[i].forward(
                h, grids: grids[i], training: training, keepCache: keepCache || branchSkips, random: &random)
            caches.append(cache)
            outputs.append(y)
            h = y
        }
        var skipCaches: [Conv1d.Cache?] = []
        var skipSum: Tensor?
        if configuration.backbone.skipConnections && !channelsLastRan {
            var sum = Tensor(zeros: h.shape)
            for (i, output) in outputs.enumerated() {
                let y = branchSkips && i < blocks.count - 1 ? blocks[i].residualBranch(caches[i]) : output
                let from = grids[i].output
                if let projection = skipProjections[i] {
                    let (p, cache) = try projection.forward(y, from: from, to: top)
                    sum.add(p)
                    skipCaches.append(cache)
                } else {
                    sum.add(y.suffix(top.count, stride: top.stride(within: from)))
                    skipCaches.append(nil)
                }
            }
            skipSum = sum
            h = finalActivation(sum)
        }
        let pooled = pool(h, lengths: lengths, firstStep: first)
        let (out, headCache) = try linear.forward(pooled)
        return (
            out,
            ForwardCache(
                blocks: caches, blockOutputs: outputs, skipCaches: skipCaches, skipSum: skipSum, features: h,
                pooled: pooled, head: headCache, lengths: lengths, firstStep: time - h.shape[2], topGrid: top,
                grids: grids, channelsLast: channelsLast)
        )
    }

    private var finalActivation: Activation {
        configuration.backbone.finalActivation ?? configuration.backbone.activation
    }

    private func validatedLengths(_ lengths: [Int]?, batch: Int, time: Int) throws -> [Int] {
        guard time > 0 || configuration.head.kind == .perStep || batch == 0 else {
            throw TCNError.invalidParameter(
                name: "model input", value: "\(time) steps", reason: "a pooled head needs at least one step")
        }
        guard let lengths else { return [Int](repeating: time, count: batch) }
        guard lengths.count == batch else {
            throw TCNError.shapeMismatch(name: "lengths", expected: [batch], actual: [lengths.count])
        }
        for (b, n) in lengths.enumerated() where n < 1 || n > time {
            throw TCNError.invalidParameter(name: "lengths[\(b)]", value: "\(n)", reason: "must be in 1...\(time)")
        }
        return lengths
    }

    /// `[B, C, T]` → `[B, C]` (last valid step or mean over valid steps), or unchanged for `.perStep`; `h`
    /// holds the steps from `firstStep` on.
    private func pool(_ h: Tensor, lengths: [Int], firstStep: Int) -> Tensor {
        let (batch, channels, time) = (h.shape[0], h.shape[1], h.shape[2])
        switch configuration.head.kind {
        case .perStep: return h
        case .lastStep:
            var p = [Float](repeating: 0, count: batch * channels)
            for b in 0..<batch {
                for c in 0..<channels {
                    p[b * channels + c] = h.data[(b * channels + c) * time + lengths[b] - 1 - firstStep]
                }
            }
            return Tensor(uncheckedShape: [batch, channels], data: p)
        case .meanPool:
            var p = [Float](repeating: 0, count: batch * channels)
            for b in 0..<batch {
                for c in 0..<channels {
                    var s: Float = 0
                    for t in 0..<lengths[b] { s += h.data[(b * channels + c) * time + t] }
                    p[b * channels + c] = s / Float(lengths[b])
                }
            }
            return Tensor(uncheckedShape: [batch, channels], data: p)
        }
    }

    /// The `[B · T]` flags of steps counted by a per-step loss (within length, past the warm-up if masked).
    func validSteps(batch: Int, time: Int, lengths: [Int]) -> [Float]? {
        guard configuration.head.kind == .perStep else { return nil }
        let warmUp = configuration.head.maskWarmUp ? receptiveField - 1 : 0
        var valid = [Float](repeating: 0, count: batch * time)
        for b in 0..<batch {
            for t in warmUp..<max(warmUp, lengths[b]) { valid[b * time + t] = 1 }
        }
        return valid
    }

    /// The head's loss for an evaluation-mode forward pass.
    ///
    /// - Parameters:
    ///   - x: `[batch, inputChannels, time]`.
    ///   - targets: for cross-entropy, class indices `[batch]` / `[batch, time]` or class probabilities shaped like
    ///     the output (mixup, label smoothing; as `F.cross_entropy`); for other losses, values shaped like the
    ///     output.
    ///   - lengths: valid steps per sample, or `nil`.
    /// - Throws: as `callAsFunction` and `TCNError.shapeMismatch` for mis-shaped targets.
    public func loss(_ x: Tensor, targets: Tensor, lengths: [Int]? = nil) throws -> Float {
        var copy = self
        var random = TCNRandom(seed: 0)
        let (out, cache) = try copy.forward(x, lengths: lengths, training: false, random: &random)
        let valid = validSteps(batch: x.shape[0], time: x.shape[2], lengths: cache.lengths)
        return try configuration.head.loss.evaluate(
            output: out, targets: targets, validSteps: valid, huberDelta: configuration.head.huberDelta
        ).loss
    }

    /// One training forward + backward pass: the loss and the gradient of every parameter (`state_dict` keys).
    ///
    /// Batch norms update their running statistics (so `self` changes); dropout draws from `random`.
    /// - Parameter training: `false` runs the pass in evaluation mode (for gradient checks).
    /// - Throws: as `loss(_:targets:lengths:)`.
    public mutating func lossAndGradients(
        _ x: Tensor, targets: Tensor, lengths: [Int]? = nil, training: Bool = true, random: inout TCNRandom
    ) throws -> (loss: Float, gradients: TensorDictionary) {
        let (out, cache) = try forward(x, lengths: lengths, training: training, random: &random)
        let valid = validSteps(batch: x.shape[0], time: x.shape[2], lengths: cache.lengths)
        let (loss, dOut) = try configuration.head.loss.evaluate(
            output: out, targets: targets, validSteps: valid, huberDelta: configuration.head.huberDelta)
        return (loss, backward(dOut, cache: cache))
    }

    /// Backpropagates `dOutput` (shaped as the output) through the head and backbone.
    public func backward(_ dOutput: Tensor, cache: ForwardCache) -> TensorDictionary {
        var gradients = TensorDictionary()
        let dPooled = linear.backward(dOutput, cache: cache.head, prefix: "linear.", gradients: &gradients)
        let h = cache.features
        let (batch, channels, time) = (h.shape[0], h.shape[1], h.shape[2])
        var dH: Tensor
        switch configuration.head.kind {
        case .perStep: dH = dPooled
        case .lastStep:
            dH = Tensor(zeros: h.shape)
            for b in 0..<batch {
                for c in 0..<channels {
                    dH.data[(b * channels + c) * time + cache.lengths[b] - 1 - cache.firstStep] =
                        dPooled.data[b * channels + c]
                }
            }
        case .meanPool:
            dH = Tensor(zeros: h.shape)
            for b in 0..<batch {
                for c in 0..<channels {
                    let g = dPooled.data[b * channels + c] / Float(cache.lengths[b])
                    for t in 0..<cache.lengths[b] { dH.data[(b * channels + c) * time + t] = g }
                }
            }
        }
        if let channelsLast = cache.channelsLast {
            channelsLastBackward(dH, cache: channelsLast, gradients: &gradients)
            return gradients
        }
        var dBlockOutputs = [Tensor?](repeating: nil, count: blocks.count)
        var dBranches = [Tensor?](repeating: nil, count: blocks.count)
        if let skipSum = cache.skipSum {
            let dSum = finalActivation.backward(dH, input: skipSum, output: h)
            let branchSkips = configuration.backbone.skipSource == .residualBranch
            for i in blocks.indices {
                var d = dSum
                if let projection = skipProjections[i], let sc = cache.skipCaches[i] {
                    d = projection.backward(
                        dSum, cache: sc, prefix: "downsample_skip_connection.\(i).", gradients: &gradients)
                }
                if branchSkips && i < blocks.count - 1 { dBranches[i] = d } else { dBlockOutputs[i] = d }
            }
        } else {
            dBlockOutputs[blocks.count - 1] = dH
        }
        var g: Tensor?
        for i in blocks.indices.reversed() {
            // The block above's input gradient, plus the skip or head gradient on the top steps.
            var dy = g ?? Tensor(zeros: cache.blockOutputs[i].shape)
            if let d = dBlockOutputs[i] { dy.addSuffix(d, stride: cache.topGrid.stride(within: cache.grids[i].output)) }
            g = blocks[i].backward(
                dy, cache: cache.blocks[i], prefix: "network.\(i).", gradients: &gradients, needInputGradient: i > 0,
                branchGradient: dBranches[i], branchGrid: cache.topGrid)
        }
        return gradients
    }

    // MARK: Parameters

    /// Every trainable parameter, keyed as the PyTorch `state_dict`.
    public var parameters: TensorDictionary {
        var d = TensorDictionary()
        for (i, block) in blocks.enumerated() { block.namedParameters(prefix: "network.\(i).", into: &d) }
        for (i, p) in skipProjections.enumerated() {
            p?.namedParameters(prefix: "downsample_skip_connection.\(i).", into: &d)
        }
        d["linear.weight"] = linear.weight
        d["linear.bias"] = linear.bias
        return d
    }

    /// Non-trainable state (batch-norm running statistics, `num_batches_tracked`), keyed as the `state_dict`.
    public var buffers: TensorDictionary {
        var d = TensorDictionary()
        for (i, block) in blocks.enumerated() { block.namedBuffers(prefix: "network.\(i).", into: &d) }
        return d
    }

    /// Parameters and buffers: the full `state_dict`.
    public var stateDict: TensorDictionary { parameters.merging(buffers) { a, _ in a } }

    /// Replaces parameters and buffers from a `state_dict`, checking keys and shapes.
    ///
    /// The key naming is detected (`StateDictNaming.detect`): locuslab/TCN's (ours) or pytorch-tcn's
    /// (`parametrizations.weight.original0/1`, `projection_out.*` `[outputs, C, 1]`), and errors name the keys
    /// and shapes as the file spells them. pytorch-tcn's streaming buffers `….padder.buffer` are optional; when
    /// present their shape `[1, in, (k−1)·d]` is checked and their values ignored. Keys `network.{i}.net.*`
    /// (locuslab/TCN's `nn.Sequential` aliases of `conv1`/`conv2`) are ignored.
    /// - Parameters:
    ///   - stateDict: tensors keyed as `stateDict` or `stateDict(naming: .pytorchTCN)`.
    ///   - source: names the file in errors.
    ///   - strict: when `true` (default) every key must be present and no other key may appear.
    /// - Throws: `TCNError.missingKey`, `TCNError.unexpectedKey`, `TCNError.keyShapeMismatch`;
    ///   `TCNError.invalidParameter` for pytorch-tcn weights into a model with skip connections, which pytorch-tcn
    ///   computes differently (see `stateDict(naming:)`).
    public mutating func load(stateDict: TensorDictionary, source: String = "state_dict", strict: Bool = true) throws {
        let naming = StateDictNaming.detect(stateDict.keys)
        if naming == .pytorchTCN, let reason = pytorchTCNIncompatibility {
            throw TCNError.invalidParameter(
                name: "backbone.skipConnections", value: "true", reason: "\(source): \(reason)")
        }
        let expected = renamed(self.stateDict, to: naming)
        let optional = naming == .pytorchTCN ? streamingBuffers : [:]
        for (key, want) in expected.merging(optional, uniquingKeysWith: { a, _ in a }).sorted(by: { $0.key < $1.key }) {
            guard let tensor = stateDict[key] else {
                if strict && optional[key] == nil { throw TCNError.missingKey(path: source, key: key) }
                continue
            }
            guard tensor.shape == want.shape else {
                throw TCNError.keyShapeMismatch(path: source, key: key, expected: want.shape, actual: tensor.shape)
            }
        }
        if strict {
            for key in stateDict.keys.sorted()
            where expected[key] == nil && optional[key] == nil && !Self.isAlias(key) {
                throw TCNError.unexpectedKey(path: source, key: key)
            }
        }
        update(from: ourNames(stateDict, from: naming))
    }

    /// Replaces parameters/buffers present in `d` (no checks; shapes must already match).
    mutating func update(from d: TensorDictionary) {
        for i in blocks.indices { blocks[i].update(from: d, prefix: "network.\(i).") }
        for i in skipProjections.indices {
            skipProjections[i]?.update(from: d, prefix: "downsample_skip_connection.\(i).")
        }
        if let w = d["linear.weight"] { linear.weight = w }
        if let b = d["linear.bias"] { linear.bias = b }
    }

    /// locuslab/TCN registers `conv1`/`conv2` a second time inside `net` (`network.0.net.0.weight_g`).
    static func isAlias(_ key: String) -> Bool {
        let parts = key.split(separator: ".")
        return parts.count > 3 && parts[0] == "network" && parts[2] == "net"
    }
}
