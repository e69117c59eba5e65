// The model repacked for `TCNStream` (see `Streaming+Shard.swift` for the layout and how it is run): per-tap
// filter matrices, biases and evaluation-mode norm vectors in one array, shared read-only by every shard.

/// A convolution repacked for per-tap GEMMs: offsets into `StreamPlan.parameters`.
struct StreamConvolution: Sendable {
    let inputChannels: Int
    let outputChannels: Int
    let kernelSize: Int
    let dilation: Int
    /// Offset of `k` matrices `W_jᵀ` `[in, out]` (tap `j` at `j · in · out`).
    let weight: Int
    /// Offset of the bias `[out]` (zeros when the layer has none).
    let bias: Int

    /// Input steps kept before the current one: `(k − 1) · d`.
    var history: Int { (kernelSize - 1) * dilation }
}

/// The normalisation after a block's convolution, as offsets into `StreamPlan.parameters` (`[channels]` each).
enum StreamNormalization: Sendable {
    case none
    /// Evaluation-mode batch norm: `y = γ · ((x − mean) · inverseStd) + β`.
    case batch(mean: Int, inverseStd: Int, gamma: Int, beta: Int)
    /// Layer norm over the channels of each `[time, stream]` row.
    case layer(gamma: Int, beta: Int, epsilon: Float)
}

/// One temporal block in streaming form.
struct StreamBlock: Sendable {
    let conv1: StreamConvolution
    let conv2: StreamConvolution
    let downsample: StreamConvolution?
    let norm1: StreamNormalization
    let norm2: StreamNormalization
    let activation: Activation
    let finalActivation: Activation
}

/// An evaluation-mode, weight-norm-folded model repacked for streaming; shared read-only by all shards.
struct StreamPlan: Sendable {
    /// Every packed weight, bias and normalisation vector.
    let parameters: [Float]
    let blocks: [StreamBlock]
    /// Per block, the skip projection to the last width (`nil`: identity); empty when skips are off.
    let skipProjections: [StreamConvolution?]
    let skipConnections: Bool
    /// Skips take each block's residual branch but the last's (`SkipSource.residualBranch`).
    let branchSkips: Bool
    /// Applied to the skip sum.
    let skipActivation: Activation
    let meanPool: Bool
    /// The linear head as a 1×1 convolution.
    let head: StreamConvolution
    let inputChannels: Int
    /// Width of the backbone's last block.
    let featureChannels: Int
    /// Widest activation (for scratch sizes).
    let maxChannels: Int

    /// Repacks `model` (already folded: plain `weight`s, no `weightGain`).
    init(model: TCNModel) {
        var parameters: [Float] = []
        func pack(_ conv: Conv1d) -> StreamConvolution {
            let (out, inp, k) = (conv.outputChannels, conv.inputChannels, conv.kernelSize)
            let w = conv.effectiveWeight().data
            let weight = parameters.count
            // [out, in, k] → k × [in, out].
            parameters += [Float](unsafeUninitializedCapacity: w.count) { packed, initialized in
                for o in 0..<out {
                    for i in 0..<inp {
                        for j in 0..<k { packed[(j * inp + i) * out + o] = w[(o * inp + i) * k + j] }
                    }
                }
                initialized = w.count
            }
            let bias = parameters.count
            parameters += conv.bias?.data ?? [Float](repeating: 0, count: out)
            return StreamConvolution(
                inputChannels: inp, outputChannels: out, kernelSize: k, dilation: conv.dilation, weight: weight,
                bias: bias)
        }
        func append(_ values: [Float]) -> Int {
            parameters += values
            return parameters.count - values.count
        }
        func norm(_ block: TemporalBlock, _ s: Int) -> StreamNormalization {
            if !block.batchNorms.isEmpty {
                let bn = block.batchNorms[s]
                let inverseStd = bn.runningVariance.data.map { 1 / ($0 + bn.epsilon).squareRoot() }
                return .batch(
                    mean: append(bn.runningMean.data), inverseStd: append(inverseStd), gamma: append(bn.weight.data),
                    beta: append(bn.bias.data))
            }
            if !block.layerNorms.isEmpty {
                let ln = block.layerNorms[s]
                return .layer(gamma: append(ln.weight.data), beta: append(ln.bias.data), epsilon: ln.epsilon)
            }
            return .none
        }
        let backbone = model.configuration.backbone
        var maxChannels = backbone.inputChannels
        blocks = model.blocks.map { block in
            maxChannels = max(maxChannels, block.conv1.outputChannels)
            return StreamBlock(
                conv1: pack(block.conv1), conv2: pack(block.conv2), downsample: block.downsample.map(pack),
                norm1: norm(block, 0), norm2: norm(block, 1), activation: block.activation,
                finalActivation: block.finalActivation)
        }
        skipConnections = backbone.skipConnections
        branchSkips = backbone.skipConnections && backbone.skipSource == .residualBranch
        skipProjections = backbone.skipConnections ? model.skipProjections.map { $0.map(pack) } : []
        skipActivation = backbone.finalActivation ?? backbone.activation
        meanPool = model.configuration.head.kind == .meanPool
        head = pack(model.linear.convolution)
        inputChannels = backbone.inputChannels
        featureChannels = model.blocks.last?.conv2.outputChannels ?? backbone.inputChannels
        self.maxChannels = max(maxChannels, head.outputChannels)
        self.parameters = parameters
    }

    /// Outputs of the head.
    var outputs: Int { head.outputChannels }

    /// Per ring (block input, then block middle, per block): `(channels, history)`.
    var rings: [(channels: Int, history: Int)] {
        blocks.flatMap { b in
            [(b.conv1.inputChannels, b.conv1.history), (b.conv2.inputChannels, b.conv2.history)]
        }
    }
}

extension StreamPlan {
    /// Checks that the model's layers chain (the packed plan indexes raw memory by these widths): every block's
    /// `conv1` reads the previous width, `conv2` and the norms keep `conv1`'s width, the residual (`downsample` or
    /// identity) matches, skip projections map to the last width, and the head reads it; every filter is causal.
    ///
    /// - Throws: `TCNError.shapeMismatch` naming the `state_dict` key of the first layer that does not fit (a
    ///   public layer property replaced by one of another width), `TCNError.invalidParameter` for no blocks or a
    ///   non-causal convolution.
    static func validate(_ model: TCNModel) throws {
        func expect(_ key: String, _ actual: [Int], _ expected: [Int]) throws {
            guard actual == expected else {
                throw TCNError.shapeMismatch(name: key, expected: expected, actual: actual)
            }
        }
        func check(_ conv: Conv1d, _ key: String, input: Int, output: Int, kernelSize: Int? = nil) throws {
            let k = kernelSize ?? conv.kernelSize
            try expect(key + "weight", conv.weight.shape, [output, input, k])
            try expect(key + "weight", [conv.outputChannels, conv.inputChannels, conv.kernelSize], [output, input, k])
            if let bias = conv.bias { try expect(key + "bias", bias.shape, [output]) }
            if let gain = conv.weightGain { try expect(key + "weight_g", gain.shape, [output, 1, 1]) }
            guard conv.padding == .causal || conv.kernelSize == 1 else {
                throw TCNError.invalidParameter(
                    name: key + "padding", value: conv.padding.rawValue, reason: "streaming needs a causal model")
            }
        }
        guard !model.blocks.isEmpty else {
            throw TCNError.invalidParameter(name: "network", value: "0 blocks", reason: "need at least one block")
        }
        var width = model.configuration.backbone.inputChannels
        var widths: [Int] = []
        for (i, block) in model.blocks.enumerated() {
            let key = "network.\(i)."
            let out = block.conv1.outputChannels
            try check(block.conv1, key + "conv1.", input: width, output: out)
            try check(block.conv2, key + "conv2.", input: out, output: out)
            if let down = block.downsample {
                try check(down, key + "downsample.", input: width, output: out, kernelSize: 1)
            } else if out != width {
                // An identity residual needs equal widths; otherwise the 1×1 `downsample` is missing.
                throw TCNError.shapeMismatch(name: key + "downsample.weight", expected: [out, width, 1], actual: [])
            }
            for (kind, count) in [("batch", block.batchNorms.count), ("layer", block.layerNorms.count)]
            where count != 0 && count != 2 {
                throw TCNError.invalidParameter(
                    name: key + "norm1/norm2", value: "\(count) \(kind) norms", reason: "need none or two")
            }
            for (s, bn) in block.batchNorms.enumerated() {
                for (name, t) in [
                    ("weight", bn.weight), ("bias", bn.bias), ("running_mean", bn.runningMean),
                    ("running_var", bn.runningVariance),
                ] {
                    try expect(key + "norm\(s + 1).\(name)", t.shape, [out])
                }
            }
            for (s, ln) in block.layerNorms.enumerated() {
                for (name, t) in [("weight", ln.weight), ("bias", ln.bias)] {
                    try expect(key + "norm\(s + 1).\(name)", t.shape, [out])
                }
            }
            widths.append(out)
            width = out
        }
        if model.configuration.backbone.skipConnections {
            guard model.skipProjections.count == model.blocks.count else {
                throw TCNError.invalidParameter(
                    name: "downsample_skip_connection", value: "\(model.skipProjections.count) entries",
                    reason: "need one per block (\(model.blocks.count))")
            }
            for (i, projection) in model.skipProjections.enumerated() {
                let key = "downsample_skip_connection.\(i)."
                if let projection {
                    try check(projection, key, input: widths[i], output: width, kernelSize: 1)
                } else if widths[i] != width {
                    throw TCNError.shapeMismatch(name: key + "weight", expected: [width, widths[i], 1], actual: [])
                }
            }
        }
        let linear = model.linear
        try expect("linear.weight", linear.weight.shape, [linear.outputFeatures, width])
        try expect("linear.weight", [linear.outputFeatures, linear.inputFeatures], [linear.outputFeatures, width])
        try expect("linear.bias", model.linear.bias.shape, [model.linear.outputFeatures])
    }
}
