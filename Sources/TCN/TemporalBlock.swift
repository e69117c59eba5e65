import CTCNKernels

/// A residual temporal block over `[batch, channels, time]`, as locuslab/TCN's `TemporalBlock` and
/// pytorch-tcn's block:
///
/// ```
/// h1 = dropout(act(norm1(conv1(x))))          conv1: in → out, kernel k, dilation d
/// h2 = dropout(act(norm2(conv2(h1))))         conv2: out → out, kernel k, dilation d
/// y  = finalAct(h2 + (downsample(x) or x))    downsample: 1×1 conv when in ≠ out
/// ```
/// With `.weightNorm` the convolutions are weight-normalised and `norm1`/`norm2` are absent; with
/// `.batchNorm`/`.layerNorm` they are `norm1`/`norm2` in the `state_dict`.
public struct TemporalBlock: Sendable, Equatable {
    /// The block's first convolution (`conv1`).
    public var conv1: Conv1d
    /// The block's second convolution (`conv2`).
    public var conv2: Conv1d
    /// The 1×1 residual projection (`downsample`) when input and output widths differ.
    public var downsample: Conv1d?
    /// Batch norms after each convolution (`norm1`, `norm2`) with `.batchNorm`.
    public var batchNorms: [BatchNorm1d]
    /// Layer norms after each convolution (`norm1`, `norm2`) with `.layerNorm`.
    public var layerNorms: [LayerNormChannels]
    /// The activation after each normalised convolution.
    public let activation: Activation
    /// The activation after the residual add.
    public let finalActivation: Activation
    /// Dropout after each activation.
    public let dropout: Dropout

    /// Creates a seeded block.
    ///
    /// - Throws: `TCNError.invalidParameter` for a size < 1 or a dropout outside `[0, 1)`.
    public init(
        inputChannels: Int, outputChannels: Int, kernelSize: Int, dilation: Int, padding: ConvolutionPadding,
        normalization: Normalization, activation: Activation, finalActivation: Activation, dropout: Dropout,
        initialization: WeightInitialization, random: inout TCNRandom
    ) throws {
        let weightNorm = normalization == .weightNorm
        conv1 = try Conv1d(
            inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: kernelSize,
            dilation: dilation, padding: padding, weightNormalized: weightNorm, initialization: initialization,
            random: &random)
        conv2 = try Conv1d(
            inputChannels: outputChannels, outputChannels: outputChannels, kernelSize: kernelSize,
            dilation: dilation, padding: padding, weightNormalized: weightNorm, initialization: initialization,
            random: &random)
        downsample =
            inputChannels == outputChannels
            ? nil
            : try Conv1d(
                inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: 1,
                initialization: initialization, random: &random)
        batchNorms =
            normalization == .batchNorm ? try (0..<2).map { _ in try BatchNorm1d(channels: outputChannels) } : []
        layerNorms =
            normalization == .layerNorm ? try (0..<2).map { _ in try LayerNormChannels(channels: outputChannels) } : []
        self.activation = activation
        self.finalActivation = finalActivation
        self.dropout = dropout
    }

    /// What the backward pass needs from one sub-layer stage.
    struct StageCache {
        var conv: Conv1d.Cache
        var batchNorm: BatchNorm1d.Cache?
        var layerNorm: LayerNormChannels.Cache?
        var preActivation: Tensor
        var activated: Tensor
        var mask: [Float]?
    }

    /// What the backward pass needs from the whole block.
    struct Cache {
        var grids: Grids
        var stages: [StageCache]
        var downsample: Conv1d.Cache?
        var sum: Tensor
        var output: Tensor
    }

    /// The sequence steps a (receptive-field-pruned) pass computes in the block: its input, the first
    /// convolution's output and the block's output (`TimeGrid`s, all ending at the sequence's last step).
    struct Grids: Equatable, Sendable {
        var input: TimeGrid
        var middle: TimeGrid
        var output: TimeGrid

        /// Every step of a `time`-step sequence (no pruning).
        static func full(_ time: Int) -> Grids { Grids(input: .full(time), middle: .full(time), output: .full(time)) }
    }

    /// The grids that produce `output` from the steps its causal filters read, in a `time`-step sequence.
    func grids(producing output: TimeGrid, time: Int) -> Grids {
        let middle = output.inputGrid(kernelSize: conv2.kernelSize, dilation: conv2.dilation, time: time)
        let input = middle.inputGrid(kernelSize: conv1.kernelSize, dilation: conv1.dilation, time: time)
        return Grids(input: input, middle: middle, output: output)
    }

    /// The residual: `downsample(x)` or `x` on the output grid.
    private func residual(_ x: Tensor, grids: Grids) throws -> (Tensor, Conv1d.Cache?) {
        if let downsample {
            let (r, cache) = try downsample.forward(x, from: grids.input, to: grids.output)
            return (r, cache)
        }
        return (x.suffix(grids.output.count, stride: grids.output.stride(within: grids.input)), nil)
    }

    /// conv → norm → act → dropout for stage `s` (0 or 1).
    private mutating func stage(
        _ s: Int, _ x: Tensor, from: TimeGrid, to: TimeGrid, training: Bool, random: inout TCNRandom
    ) throws -> (Tensor, StageCache) {
        let (c, convCache) = try (s == 0 ? conv1 : conv2).forward(x, from: from, to: to)
        var normalized = c
        var bnCache: BatchNorm1d.Cache?
        var lnCache: LayerNormChannels.Cache?
        if !batchNorms.isEmpty {
            (normalized, bnCache) = try batchNorms[s].forward(c, training: training)
        } else if !layerNorms.isEmpty {
            (normalized, lnCache) = try layerNorms[s].forward(c)
        }
        let activated = activation(normalized)
        let mask = dropout.mask(for: activated.shape, training: training, random: &random)
        let out = mask.map { activated.multiplied(by: $0) } ?? activated
        return (
            out,
            StageCache(
                conv: convCache, batchNorm: bnCache, layerNorm: lnCache, preActivation: normalized,
                activated: activated, mask: mask)
        )
    }

    /// The forward pass; in training, batch norms update their running statistics and dropout draws masks.
    ///
    /// - Parameters:
    ///   - x: `[batch, in, grids.input.count]`, the steps `grids.input` of the sequence.
    ///   - grids: the steps to compute (`grids(producing:time:)` for a pruned pass; default every step of `x`).
    ///   - keepCache: `false` keeps nothing for a backward pass in the fused path (inference; default `true`).
    mutating func forward(
        _ x: Tensor, grids: Grids? = nil, training: Bool, keepCache: Bool = true, random: inout TCNRandom
    ) throws -> (Tensor, Cache) {
        let grids = grids ?? .full(x.shape.count == 3 ? x.shape[2] : 0)
        if fused {
            return try fusedForward(x, grids: grids, training: training, keepCache: keepCache, random: &random)
        }
        let (h1, c1) = try stage(0, x, from: grids.input, to: grids.middle, training: training, random: &random)
        let (h2, c2) = try stage(1, h1, from: grids.middle, to: grids.output, training: training, random: &random)
        var sum = h2
        let (r, downCache) = try residual(x, grids: grids)
        sum.add(r)
        let y = finalActivation(sum)
        return (y, Cache(grids: grids, stages: [c1, c2], downsample: downCache, sum: sum, output: y))
    }

    /// Whether the block runs the fused path: without normalisation layers everything after each convolution
    /// (activation, dropout, the residual add and the final activation) is per example and element-wise, so it
    /// is applied to each example's output right after its GEMM, while it is in cache, instead of in separate
    /// passes over the whole batch — and its backward is folded into the convolutions' gradient copies.
    private var fused: Bool { batchNorms.isEmpty && layerNorms.isEmpty }

    /// The fused forward pass (see `fused`): the same values as the stage-by-stage pass.
    private func fusedForward(
        _ x: Tensor, grids: Grids, training: Bool, keepCache: Bool, random: inout TCNRandom
    ) throws -> (Tensor, Cache) {
        let batch = x.shape[0]
        let (residual, downCache) = try residual(x, grids: grids)
        let mask1 = dropout.mask(
            for: [batch, conv1.outputChannels, grids.middle.count], training: training, random: &random)
        let (h1, stage1, _) = try fusedStage(
            conv1, x, from: grids.input, to: grids.middle, mask: mask1, residual: nil, keepCache: keepCache)
        let mask2 = dropout.mask(
            for: [batch, conv2.outputChannels, grids.output.count], training: training, random: &random)
        let (y, stage2, sum) = try fusedStage(
            conv2, h1, from: grids.middle, to: grids.output, mask: mask2, residual: residual, keepCache: keepCache)
        return (y, Cache(grids: grids, stages: [stage1, stage2], downsample: downCache, sum: sum ?? y, output: y))
    }

    /// conv → activation → dropout (→ + residual → final activation), all but the GEMM per example in the
    /// convolution's epilogue. Keeps only what the backward pass needs: the pre-activation for activations whose
    /// derivative needs it (GELU), the activation when the output is something else, the residual sum likewise.
    private func fusedStage(
        _ conv: Conv1d, _ x: Tensor, from: TimeGrid, to: TimeGrid, mask: [Float]?, residual: Tensor?,
        keepCache: Bool
    ) throws -> (output: Tensor, stage: StageCache, sum: Tensor?) {
        let batch = x.shape[0]
        let time = to.count
        let per = conv.outputChannels * time
        let count = batch * per
        let keepPre = keepCache && activation.derivativeNeedsInput
        let keepActivated = keepCache && (mask != nil || residual != nil)
        let keepSum = keepCache && residual != nil && finalActivation.derivativeNeedsInput
        // Every element is written by the epilogue of its example, so the kept arrays need no zero fill. (An array
        // not kept is `[]`: building one of capacity 0 writes the count of the shared empty-array storage, which
        // ThreadSanitizer reports as a race when blocks run on several threads.)
        func kept(_ keep: Bool) -> [Float] {
            guard keep, count > 0 else { return [] }
            return [Float](unsafeUninitializedCapacity: count) { _, n in n = count }
        }
        var pre = kept(keepPre)
        var activated = kept(keepActivated)
        var sum = kept(keepSum)
        let empty: [Float] = []
        let (y, convCache) = try pre.withUnsafeMutableBufferPointer { pp in
            try activated.withUnsafeMutableBufferPointer { ap in
                try sum.withUnsafeMutableBufferPointer { sp in
                    try (mask ?? empty).withUnsafeBufferPointer { mp in
                        try (residual?.data ?? empty).withUnsafeBufferPointer { rp in
                            // An empty array may still have a base address: each pointer is taken only when
                            // its array is in use.
                            let preBase = keepPre ? pp.baseAddress : nil
                            let actBase = keepActivated ? ap.baseAddress : nil
                            let sumBase = keepSum ? sp.baseAddress : nil
                            let maskBase = mask == nil ? nil : mp.baseAddress
                            let resBase = residual == nil ? nil : rp.baseAddress
                            return try conv.forward(x, from: from, to: to) { b, y in
                                let o = b * per
                                if let preBase { (preBase + o).initialize(from: y, count: per) }
                                activation.apply(inPlace: y, count: per)
                                if let actBase { (actBase + o).initialize(from: y, count: per) }
                                if let maskBase { tcn_multiply(y, maskBase + o, per) }
                                if let resBase {
                                    tcn_add(y, resBase + o, per)
                                    if let sumBase { (sumBase + o).initialize(from: y, count: per) }
                                    finalActivation.apply(inPlace: y, count: per)
                                }
                            }
                        }
                    }
                }
            }
        }
        let shape = [batch, conv.outputChannels, time]
        let activatedTensor = keepActivated ? Tensor(uncheckedShape: shape, data: activated) : y
        return (
            y,
            StageCache(
                conv: convCache, batchNorm: nil, layerNorm: nil,
                preActivation: keepPre ? Tensor(uncheckedShape: shape, data: pre) : activatedTensor,
                activated: activatedTensor, mask: mask),
            keepSum ? Tensor(uncheckedShape: shape, data: sum) : nil
        )
    }

    /// The fused backward of a stage's activation and dropout, applied to each example's output gradient inside
    /// the convolution's backward pass.
    private func stageGradient(
        _ stage: StageCache, channels: Int, time: Int,
        _ body: (@escaping (_ example: Int, _ gradient: UnsafeMutablePointer<Float>, _ rowStride: Int) -> Void) ->
            Tensor
    ) -> Tensor {
        let empty: [Float] = []
        return stage.preActivation.data.withUnsafeBufferPointer { xp in
            stage.activated.data.withUnsafeBufferPointer { yp in
                (stage.mask ?? empty).withUnsafeBufferPointer { mp in
                    // An empty array may still have a base address: the mask's is taken only when there is one.
                    let (xBase, yBase) = (xp.baseAddress, yp.baseAddress)
                    let maskBase = stage.mask == nil ? nil : mp.baseAddress
                    return body { b, g, ld in
                        guard let xBase, let yBase else { return }
                        for o in 0..<channels {
                            let i0 = (b * channels + o) * time
                            let row = g + o * ld
                            if let maskBase { tcn_multiply(row, maskBase + i0, time) }
                            activation.scale(gradient: row, input: xBase + i0, output: yBase + i0, count: time)
                        }
                    }
                }
            }
        }
    }

    /// The residual branch of a forward pass: the second stage's output (activation, then dropout) before the
    /// residual add — what pytorch-tcn's skip connections sum (`SkipSource.residualBranch`). Needs a pass that
    /// kept its cache.
    func residualBranch(_ cache: Cache) -> Tensor {
        let stage = cache.stages[1]
        return stage.mask.map { stage.activated.multiplied(by: $0) } ?? stage.activated
    }

    /// Adds every parameter gradient under `prefix` and returns the input gradient (zeros without
    /// `needInputGradient`, which skips its GEMMs). `branchGradient` is the gradient of the residual branch's last
    /// steps from a skip sum (`residualBranch`) on grid `branchGrid`, or `nil`.
    func backward(
        _ dy: Tensor, cache: Cache, prefix: String, gradients: inout TensorDictionary, needInputGradient: Bool = true,
        branchGradient: Tensor? = nil, branchGrid: TimeGrid = .full(0)
    ) -> Tensor {
        let dSum = finalActivation.backward(dy, input: cache.sum, output: cache.output)
        var g = dSum
        // The branch feeds both the residual sum and the skip sum; the residual path below takes `dSum` alone.
        if let branchGradient { g.addSuffix(branchGradient, stride: branchGrid.stride(within: cache.grids.output)) }
        if fused {
            for s in [1, 0] {
                let st = cache.stages[s]
                let conv = s == 0 ? conv1 : conv2
                let time = st.conv.time
                g = stageGradient(st, channels: conv.outputChannels, time: time) { transform in
                    conv.backward(
                        g, cache: st.conv, prefix: prefix + "conv\(s + 1).", gradients: &gradients,
                        needInputGradient: s == 1 || needInputGradient, transform: transform)
                }
            }
        }
        for s in [1, 0] where !fused {
            let st = cache.stages[s]
            if let mask = st.mask { g = g.multiplied(by: mask) }
            g = activation.backward(g, input: st.preActivation, output: st.activated)
            let name = "norm\(s + 1)."
            if let bn = st.batchNorm {
                g = batchNorms[s].backward(g, cache: bn, prefix: prefix + name, gradients: &gradients)
            } else if let ln = st.layerNorm {
                g = layerNorms[s].backward(g, cache: ln, prefix: prefix + name, gradients: &gradients)
            }
            g = (s == 0 ? conv1 : conv2).backward(
                g, cache: st.conv, prefix: prefix + "conv\(s + 1).", gradients: &gradients,
                needInputGradient: s == 1 || needInputGradient)
        }
        if let downsample, let dc = cache.downsample {
            let r = downsample.backward(
                dSum, cache: dc, prefix: prefix + "downsample.", gradients: &gradients,
                needInputGradient: needInputGradient)
            if needInputGradient { g.add(r) }
        } else if needInputGradient {
            g.addSuffix(dSum, stride: cache.grids.output.stride(within: cache.grids.input))
        }
        return g
    }

    /// Parameters (`conv1.*`, `conv2.*`, `downsample.*`, `norm1.weight`, …) under `prefix`.
    func namedParameters(prefix: String, into d: inout TensorDictionary) {
        conv1.namedParameters(prefix: prefix + "conv1.", into: &d)
        conv2.namedParameters(prefix: prefix + "conv2.", into: &d)
        downsample?.namedParameters(prefix: prefix + "downsample.", into: &d)
        for (s, bn) in batchNorms.enumerated() {
            d[prefix + "norm\(s + 1).weight"] = bn.weight
            d[prefix + "norm\(s + 1).bias"] = bn.bias
        }
        for (s, ln) in layerNorms.enumerated() {
            d[prefix + "norm\(s + 1).weight"] = ln.weight
            d[prefix + "norm\(s + 1).bias"] = ln.bias
        }
    }

    /// Buffers (`norm1.running_mean`, `norm1.running_var`, `norm1.num_batches_tracked`, …) under `prefix`.
    func namedBuffers(prefix: String, into d: inout TensorDictionary) {
        for (s, bn) in batchNorms.enumerated() {
            d[prefix + "norm\(s + 1).running_mean"] = bn.runningMean
            d[prefix + "norm\(s + 1).running_var"] = bn.runningVariance
            d[prefix + "norm\(s + 1).num_batches_tracked"] = Tensor(
                uncheckedShape: [], data: [Float(bn.batchesTracked)])
        }
    }

    /// Replaces parameters and buffers found under `prefix`.
    mutating func update(from d: TensorDictionary, prefix: String) {
        conv1.update(from: d, prefix: prefix + "conv1.")
        conv2.update(from: d, prefix: prefix + "conv2.")
        downsample?.update(from: d, prefix: prefix + "downsample.")
        for s in batchNorms.indices {
            let p = prefix + "norm\(s + 1)."
            if let v = d[p + "weight"] { batchNorms[s].weight = v }
            if let v = d[p + "bias"] { batchNorms[s].bias = v }
            if let v = d[p + "running_mean"] { batchNorms[s].runningMean = v }
            if let v = d[p + "running_var"] { batchNorms[s].runningVariance = v }
            if let v = d[p + "num_batches_tracked"]?.data.first { batchNorms[s].batchesTracked = Int(v) }
        }
        for s in layerNorms.indices {
            let p = prefix + "norm\(s + 1)."
            if let v = d[p + "weight"] { layerNorms[s].weight = v }
            if let v = d[p + "bias"] { layerNorms[s].bias = v }
        }
    }
}
