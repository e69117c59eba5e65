/// Step-by-step inference for `B` independent causal streams, keeping for every convolution the last
/// `(kernelSize − 1) · dilation` input steps of each stream, so each new chunk costs only its own steps.
///
/// ```
/// var stream = try TCNStream(model: model, streams: 4)
/// let y = try stream.process(chunk)      // chunk [4, inputChannels, n] → [4, outputs, n]
/// ```
/// Output step `t` equals the offline model's per-step output at `t` on the concatenated input (evaluation
/// mode): `.perStep` heads give the per-step outputs, `.lastStep` heads the output the model would give if the
/// sequence ended at `t`, `.meanPool` heads the output for the mean over steps `0…t`.
public struct TCNStream: Sendable {
    /// The model as run (evaluation mode; weight-normalised filters folded into plain `weight`s).
    public let model: TCNModel
    /// Number of independent streams `B`.
    public let streams: Int
    /// Steps processed so far per stream (since its last reset).
    public private(set) var stepsProcessed: [Int]
    /// Per convolution (block-major, `conv1` then `conv2`), the context `[B, channels, (k − 1)·d]`.
    private var histories: [Tensor]
    /// Running feature sums `[B, channels]` for mean-pool heads.
    private var featureSums: [Float]

    /// Creates `streams` streams, each starting from zeros (as the offline model's left padding).
    ///
    /// - Throws: `TCNError.invalidParameter` for a non-causal model (its outputs need future input) or
    ///   `streams < 1`.
    public init(model: TCNModel, streams: Int) throws {
        guard model.configuration.backbone.padding == .causal else {
            throw TCNError.invalidParameter(
                name: "padding", value: "same", reason: "streaming needs a causal model")
        }
        guard streams >= 1 else {
            throw TCNError.invalidParameter(name: "streams", value: "\(streams)", reason: "must be ≥ 1")
        }
        // Fold weight normalisation into plain filters once, instead of on every chunk.
        var folded = model
        for i in folded.blocks.indices {
            for conv in [\TemporalBlock.conv1, \TemporalBlock.conv2] {
                folded.blocks[i][keyPath: conv].weight = folded.blocks[i][keyPath: conv].effectiveWeight()
                folded.blocks[i][keyPath: conv].weightGain = nil
            }
        }
        self.model = folded
        self.streams = streams
        stepsProcessed = [Int](repeating: 0, count: streams)
        histories = model.blocks.flatMap { block in
            [block.conv1, block.conv2].map { conv in
                Tensor(zeros: [streams, conv.inputChannels, (conv.kernelSize - 1) * conv.dilation])
            }
        }
        featureSums = [Float](repeating: 0, count: streams * (model.configuration.backbone.channels.last ?? 0))
    }

    /// Clears one stream's context, as if it started anew.
    ///
    /// - Throws: `TCNError.invalidParameter` for a stream index outside `0..<streams`.
    public mutating func reset(stream: Int) throws {
        guard (0..<streams).contains(stream) else {
            throw TCNError.invalidParameter(name: "stream", value: "\(stream)", reason: "must be in 0..<\(streams)")
        }
        for i in histories.indices {
            let (c, p) = (histories[i].shape[1], histories[i].shape[2])
            for j in (stream * c * p)..<((stream + 1) * c * p) { histories[i].data[j] = 0 }
        }
        let width = featureSums.count / streams
        for j in (stream * width)..<((stream + 1) * width) { featureSums[j] = 0 }
        stepsProcessed[stream] = 0
    }

    /// Feeds the next `n` steps of every stream.
    ///
    /// - Parameter chunk: `[streams, inputChannels, n]`, `n ≥ 0`.
    /// - Returns: `[streams, outputs, n]`.
    /// - Throws: `TCNError.shapeMismatch` for a wrongly shaped chunk.
    public mutating func process(_ chunk: Tensor) throws -> Tensor {
        let inputChannels = model.configuration.backbone.inputChannels
        guard chunk.shape.count == 3, chunk.shape[0] == streams, chunk.shape[1] == inputChannels else {
            throw TCNError.shapeMismatch(
                name: "stream chunk", expected: [streams, inputChannels, chunk.shape.last ?? 0], actual: chunk.shape)
        }
        let n = chunk.shape[2]
        var h = chunk
        var outputs: [Tensor] = []
        for (i, block) in model.blocks.enumerated() {
            var stage = h
            for s in 0..<2 {
                let conv = s == 0 ? block.conv1 : block.conv2
                let context = histories[2 * i + s]
                var c = try conv.streamingForward(stage, context: context.shape[2] == 0 ? nil : context)
                histories[2 * i + s] = advance(context, by: stage)
                if !block.batchNorms.isEmpty {
                    var bn = block.batchNorms[s]
                    c = try bn.forward(c, training: false).output
                } else if !block.layerNorms.isEmpty {
                    c = try block.layerNorms[s].forward(c).output
                }
                stage = block.activation(c)
            }
            if let downsample = block.downsample {
                stage.add(try downsample.streamingForward(h, context: nil))
            } else {
                stage.add(h)
            }
            h = block.finalActivation(stage)
            outputs.append(h)
        }
        if model.configuration.backbone.skipConnections {
            var sum = Tensor(zeros: h.shape)
            for (i, y) in outputs.enumerated() {
                if let projection = model.skipProjections[i] {
                    sum.add(try projection.streamingForward(y, context: nil))
                } else {
                    sum.add(y)
                }
            }
            h = (model.configuration.backbone.finalActivation ?? model.configuration.backbone.activation)(sum)
        }
        if model.configuration.head.kind == .meanPool {
            let width = h.shape[1]
            for b in 0..<streams {
                for t in 0..<n {
                    let count = Float(stepsProcessed[b] + t + 1)
                    for c in 0..<width {
                        let i = (b * width + c) * n + t
                        featureSums[b * width + c] += h.data[i]
                        h.data[i] = featureSums[b * width + c] / count
                    }
                }
            }
        }
        for b in 0..<streams { stepsProcessed[b] += n }
        return try model.linear.convolution.streamingForward(h, context: nil)
    }
}

/// The last `p` steps of `context ++ chunk` along time (`[B, C, p]`, `[B, C, n]` → `[B, C, p]`).
private func advance(_ context: Tensor, by chunk: Tensor) -> Tensor {
    let (batch, channels, p, n) = (context.shape[0], context.shape[1], context.shape[2], chunk.shape[2])
    if p == 0 || n == 0 || context.count == 0 { return context }
    let data = [Float](unsafeUninitializedCapacity: batch * channels * p) { out, count in
        context.data.withUnsafeBufferPointer { hp in
            chunk.data.withUnsafeBufferPointer { xp in
                guard let o = out.baseAddress, let h = hp.baseAddress, let x = xp.baseAddress else { return }
                let kept = max(0, p - n)  // context steps that stay
                for r in 0..<(batch * channels) {
                    (o + r * p).initialize(from: h + r * p + p - kept, count: kept)
                    (o + r * p + kept).initialize(from: x + r * n + n - (p - kept), count: p - kept)
                }
            }
        }
        count = batch * channels * p
    }
    return Tensor(uncheckedShape: [batch, channels, p], data: data)
}
