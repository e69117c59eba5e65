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
                let context = concatenateTime(histories[2 * i + s], stage)
                histories[2 * i + s] = lastSteps(context, histories[2 * i + s].shape[2])
                var c = try conv.streamingForward(context, history: histories[2 * i + s].shape[2])
                if !block.batchNorms.isEmpty {
                    var bn = block.batchNorms[s]
                    c = try bn.forward(c, training: false).output
                } else if !block.layerNorms.isEmpty {
                    c = try block.layerNorms[s].forward(c).output
                }
                stage = block.activation(c)
            }
            if let downsample = block.downsample {
                stage.add(try downsample.streamingForward(h, history: 0))
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
                    sum.add(try projection.streamingForward(y, history: 0))
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
        return try model.linear.convolution.streamingForward(h, history: 0)
    }
}

/// `[B, C, p] ++ [B, C, n]` along time.
private func concatenateTime(_ a: Tensor, _ b: Tensor) -> Tensor {
    let (batch, channels, p, n) = (a.shape[0], a.shape[1], a.shape[2], b.shape[2])
    if p == 0 { return b }
    let data = [Float](unsafeUninitializedCapacity: batch * channels * (p + n)) { out, count in
        a.data.withUnsafeBufferPointer { ap in
            b.data.withUnsafeBufferPointer { bp in
                guard let o = out.baseAddress, let aBase = ap.baseAddress, let bBase = bp.baseAddress else { return }
                for r in 0..<(batch * channels) {
                    (o + r * (p + n)).initialize(from: aBase + r * p, count: p)
                    (o + r * (p + n) + p).initialize(from: bBase + r * n, count: n)
                }
            }
        }
        count = batch * channels * (p + n)
    }
    return Tensor(uncheckedShape: [batch, channels, p + n], data: data)
}

/// The last `p` steps of `[B, C, T]` (`T ≥ p`).
private func lastSteps(_ x: Tensor, _ p: Int) -> Tensor {
    let (batch, channels, time) = (x.shape[0], x.shape[1], x.shape[2])
    let data = [Float](unsafeUninitializedCapacity: batch * channels * p) { out, count in
        x.data.withUnsafeBufferPointer { xp in
            guard let o = out.baseAddress, let xBase = xp.baseAddress else { return }
            for r in 0..<(batch * channels) {
                (o + r * p).initialize(from: xBase + r * time + time - p, count: p)
            }
        }
        count = batch * channels * p
    }
    return Tensor(uncheckedShape: [batch, channels, p], data: data)
}
