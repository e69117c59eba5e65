import CTCNDNNL
import CTCNKernels
import Synchronization

/// Which engine runs a model's temporal blocks.
public enum ConvolutionEngine: String, Sendable, Codable, CaseIterable {
    /// oneDNN on channels-last activations where the pass allows it, im2col + OpenBLAS elsewhere (default).
    ///
    /// oneDNN (Debian's `libdnnl`, the library PyTorch runs its CPU convolutions on) takes passes that compute every
    /// step of a model without batch or layer norm (weight norm or none; skip connections of either source too):
    /// per-step and mean-pooled heads, `features(_:)`. Inside such a pass the blocks keep their activations as `[batch, time, channels]`; only the
    /// model's input and features are transposed. Last-step heads keep the im2col engine, whose receptive-field
    /// pruning computes a fraction of the steps. oneDNN splits a weight gradient's sums by thread count: results are
    /// bit-identical for the same thread count (tested), and differ in rounding between thread counts.
    ///
    /// oneDNN generates its kernels for each new shape (batch, steps, thread count; kept for later passes, up to 256
    /// shapes): the first pass of a shape costs about 10–35 ms more for TCNBench C's model (the process's very first,
    /// about 0.1 s), later ones are 2–3× faster than im2col. Training and batched evaluation repeat a few shapes; for
    /// many one-off shapes — single inputs of varying length — `.im2col` is faster.
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
        var bias, relu, training: Bool
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
            key.relu ? 1 : 0, key.training ? 1 : 0, Int32(key.threads)
        ).map(DNNLConvolution.init(handle:))
        made.withLock { cache in
            if cache.count >= limit { cache.removeAll() }
            cache[key] = created
        }
        return created
    }
}

extension Conv1d {
    /// The oneDNN primitives for this convolution over `batch × time` channels-last steps (with the gradient
    /// primitives when `backward`), on activations folded by `fold` (`tcn_fold`: `batch · fold` sequences of
    /// `time / fold` steps, where the dilation and the padding are `fold` times smaller; `fold` divides them).
    ///
    /// With `relu` the forward pass applies a ReLU after the convolution (the gradient primitives are the
    /// convolution's alone).
    func primitives(batch: Int, time: Int, backward: Bool, fold: Int = 1, relu: Bool = false) -> DNNLConvolution? {
        let left = padding.leftPad(kernelSize: kernelSize, dilation: dilation)
        let right = (kernelSize - 1) * dilation - left
        return DNNLConvolution.primitives(
            DNNLConvolution.Key(
                batch: batch * fold, inputChannels: inputChannels, outputChannels: outputChannels, time: time / fold,
                kernelSize: kernelSize, dilation: kernelSize == 1 ? 1 : dilation / fold, left: left / fold,
                right: right / fold, bias: bias != nil, relu: relu, training: backward, threads: TCNThreads.current))
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
        let status = x.withUnsafeBufferPointer { xp in
            dy.withUnsafeBufferPointer { gp in
                dW.withUnsafeMutableBufferPointer { wp in
                    tcn_dnnl_conv_backward_weights(primitives.handle, xp.baseAddress, gp.baseAddress, wp.baseAddress)
                }
            }
        }
        let dBias = bias == nil ? nil : channelSums(dy, channels: outputChannels)
        precondition(status == 0, "oneDNN convolution weight gradient failed: status \(status)")
        accumulateParameterGradients(dW: dW, dBias: dBias, prefix: prefix, gradients: &gradients)
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

/// Each channel's sum over the rows of `x` `[rows, channels]` (a channels-last bias gradient): four fixed parts of
/// the rows summed in row order on the OpenMP threads (`tcn_channel_sums`), then added in part order — the same bits
/// for any thread count.
func channelSums(_ x: [Float], channels: Int) -> [Float] {
    let parts = 4
    let rows = x.count / max(1, channels)
    var partial = [Float](repeating: 0, count: parts * channels)
    x.withUnsafeBufferPointer { xp in
        partial.withUnsafeMutableBufferPointer { pp in
            guard let x0 = xp.baseAddress, let p0 = pp.baseAddress else { return }
            ompForEachRange(parts, grain: 1) { range in
                for p in range {
                    let (lo, hi) = (p * rows / parts, (p + 1) * rows / parts)
                    tcn_channel_sums(x0 + lo * channels, hi - lo, channels, p0 + p * channels)
                }
            }
        }
    }
    return (0..<channels).map { c in (1..<parts).reduce(partial[c]) { $0 + partial[$1 * channels + c] } }
}

/// Transposes each of `batch` `[rows, cols]` matrices in `x` (`[batch, channels, time]` ↔ `[batch, time, channels]`).
func transposedBatch(_ x: [Float], batch: Int, rows: Int, cols: Int) -> [Float] {
    let per = rows * cols
    let count = batch * per
    guard count > 0 else { return [] }
    return x.withUnsafeBufferPointer { xp in
        [Float](unsafeUninitializedCapacity: count) { yp, n in
            guard let xBase = xp.baseAddress, let yBase = yp.baseAddress else { return }
            ompForEachRange(batch, grain: max(1, TCNThreads.elementGrain / max(1, per))) { r in
                for b in r { tcn_transpose(xBase + b * per, yBase + b * per, Int32(rows), Int32(cols)) }
            }
            n = count
        }
    }
}

/// Moves channels-last activations `[batch, time, channels]` from the layout folded by `from` to the one folded by
/// `to` (1: not folded; see `tcn_fold`).
func refolded(_ x: [Float], batch: Int, time: Int, channels: Int, from: Int, to: Int) -> [Float] {
    guard from != to, !x.isEmpty else { return x }
    var y = x
    for (fold, unfold) in [(from, true), (to, false)] where fold > 1 {
        let source = y
        let per = time * channels
        y = source.withUnsafeBufferPointer { sp in
            [Float](unsafeUninitializedCapacity: source.count) { dp, n in
                guard let s0 = sp.baseAddress, let d0 = dp.baseAddress else { return }
                ompForEachRange(batch, grain: max(1, TCNThreads.elementGrain / max(1, per))) { r in
                    tcn_fold(
                        s0 + r.lowerBound * per, d0 + r.lowerBound * per, Int32(r.count), Int32(time), Int32(fold),
                        Int32(channels), unfold ? 1 : 0)
                }
                n = source.count
            }
        }
    }
    return y
}

/// Runs `body` over contiguous ranges of `0..<count` (each at least `grain` long, one per thread) on oneDNN's
/// OpenMP threads (`tcn_parallel_for`): the channels-last engine's passes between convolutions.
private func ompForEachRange(_ count: Int, grain: Int, _ body: (Range<Int>) -> Void) {
    withoutActuallyEscaping(body) { body in
        var context = body
        withUnsafeMutablePointer(to: &context) { pointer in
            tcn_parallel_for(
                count, grain, Int32(TCNThreads.current),
                { context, lo, hi in
                    context?.assumingMemoryBound(to: ((Range<Int>) -> Void).self).pointee(lo..<hi)
                }, pointer)
        }
    }
}

/// Runs `body` over contiguous ranges of `0..<count`, in parallel for large counts (element-wise passes).
private func elementwise(_ count: Int, _ body: (Range<Int>) -> Void) {
    ompForEachRange(count, grain: TCNThreads.elementGrain, body)
}

/// `y[i] += x[i]` (same counts), on the OpenMP threads.
private func add(_ x: [Float], into y: inout [Float]) {
    let count = y.count
    pointers(x, [], [], &y) { x0, _, _, y0 in
        elementwise(count) { r in tcn_add(y0 + r.lowerBound, x0 + r.lowerBound, r.count) }
    }
}

/// `y[i] *= m[i]` (same counts), on the OpenMP threads.
private func multiply(_ y: inout [Float], by m: [Float]) {
    let count = y.count
    pointers(m, [], [], &y) { m0, _, _, y0 in
        elementwise(count) { r in tcn_multiply(y0 + r.lowerBound, m0 + r.lowerBound, r.count) }
    }
}

/// `y[i] = f(y[i])`, on the OpenMP threads.
private func apply(_ f: Activation, to y: inout [Float]) {
    let count = y.count
    pointers([], [], [], &y) { _, _, _, y0 in
        elementwise(count) { r in f.apply(inPlace: y0 + r.lowerBound, count: r.count) }
    }
}

/// `g[i] *= f′(x[i])` given the activation's input `x` and output `y` — after `g[i] *= mask[i]` when there is a
/// mask — on the OpenMP threads.
private func scale(_ g: inout [Float], by f: Activation, input x: [Float], output y: [Float], mask: [Float]?) {
    let count = g.count
    pointers(x, y, mask ?? [], &g) { x0, y0, m0, g0 in
        let m0 = mask == nil ? nil : m0
        elementwise(count) { r in
            let o = r.lowerBound
            if let m0 { tcn_multiply(g0 + o, m0 + o, r.count) }
            f.scale(gradient: g0 + o, input: x0 + o, output: y0 + o, count: r.count)
        }
    }
}

extension TemporalBlock {
    /// What the channels-last backward pass needs from a block (all arrays `[batch, time, channels]`).
    struct ChannelsLastCache {
        /// The time folding of every array here (`channelsLastFold`).
        var fold: Int
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

    /// The largest dilation the channels-last engine runs unfolded: oneDNN's AVX-512 gradient kernels take
    /// dilations up to 8 on TCNBench C, and it falls back to much slower GEMM-based ones from 16 (input gradient
    /// 0.55–0.70 ms vs 0.23, weight gradient 0.66 vs 0.31–0.52 per convolution, batch 64 × 256 steps, 32 channels).
    static let largestUnfoldedDilation = 8

    /// Whether this block's convolutions can run on activations folded by `fold` (`tcn_fold`): `fold` divides the
    /// dilation, both paddings and `time`.
    func channelsLastCanFold(_ fold: Int, time: Int) -> Bool {
        let left = conv1.padding.leftPad(kernelSize: conv1.kernelSize, dilation: conv1.dilation)
        let right = (conv1.kernelSize - 1) * conv1.dilation - left
        return conv1.kernelSize > 1 && [time, conv1.dilation, left, right].allSatisfy { $0 % fold == 0 }
    }

    /// How far a channels-last pass over `time` steps folds time into the batch for this block alone: the smallest
    /// power of two that brings the dilation down to `largestUnfoldedDilation` and that the block can take
    /// (`channelsLastCanFold`), or 1 when the dilation is small enough or no such fold exists.
    func channelsLastFold(time: Int) -> Int {
        var fold = 1
        while conv1.dilation / fold > Self.largestUnfoldedDilation, channelsLastCanFold(2 * fold, time: time) {
            fold *= 2
        }
        return conv1.dilation / fold > Self.largestUnfoldedDilation ? 1 : fold
    }

    /// The primitives of conv1, conv2 and downsample for a channels-last pass (with the gradient primitives when
    /// `backward`) on activations folded by `fold`, or `nil` when oneDNN cannot run one.
    func channelsLastPrimitives(batch: Int, time: Int, backward: Bool, fold: Int) -> [DNNLConvolution]? {
        var result: [DNNLConvolution] = []
        for (i, conv) in ([conv1, conv2] + (downsample.map { [$0] } ?? [])).enumerated() {
            let relu = channelsLastReLU && i < 2
            guard let p = conv.primitives(batch: batch, time: time, backward: backward, fold: fold, relu: relu) else {
                return nil
            }
            result.append(p)
        }
        return result
    }

    /// Whether the channels-last engine can run this block (no normalisation layers).
    var channelsLastCapable: Bool { batchNorms.isEmpty && layerNorms.isEmpty }

    /// Whether the block runs the ReLU path (ReLU after the convolutions and at the end): the convolutions apply
    /// the ReLU themselves (a oneDNN post-op), the block's end is one pass (`tcn_relu_residual`), and the backward
    /// passes read signs from what the forward keeps anyway (`tcn_relu_block_gradient`, `tcn_masked_relu_gradient`).
    var channelsLastReLU: Bool { activation == .relu && finalActivation == .relu }

    /// The block's forward pass on channels-last activations `x` `[batch, time, in]` folded by `fold`: the same
    /// values as the fused pass, with dropout masks drawn in the same order (then transposed and folded). Returns
    /// `[batch, time, out]`, folded likewise, and with `residualBranch` the second stage's output before the
    /// residual add (`TemporalBlock.residualBranch`, pytorch-tcn's skip source).
    func channelsLastForward(
        _ x: [Float], batch: Int, time: Int, fold: Int, primitives: [DNNLConvolution], training: Bool,
        keepCache: Bool, residualBranch: Bool = false, random: inout TCNRandom
    ) -> (output: [Float], cache: ChannelsLastCache?, branch: [Float]?) {
        let channels = conv1.outputChannels
        let count = batch * time * channels
        let relu = channelsLastReLU
        let weights =
            [conv1.effectiveWeight().data, conv2.effectiveWeight().data]
            + (downsample.map { [$0.effectiveWeight().data] } ?? [])
        let residual =
            downsample.map {
                $0.channelsLastForward(x, weight: weights[2], primitives: primitives[2], count: count)
            } ?? x
        func nwcMask() -> [Float]? {
            dropout.mask(for: [batch, channels, time], training: training, random: &random).map {
                refolded(
                    transposedBatch($0, batch: batch, rows: channels, cols: time), batch: batch, time: time,
                    channels: channels, from: 1, to: fold)
            }
        }
        let masks = [nwcMask(), nwcMask()]
        var pre: [[Float]] = []
        var activated: [[Float]] = []
        var stageInput = x
        var sum: [Float] = []
        var y: [Float] = []
        var branch: [Float]?
        for s in 0..<2 {
            let conv = s == 0 ? conv1 : conv2
            // On the ReLU path the convolution has applied the ReLU already.
            var h = conv.channelsLastForward(stageInput, weight: weights[s], primitives: primitives[s], count: count)
            let keepPre = keepCache && activation.derivativeNeedsInput
            if !relu {
                if keepPre { pre.append(h) }
                apply(activation, to: &h)
                if !keepPre { pre.append(keepCache ? h : []) }
            }
            // The ReLU path's first stage needs only its dropped-out output (see `tcn_masked_relu_gradient`).
            activated.append(keepCache && !(relu && s == 0) ? h : [])
            if residualBranch && s == 1 {
                branch =
                    masks[1].map { mask in
                        var b = h
                        multiply(&b, by: mask)
                        return b
                    } ?? h
            }
            if relu && s == 1 {
                y = [Float](unsafeUninitializedCapacity: count) { _, n in n = count }
                pointers(h, masks[1] ?? [], residual, &y) { a, m, r, out in
                    let m = masks[1] == nil ? nil : m
                    elementwise(count) { range in
                        let o = range.lowerBound
                        tcn_relu_residual(a + o, m.map { $0 + o }, r + o, out + o, range.count)
                    }
                }
                break
            }
            if let mask = masks[s] { multiply(&h, by: mask) }
            if s == 0 {
                stageInput = h
                continue
            }
            add(residual, into: &h)
            if keepCache && finalActivation.derivativeNeedsInput { sum = h }
            apply(finalActivation, to: &h)
            y = h
        }
        guard keepCache else { return (y, nil, branch) }
        return (
            y,
            ChannelsLastCache(
                fold: fold, weights: weights, primitives: primitives, input: x,
                middle: stageInput, preActivation: pre, activated: activated, masks: masks,
                sum: finalActivation.derivativeNeedsInput ? sum : y, output: y),
            branch
        )
    }

    /// The channels-last backward pass: adds every parameter gradient under `prefix` and returns the input
    /// gradient `[batch, time, in]` (`[]` without `needInputGradient`). `branchGradient` is the gradient of the
    /// residual branch from a skip sum (`residualBranch`), or `nil`.
    func channelsLastBackward(
        _ dy: [Float], cache: ChannelsLastCache, prefix: String, gradients: inout TensorDictionary,
        needInputGradient: Bool, branchGradient: [Float]? = nil
    ) -> [Float] {
        let count = dy.count
        var dSum: [Float]
        var g: [Float]
        if channelsLastReLU, let branchGradient {
            // The branch feeds both the residual sum and the skip sum: the second stage's gradient is the sum's
            // plus the branch's, then through dropout and the ReLU (whose output `a` has the input's sign).
            dSum = [Float](unsafeUninitializedCapacity: count) { _, n in n = count }
            pointers(dy, cache.output, [], &dSum) { d, y, _, s0 in
                elementwise(count) { r in
                    tcn_relu_gradient_copy(d + r.lowerBound, y + r.lowerBound, s0 + r.lowerBound, r.count)
                }
            }
            g = dSum
            let mask = cache.masks[1]
            pointers(branchGradient, cache.activated[1], mask ?? [], &g) { b, a, m, g0 in
                let m = mask == nil ? nil : m
                elementwise(count) { r in
                    let o = r.lowerBound
                    tcn_add(g0 + o, b + o, r.count)
                    tcn_masked_relu_gradient(g0 + o, a + o, m.map { $0 + o }, r.count)
                }
            }
        } else if channelsLastReLU {
            dSum = [Float](unsafeUninitializedCapacity: count) { _, n in n = count }
            g = [Float](unsafeUninitializedCapacity: count) { _, n in n = count }
            let mask = cache.masks[1]
            pointers(dy, cache.output, cache.activated[1], &dSum) { d, y, a, s0 in
                pointers(mask ?? [], [], [], &g) { m, _, _, g0 in
                    let m = mask == nil ? nil : m
                    elementwise(count) { r in
                        let o = r.lowerBound
                        tcn_relu_block_gradient(d + o, y + o, a + o, m.map { $0 + o }, s0 + o, g0 + o, r.count)
                    }
                }
            }
        } else {
            dSum = dy
            scale(&dSum, by: finalActivation, input: cache.sum, output: cache.output, mask: nil)
            g = dSum
            if let branchGradient { add(branchGradient, into: &g) }
            scale(&g, by: activation, input: cache.preActivation[1], output: cache.activated[1], mask: cache.masks[1])
        }
        var dMiddle = conv2.channelsLastBackward(
            g, input: cache.middle, weight: cache.weights[1], primitives: cache.primitives[1],
            prefix: prefix + "conv2.",
            gradients: &gradients, needInputGradient: true)
        if channelsLastReLU {
            let mask = cache.masks[0]
            pointers(cache.middle, mask ?? [], [], &dMiddle) { h, m, _, d in
                let m = mask == nil ? nil : m
                elementwise(count) { r in
                    let o = r.lowerBound
                    tcn_masked_relu_gradient(d + o, h + o, m.map { $0 + o }, r.count)
                }
            }
        } else {
            scale(
                &dMiddle, by: activation, input: cache.preActivation[0], output: cache.activated[0],
                mask: cache.masks[0])
        }
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
        add(residual, into: &dx)
        return dx
    }
}

/// Calls `body` with the base addresses of three arrays read and one written. An empty array's address is a valid
/// placeholder that must not be read (callers pass `nil` on for arrays not in use).
private func pointers(
    _ a: [Float], _ b: [Float], _ c: [Float], _ d: inout [Float],
    _ body: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void
) {
    let placeholder = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    defer { placeholder.deallocate() }
    a.withUnsafeBufferPointer { ap in
        b.withUnsafeBufferPointer { bp in
            c.withUnsafeBufferPointer { cp in
                d.withUnsafeMutableBufferPointer { dp in
                    body(
                        ap.baseAddress ?? UnsafePointer(placeholder), bp.baseAddress ?? UnsafePointer(placeholder),
                        cp.baseAddress ?? UnsafePointer(placeholder), dp.baseAddress ?? placeholder)
                }
            }
        }
    }
}

extension TCNModel {
    /// The oneDNN primitives of a channels-last pass: every block's (on its time folding) and every skip
    /// projection's (unfolded).
    struct ChannelsLastPlan {
        var blocks: [[DNNLConvolution]]
        var folds: [Int]
        var skips: [DNNLConvolution?]
    }

    /// What the channels-last backward pass needs beyond the blocks' caches (arrays `[batch, time, channels]`).
    struct ChannelsLastCache {
        var blocks: [TemporalBlock.ChannelsLastCache]
        /// Each block's skip source, unfolded, and its projection's filter, when it has a projection.
        var skipInputs: [[Float]?]
        var skipWeights: [[Float]?]
        var skipPrimitives: [DNNLConvolution?]
        /// The skip sum before the final activation when that activation's derivative needs it, and the features.
        var skipSum: [Float]
        var features: [Float]
    }

    /// The primitives of a full pass over `batch × time` (with the gradient primitives when `backward`), or `nil`
    /// when the channels-last engine does not apply (see `ConvolutionEngine.automatic`).
    func channelsLastPlan(batch: Int, time: Int, backward: Bool) -> ChannelsLastPlan? {
        guard convolutionEngine == .automatic, batch > 0, time > 0, blocks.allSatisfy(\.channelsLastCapable) else {
            return nil
        }
        let folds = channelsLastFolds(time: time)
        var plan = ChannelsLastPlan(blocks: [], folds: folds, skips: [])
        for (block, fold) in zip(blocks, folds) {
            guard let p = block.channelsLastPrimitives(batch: batch, time: time, backward: backward, fold: fold) else {
                return nil
            }
            plan.blocks.append(p)
        }
        for projection in skipProjections where configuration.backbone.skipConnections {
            guard let projection else {
                plan.skips.append(nil)
                continue
            }
            guard let p = projection.primitives(batch: batch, time: time, backward: backward) else { return nil }
            plan.skips.append(p)
        }
        return plan
    }

    /// Each block's time folding in a channels-last pass over `time` steps (`channelsLastFold`). (Raising a folded
    /// block's fold to the next block's, so that a run of folded blocks shares one layout and two refolds disappear,
    /// measured no faster on TCNBench C: 5,314–5,737 vs 5,330–5,540 training samples/s.)
    func channelsLastFolds(time: Int) -> [Int] { blocks.map { $0.channelsLastFold(time: time) } }

    /// The blocks' forward pass on the channels-last engine, with the skip sum and its final activation when the
    /// model has skip connections: `x` `[batch, in, time]` in, the features `[batch, channels, time]` out (both
    /// transposed here), and what the backward pass needs when `keepCache`.
    func channelsLastForward(
        _ x: Tensor, plan: ChannelsLastPlan, training: Bool, keepCache: Bool, random: inout TCNRandom
    ) -> (Tensor, ChannelsLastCache?) {
        let (batch, channels, time) = (x.shape[0], x.shape[1], x.shape[2])
        let bb = configuration.backbone
        let branchSkips = bb.skipConnections && bb.skipSource == .residualBranch
        let last = blocks.last?.conv2.outputChannels ?? channels
        var h = transposedBatch(x.data, batch: batch, rows: channels, cols: time)
        var caches: [TemporalBlock.ChannelsLastCache] = []
        var skipSum = bb.skipConnections ? [Float](repeating: 0, count: batch * time * last) : []
        var skipInputs: [[Float]?] = []
        var skipWeights: [[Float]?] = []
        var fold = 1
        var width = channels
        for (i, block) in blocks.enumerated() {
            h = refolded(h, batch: batch, time: time, channels: width, from: fold, to: plan.folds[i])
            fold = plan.folds[i]
            let (y, cache, branch) = block.channelsLastForward(
                h, batch: batch, time: time, fold: fold, primitives: plan.blocks[i], training: training,
                keepCache: keepCache, residualBranch: branchSkips && i < blocks.count - 1, random: &random)
            if let cache { caches.append(cache) }
            h = y
            width = block.conv2.outputChannels
            guard bb.skipConnections else { continue }
            // This block's term of the skip sum, added in block order as the im2col engine does.
            let source = refolded(branch ?? y, batch: batch, time: time, channels: width, from: fold, to: 1)
            var term = source
            if let projection = skipProjections[i], let primitives = plan.skips[i] {
                let weight = projection.effectiveWeight().data
                term = projection.channelsLastForward(
                    source, weight: weight, primitives: primitives, count: batch * time * last)
                skipInputs.append(keepCache ? source : nil)
                skipWeights.append(keepCache ? weight : nil)
            } else {
                skipInputs.append(nil)
                skipWeights.append(nil)
            }
            add(term, into: &skipSum)
        }
        var features: [Float]
        if bb.skipConnections {
            let final = bb.finalActivation ?? bb.activation
            // The sum is kept (copied on the write below) only when the final activation's derivative needs it.
            features = skipSum
            if !(keepCache && final.derivativeNeedsInput) { skipSum = [] }
            apply(final, to: &features)
        } else {
            features = refolded(h, batch: batch, time: time, channels: width, from: fold, to: 1)
        }
        let output = Tensor(
            uncheckedShape: [batch, width, time], data: transposedBatch(features, batch: batch, rows: time, cols: width)
        )
        guard keepCache else { return (output, nil) }
        return (
            output,
            ChannelsLastCache(
                blocks: caches, skipInputs: skipInputs, skipWeights: skipWeights, skipPrimitives: plan.skips,
                skipSum: skipSum, features: features)
        )
    }

    /// The blocks' backward pass on the channels-last engine from the features' gradient `dH`
    /// `[batch, channels, time]`: through the skip sum and its projections when the model has skip connections.
    func channelsLastBackward(_ dH: Tensor, cache: ChannelsLastCache, gradients: inout TensorDictionary) {
        let (batch, channels, time) = (dH.shape[0], dH.shape[1], dH.shape[2])
        let bb = configuration.backbone
        let caches = cache.blocks
        let top = transposedBatch(dH.data, batch: batch, rows: channels, cols: time)
        var dBlockOutputs = [[Float]?](repeating: nil, count: blocks.count)
        var dBranches = [[Float]?](repeating: nil, count: blocks.count)
        if bb.skipConnections {
            let final = bb.finalActivation ?? bb.activation
            var dSum = top
            let input = final.derivativeNeedsInput ? cache.skipSum : cache.features
            scale(&dSum, by: final, input: input, output: cache.features, mask: nil)
            for i in blocks.indices {
                var d = dSum
                if let projection = skipProjections[i], let primitives = cache.skipPrimitives[i],
                    let input = cache.skipInputs[i], let weight = cache.skipWeights[i]
                {
                    d = projection.channelsLastBackward(
                        dSum, input: input, weight: weight, primitives: primitives,
                        prefix: "downsample_skip_connection.\(i).", gradients: &gradients, needInputGradient: true)
                }
                d = refolded(
                    d, batch: batch, time: time, channels: blocks[i].conv2.outputChannels, from: 1, to: caches[i].fold)
                if bb.skipSource == .residualBranch && i < blocks.count - 1 {
                    dBranches[i] = d
                } else {
                    dBlockOutputs[i] = d
                }
            }
        } else {
            dBlockOutputs[blocks.count - 1] = refolded(
                top, batch: batch, time: time, channels: channels, from: 1, to: caches[blocks.count - 1].fold)
        }
        var g: [Float]?
        var fold = caches.last?.fold ?? 1
        for i in blocks.indices.reversed() {
            // The block above's input gradient, in this block's folding, plus the skip or head gradient.
            var dy = g.map {
                refolded(
                    $0, batch: batch, time: time, channels: blocks[i].conv2.outputChannels, from: fold,
                    to: caches[i].fold)
            }
            fold = caches[i].fold
            if let d = dBlockOutputs[i] {
                if dy == nil {
                    dy = d
                } else {
                    add(d, into: &dy!)
                }
            }
            g = blocks[i].channelsLastBackward(
                dy ?? [], cache: caches[i], prefix: "network.\(i).", gradients: &gradients, needInputGradient: i > 0,
                branchGradient: dBranches[i])
        }
    }
}
