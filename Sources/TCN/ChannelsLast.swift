import CTCNDNNL
import CTCNKernels
import Synchronization

/// Which engine runs a model's temporal blocks.
public enum ConvolutionEngine: String, Sendable, Codable, CaseIterable {
    /// oneDNN on channels-last activations where the pass allows it, im2col + OpenBLAS elsewhere (default).
    ///
    /// oneDNN (Debian's `libdnnl`, the library PyTorch runs its CPU convolutions on) takes passes that compute every
    /// step of a model without batch or layer norm and without skip connections: per-step and mean-pooled heads,
    /// `features(_:)`. Inside such a pass the blocks keep their activations as `[batch, time, channels]`; only the
    /// model's input and features are transposed. Last-step heads keep the im2col engine, whose receptive-field
    /// pruning computes a fraction of the steps. oneDNN splits a weight gradient's sums by thread count: results are
    /// bit-identical for the same thread count (tested), and differ in rounding between thread counts.
    case automatic
    /// im2col + OpenBLAS `sgemm` for every pass: results bit-identical across thread counts too.
    case im2col
}

/// One convolution shape's oneDNN primitives (`tcn_dnnl_conv`), freed with the last reference.
final class DNNLConvolution: @unchecked Sendable {
    // Safe to share: the C object serialises its calls with its own lock.
    let handle: OpaquePointer

    init(handle: OpaquePointer) { self.handle = handle }

    deinit { tcn_dnnl_conv_destroy(handle) }

    /// What identifies the primitives: the convolution's and the pass's shapes.
    struct Key: Hashable {
        var batch, inputChannels, outputChannels, time, kernelSize, dilation, left, right: Int
        var bias, training: Bool
        var threads: Int
    }

    /// Primitives made so far (`nil`: oneDNN cannot run that shape). Bounded: cleared beyond `limit` shapes.
    private static let made = Mutex<[Key: DNNLConvolution?]>([:])
    private static let limit = 256

    /// The primitives for `key`, made on first use; `nil` when oneDNN cannot run that shape.
    static func primitives(_ key: Key) -> DNNLConvolution? {
        if let known = made.withLock({ $0[key] }) { return known }
        let created = tcn_dnnl_conv_create(
            Int32(key.batch), Int32(key.inputChannels), Int32(key.outputChannels), Int32(key.time),
            Int32(key.kernelSize), Int32(key.dilation), Int32(key.left), Int32(key.right), key.bias ? 1 : 0,
            key.training ? 1 : 0, Int32(key.threads)
        ).map(DNNLConvolution.init(handle:))
        made.withLock { cache in
            if cache.count >= limit { cache.removeAll() }
            cache[key] = created
        }
        return created
    }

    /// The implementations oneDNN chose (forward, input gradient, weight gradient), for benchmarks and tests.
    var implementations: [String] { (0..<3).map { String(cString: tcn_dnnl_conv_implementation(handle, Int32($0))) } }
}

extension Conv1d {
    /// The oneDNN primitives for this convolution over `batch × time` channels-last steps (with the gradient
    /// primitives when `backward`).
    func primitives(batch: Int, time: Int, backward: Bool) -> DNNLConvolution? {
        let left = padding.leftPad(kernelSize: kernelSize, dilation: dilation)
        return DNNLConvolution.primitives(
            DNNLConvolution.Key(
                batch: batch, inputChannels: inputChannels, outputChannels: outputChannels, time: time,
                kernelSize: kernelSize, dilation: dilation, left: left,
                right: (kernelSize - 1) * dilation - left, bias: bias != nil, training: backward,
                threads: TCNThreads.current))
    }

    /// The channels-last forward pass: `[batch · time, out]` from `x` `[batch · time, in]` with filter `w`
    /// (`effectiveWeight()`'s data).
    func channelsLastForward(_ x: [Float], weight w: [Float], primitives: DNNLConvolution, count: Int) -> [Float] {
        var y = [Float](unsafeUninitializedCapacity: count) { _, n in n = count }
        let status = x.withUnsafeBufferPointer { xp in
            w.withUnsafeBufferPointer { wp in
                y.withUnsafeMutableBufferPointer { yp in
                    (bias?.data ?? []).withUnsafeBufferPointer { bp in
                        tcn_dnnl_conv_forward(
                            primitives.handle, xp.baseAddress, wp.baseAddress, bias == nil ? nil : bp.baseAddress,
                            yp.baseAddress)
                    }
                }
            }
        }
        precondition(status == 0, "oneDNN convolution forward failed: status \(status)")
        return y
    }

    /// The channels-last backward pass: adds the parameter gradients under `prefix` for input `x` and output
    /// gradient `dy` (both channels-last) and returns the input gradient (`[]` without `needInputGradient`).
    func channelsLastBackward(
        _ dy: [Float], input x: [Float], weight w: [Float], primitives: DNNLConvolution, prefix: String,
        gradients: inout TensorDictionary, needInputGradient: Bool
    ) -> [Float] {
        var dW = [Float](repeating: 0, count: weight.count)
        var dBias = [Float](repeating: 0, count: bias == nil ? 0 : outputChannels)
        let status = x.withUnsafeBufferPointer { xp in
            dy.withUnsafeBufferPointer { gp in
                dW.withUnsafeMutableBufferPointer { wp in
                    dBias.withUnsafeMutableBufferPointer { bp in
                        tcn_dnnl_conv_backward_weights(
                            primitives.handle, xp.baseAddress, gp.baseAddress, wp.baseAddress,
                            bias == nil ? nil : bp.baseAddress)
                    }
                }
            }
        }
        precondition(status == 0, "oneDNN convolution weight gradient failed: status \(status)")
        accumulateParameterGradients(dW: dW, dBias: bias == nil ? nil : dBias, prefix: prefix, gradients: &gradients)
        guard needInputGradient else { return [] }
        let count = x.count
        var dx = [Float](unsafeUninitializedCapacity: count) { _, n in n = count }
        let dataStatus = dy.withUnsafeBufferPointer { gp in
            w.withUnsafeBufferPointer { wp in
                dx.withUnsafeMutableBufferPointer { dp in
                    tcn_dnnl_conv_backward_data(primitives.handle, gp.baseAddress, wp.baseAddress, dp.baseAddress)
                }
            }
        }
        precondition(dataStatus == 0, "oneDNN convolution input gradient failed: status \(dataStatus)")
        return dx
    }
}

/// Transposes each of `batch` `[rows, cols]` matrices in `x` (`[batch, channels, time]` ↔ `[batch, time, channels]`).
func transposedBatch(_ x: [Float], batch: Int, rows: Int, cols: Int) -> [Float] {
    let per = rows * cols
    let count = batch * per
    guard count > 0 else { return [] }
    return x.withUnsafeBufferPointer { xp in
        [Float](unsafeUninitializedCapacity: count) { yp, n in
            guard let xBase = xp.baseAddress, let yBase = yp.baseAddress else { return }
            TCNThreads.forEachRange(batch, grain: max(1, TCNThreads.elementGrain / max(1, per))) { r in
                for b in r { tcn_transpose(xBase + b * per, yBase + b * per, Int32(rows), Int32(cols)) }
            }
            n = count
        }
    }
}

/// Runs `body` over contiguous ranges of `0..<count`, in parallel for large counts (element-wise passes).
private func elementwise(_ count: Int, _ body: (Range<Int>) -> Void) {
    TCNThreads.forEachRange(count, grain: TCNThreads.elementGrain, body)
}

extension TemporalBlock {
    /// What the channels-last backward pass needs from a block (all arrays `[batch, time, channels]`).
    struct ChannelsLastCache {
        var batch: Int
        var time: Int
        /// The effective filters of conv1, conv2 and downsample (when present), as used in the forward pass.
        var weights: [[Float]]
        var primitives: [DNNLConvolution]
        /// The block's input and the second convolution's input (the first stage's output).
        var input: [Float]
        var middle: [Float]
        /// Per stage: the pre-activation when the activation's derivative needs it, else the activation.
        var preActivation: [[Float]]
        var activated: [[Float]]
        var masks: [[Float]?]
        /// The residual sum (before the final activation) when its derivative needs it, else the output.
        var sum: [Float]
        var output: [Float]
    }

    /// The primitives of conv1, conv2 and downsample for a channels-last pass (with the gradient primitives when
    /// `backward`), or `nil` when oneDNN cannot run one.
    func channelsLastPrimitives(batch: Int, time: Int, backward: Bool) -> [DNNLConvolution]? {
        var result: [DNNLConvolution] = []
        for conv in [conv1, conv2] + (downsample.map { [$0] } ?? []) {
            guard let p = conv.primitives(batch: batch, time: time, backward: backward) else { return nil }
            result.append(p)
        }
        return result
    }

    /// Whether the channels-last engine can run this block (no normalisation layers).
    var channelsLastCapable: Bool { batchNorms.isEmpty && layerNorms.isEmpty }

    /// The block's forward pass on channels-last activations `x` `[batch, time, in]`: the same values as the fused
    /// pass, with dropout masks drawn in the same order (then transposed). Returns `[batch, time, out]`.
    func channelsLastForward(
        _ x: [Float], batch: Int, time: Int, primitives: [DNNLConvolution], training: Bool, keepCache: Bool,
        random: inout TCNRandom
    ) -> (output: [Float], cache: ChannelsLastCache?) {
        let channels = conv1.outputChannels
        let count = batch * time * channels
        let weights = [conv1.effectiveWeight().data, conv2.effectiveWeight().data] + (downsample.map { [$0.weight.data] } ?? [])
        let residual =
            downsample.map {
                $0.channelsLastForward(x, weight: weights[2], primitives: primitives[2], count: count)
            } ?? x
        func nwcMask() -> [Float]? {
            dropout.mask(for: [batch, channels, time], training: training, random: &random).map {
                transposedBatch($0, batch: batch, rows: channels, cols: time)
            }
        }
        let masks = [nwcMask(), nwcMask()]
        var pre: [[Float]] = []
        var activated: [[Float]] = []
        var stageInput = x
        var sum: [Float] = []
        var y: [Float] = []
        for s in 0..<2 {
            let conv = s == 0 ? conv1 : conv2
            var h = conv.channelsLastForward(stageInput, weight: weights[s], primitives: primitives[s], count: count)
            let keepPre = keepCache && activation.derivativeNeedsInput
            if keepPre { pre.append(h) }
            h.withUnsafeMutableBufferPointer { hp in
                guard let base = hp.baseAddress else { return }
                elementwise(count) { r in activation.apply(inPlace: base + r.lowerBound, count: r.count) }
            }
            if !keepPre { pre.append(keepCache ? h : []) }
            activated.append(keepCache ? h : [])
            if let mask = masks[s] {
                h.withUnsafeMutableBufferPointer { hp in
                    mask.withUnsafeBufferPointer { mp in
                        guard let base = hp.baseAddress, let m = mp.baseAddress else { return }
                        elementwise(count) { r in tcn_multiply(base + r.lowerBound, m + r.lowerBound, r.count) }
                    }
                }
            }
            if s == 0 {
                stageInput = h
                continue
            }
            residual.withUnsafeBufferPointer { rp in
                h.withUnsafeMutableBufferPointer { hp in
                    guard let base = hp.baseAddress, let r0 = rp.baseAddress else { return }
                    elementwise(count) { r in tcn_add(base + r.lowerBound, r0 + r.lowerBound, r.count) }
                }
            }
            if keepCache && finalActivation.derivativeNeedsInput { sum = h }
            h.withUnsafeMutableBufferPointer { hp in
                guard let base = hp.baseAddress else { return }
                elementwise(count) { r in finalActivation.apply(inPlace: base + r.lowerBound, count: r.count) }
            }
            y = h
        }
        guard keepCache else { return (y, nil) }
        return (
            y,
            ChannelsLastCache(
                batch: batch, time: time, weights: weights, primitives: primitives, input: x, middle: stageInput,
                preActivation: pre, activated: activated, masks: masks,
                sum: finalActivation.derivativeNeedsInput ? sum : y, output: y)
        )
    }

    /// The channels-last backward pass: adds every parameter gradient under `prefix` and returns the input
    /// gradient `[batch, time, in]` (`[]` without `needInputGradient`).
    func channelsLastBackward(
        _ dy: [Float], cache: ChannelsLastCache, prefix: String, gradients: inout TensorDictionary,
        needInputGradient: Bool
    ) -> [Float] {
        let count = dy.count
        /// `g[i] *= f′(x[i])`, and first `g[i] *= mask[i]` when there is a mask.
        func scale(_ g: inout [Float], _ f: Activation, input: [Float], output: [Float], mask: [Float]?) {
            g.withUnsafeMutableBufferPointer { gp in
                input.withUnsafeBufferPointer { xp in
                    output.withUnsafeBufferPointer { yp in
                        (mask ?? []).withUnsafeBufferPointer { mp in
                            guard let g0 = gp.baseAddress, let x0 = xp.baseAddress, let y0 = yp.baseAddress else {
                                return
                            }
                            let m0 = mask == nil ? nil : mp.baseAddress
                            elementwise(count) { r in
                                let o = r.lowerBound
                                if let m0 { tcn_multiply(g0 + o, m0 + o, r.count) }
                                f.scale(gradient: g0 + o, input: x0 + o, output: y0 + o, count: r.count)
                            }
                        }
                    }
                }
            }
        }
        var dSum = dy
        scale(&dSum, finalActivation, input: cache.sum, output: cache.output, mask: nil)
        var g = dSum
        scale(&g, activation, input: cache.preActivation[1], output: cache.activated[1], mask: cache.masks[1])
        var dMiddle = conv2.channelsLastBackward(
            g, input: cache.middle, weight: cache.weights[1], primitives: cache.primitives[1], prefix: prefix + "conv2.",
            gradients: &gradients, needInputGradient: true)
        scale(&dMiddle, activation, input: cache.preActivation[0], output: cache.activated[0], mask: cache.masks[0])
        var dx = conv1.channelsLastBackward(
            dMiddle, input: cache.input, weight: cache.weights[0], primitives: cache.primitives[0],
            prefix: prefix + "conv1.", gradients: &gradients, needInputGradient: needInputGradient)
        let residual: [Float]
        if let downsample {
            residual = downsample.channelsLastBackward(
                dSum, input: cache.input, weight: cache.weights[2], primitives: cache.primitives[2],
                prefix: prefix + "downsample.", gradients: &gradients, needInputGradient: needInputGradient)
        } else {
            residual = dSum
        }
        guard needInputGradient else { return [] }
        dx.withUnsafeMutableBufferPointer { dp in
            residual.withUnsafeBufferPointer { rp in
                guard let d0 = dp.baseAddress, let r0 = rp.baseAddress else { return }
                elementwise(dp.count) { r in tcn_add(d0 + r.lowerBound, r0 + r.lowerBound, r.count) }
            }
        }
        return dx
    }
}

extension TCNModel {
    /// Every block's oneDNN primitives for a full pass over `batch × time` (with the gradient primitives when
    /// `backward`), or `nil` when the channels-last engine does not apply (see `ConvolutionEngine.automatic`).
    func channelsLastPrimitives(batch: Int, time: Int, backward: Bool) -> [[DNNLConvolution]]? {
        guard convolutionEngine == .automatic, batch > 0, time > 0, !configuration.backbone.skipConnections,
            blocks.allSatisfy(\.channelsLastCapable)
        else { return nil }
        var result: [[DNNLConvolution]] = []
        for block in blocks {
            guard let p = block.channelsLastPrimitives(batch: batch, time: time, backward: backward) else { return nil }
            result.append(p)
        }
        return result
    }

    /// The blocks' forward pass on the channels-last engine: `x` `[batch, in, time]` in, the features
    /// `[batch, channels, time]` out (both transposed here), and the blocks' caches when `keepCache`.
    func channelsLastForward(
        _ x: Tensor, primitives: [[DNNLConvolution]], training: Bool, keepCache: Bool, random: inout TCNRandom
    ) -> (Tensor, [TemporalBlock.ChannelsLastCache]) {
        let (batch, channels, time) = (x.shape[0], x.shape[1], x.shape[2])
        var h = transposedBatch(x.data, batch: batch, rows: channels, cols: time)
        var caches: [TemporalBlock.ChannelsLastCache] = []
        for (i, block) in blocks.enumerated() {
            let (y, cache) = block.channelsLastForward(
                h, batch: batch, time: time, primitives: primitives[i], training: training, keepCache: keepCache,
                random: &random)
            if let cache { caches.append(cache) }
            h = y
        }
        let width = blocks.last?.conv2.outputChannels ?? channels
        return (
            Tensor(
                uncheckedShape: [batch, width, time], data: transposedBatch(h, batch: batch, rows: time, cols: width)),
            caches
        )
    }

    /// The blocks' backward pass on the channels-last engine from the features' gradient `dH`
    /// `[batch, channels, time]`.
    func channelsLastBackward(
        _ dH: Tensor, caches: [TemporalBlock.ChannelsLastCache], gradients: inout TensorDictionary
    ) {
        let (batch, channels, time) = (dH.shape[0], dH.shape[1], dH.shape[2])
        var g = transposedBatch(dH.data, batch: batch, rows: channels, cols: time)
        for i in blocks.indices.reversed() {
            g = blocks[i].channelsLastBackward(
                g, cache: caches[i], prefix: "network.\(i).", gradients: &gradients, needInputGradient: i > 0)
        }
    }
}
