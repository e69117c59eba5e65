import CTCNKernels

/// How a `Conv1d` pads time so that the output has as many steps as the input.
public enum ConvolutionPadding: String, Sendable, Codable, CaseIterable {
    /// Pad `(kernelSize − 1) · dilation` zeros on the left only: output `t` sees inputs `≤ t`.
    ///
    /// Identical to locuslab/TCN's `Conv1d(padding=(k−1)·d)` followed by `Chomp1d((k−1)·d)` (pad both sides,
    /// cut the right), and to pytorch-tcn's causal mode.
    case causal
    /// Pad `(k − 1) · d` zeros in total, `⌊total/2⌋` on the left and the rest on the right, as
    /// `torch.nn.Conv1d(padding="same")`. Output `t` sees inputs on both sides (non-causal).
    case same

    /// Zeros padded before the first step for this kernel span.
    func leftPad(kernelSize: Int, dilation: Int) -> Int {
        let total = (kernelSize - 1) * dilation
        switch self {
        case .causal: return total
        case .same: return total / 2
        }
    }
}

/// A dilated 1-D convolution over `[batch, channels, time]` that keeps the time length, with optional weight
/// normalisation (`torch.nn.Conv1d` with stride 1, groups 1, zero padding; `torch.nn.utils.weight_norm`).
///
/// ```
/// y[b, o, t] = bias[o] + Σ_i Σ_j w[o, i, j] · x[b, i, t + j·dilation − leftPad]      (x = 0 outside [0, T))
/// w = weight                                  (plain)
/// w[o] = weight_g[o] · weight_v[o] / ‖weight_v[o]‖₂   (weight-normalised, norm over in × kernel)
/// ```
///
/// For each example the forward pass lays out the shifted inputs as columns (im2col, `[in · k, time]`) and does
/// one OpenBLAS `sgemm` with the `[out, in · k]` weight — the weight's natural `[out, in, k]` order, so no
/// repacking — writing straight into `y[b]`, then runs the caller's epilogue on `y[b]` while it is in cache
/// (`TemporalBlock` fuses activation, dropout and the residual there). Examples run in parallel, one contiguous
/// range per thread (`TCNThreads`); outputs shorter than `groupColumns` steps (the upper blocks of a pruned pass)
/// are computed for a group of examples in one GEMM. A receptive-field-pruned pass gives the convolution inputs and
/// outputs on strided grids (`TimeGrid`): im2col then gathers every `step`-th tap position (`Taps`).
/// The backward pass lays every example's columns side by side (`[in · k + 1, batch · time]`, the extra row of
/// ones giving the bias gradient) for one weight-gradient GEMM with inner size `batch · time` — its columns split
/// into parts fixed by the shape, so every entry is the same computation whatever the thread count — and per
/// example (or group) a column-gradient GEMM and a col2im scatter. Measured on TCNBench: per-tap GEMMs
/// (`k` GEMMs of inner size `in` reading the input in place) were no faster than im2col (best 17.8 ms vs
/// 14.6 ms, batch 32, 64 channels, k = 3, 256 steps) and batch-wide forward GEMMs no faster than per-example ones
/// (A 5,457–6,298 vs 5,182–6,517 samples/s); the batch-wide weight gradient replaced per-example partial gradients
/// summed on one thread; an input gradient as one GEMM of the `[in, out · k]` filter with dY's shifted copies (inner
/// size `out · k` instead of `out`, no col2im) was no faster (C training 2,487–2,520 vs 2,518–2,571 samples/s).
/// Scratch columns come from a pool (`Scratch`). Streaming (`TCNStream`) has its own engine: per-tap GEMMs over
/// ring buffers of all streams (`Streaming+Shard.swift`); full-length passes of models without normalisation layers
/// run on oneDNN with channels-last activations (`ConvolutionEngine`, `ChannelsLast.swift`).
public struct Conv1d: Sendable, Equatable {
    /// Input channels `in`.
    public let inputChannels: Int
    /// Output channels `out`.
    public let outputChannels: Int
    /// Taps per filter `k` (≥ 1).
    public let kernelSize: Int
    /// Spacing between taps in steps (≥ 1).
    public let dilation: Int
    /// Causal (left) or symmetric ("same") padding.
    public let padding: ConvolutionPadding
    /// The filter `[out, in, k]` as in `torch.nn.Conv1d.weight`; when `weightGain` is set this is the
    /// direction `weight_v` of the weight-normalised filter.
    public var weight: Tensor
    /// The weight-norm gain `weight_g` `[out, 1, 1]`, or `nil` for a plain convolution.
    public var weightGain: Tensor?
    /// The bias `[out]`, or `nil` for none.
    public var bias: Tensor?

    /// Creates a convolution from explicit weights (for tests and loading).
    ///
    /// - Parameters:
    ///   - weight: `[out, in, k]` (`weight_v` when `weightGain` is given).
    ///   - bias: `[out]` or `nil`.
    ///   - weightGain: `[out, 1, 1]` to weight-normalise, `nil` for a plain filter.
    ///   - dilation: tap spacing ≥ 1; `padding` defaults to `.causal`.
    /// - Throws: `TCNError.shapeMismatch` for a weight, bias or gain of the wrong shape;
    ///   `TCNError.invalidParameter` for a dilation < 1 or an empty filter.
    public init(
        weight: Tensor, bias: Tensor?, weightGain: Tensor? = nil, dilation: Int = 1,
        padding: ConvolutionPadding = .causal
    ) throws {
        guard weight.shape.count == 3, weight.shape.allSatisfy({ $0 >= 1 }) else {
            throw TCNError.shapeMismatch(name: "conv weight", expected: [-1, -1, -1], actual: weight.shape)
        }
        guard dilation >= 1 else {
            throw TCNError.invalidParameter(name: "dilation", value: "\(dilation)", reason: "must be ≥ 1")
        }
        let out = weight.shape[0]
        if let bias, bias.shape != [out] {
            throw TCNError.shapeMismatch(name: "conv bias", expected: [out], actual: bias.shape)
        }
        if let weightGain, weightGain.shape != [out, 1, 1] {
            throw TCNError.shapeMismatch(name: "conv weight_g", expected: [out, 1, 1], actual: weightGain.shape)
        }
        self.outputChannels = out
        self.inputChannels = weight.shape[1]
        self.kernelSize = weight.shape[2]
        self.dilation = dilation
        self.padding = padding
        self.weight = weight
        self.bias = bias
        self.weightGain = weightGain
    }

    /// Internal initialiser for shapes valid by construction.
    init(uncheckedWeight weight: Tensor, bias: Tensor?) {
        precondition(weight.shape.count == 3 && bias.map { $0.shape == [weight.shape[0]] } ?? true)
        outputChannels = weight.shape[0]
        inputChannels = weight.shape[1]
        kernelSize = weight.shape[2]
        dilation = 1
        padding = .causal
        self.weight = weight
        self.bias = bias
        weightGain = nil
    }

    /// Creates a seeded convolution.
    ///
    /// With `weightNormalized`, `weight_v` is drawn by `initialization` and `weight_g = ‖weight_v‖` per output
    /// channel, so the effective filter equals the drawn one. (locuslab/TCN draws `N(0, 0.01)` into `.weight`
    /// *after* wrapping in `weight_norm`, which PyTorch overwrites from `g`/`v` on the next forward pass — its
    /// intended initialisation never takes effect. Ours does.)
    ///
    /// - Parameters:
    ///   - inputChannels, outputChannels, kernelSize: filter shape `[out, in, k]`, each ≥ 1.
    ///   - dilation: tap spacing ≥ 1 (default 1).
    ///   - padding: `.causal` (default, the TCN convention) or `.same`.
    ///   - bias: whether to have a bias (default `true`, as torch); drawn `U(±1/√fanIn)` as torch.
    ///   - weightNormalized: wrap in weight normalisation (default `false`).
    ///   - initialization: how to draw the filter (default `.torchDefault`).
    ///   - random: the seeded generator to draw from.
    /// - Throws: `TCNError.invalidParameter` for a size < 1.
    public init(
        inputChannels: Int, outputChannels: Int, kernelSize: Int, dilation: Int = 1,
        padding: ConvolutionPadding = .causal, bias: Bool = true, weightNormalized: Bool = false,
        initialization: WeightInitialization = .torchDefault, random: inout TCNRandom
    ) throws {
        for (name, value) in [
            ("inputChannels", inputChannels), ("outputChannels", outputChannels), ("kernelSize", kernelSize),
        ] where value < 1 {
            throw TCNError.invalidParameter(name: name, value: "\(value)", reason: "must be ≥ 1")
        }
        let fanIn = inputChannels * kernelSize
        let w = initialization.draw(
            count: outputChannels * fanIn, fanIn: fanIn, fanOut: outputChannels * kernelSize, random: &random)
        let bound = 1 / Float(fanIn).squareRoot()
        let b = bias ? (0..<outputChannels).map { _ in random.uniform(-bound, bound) } : nil
        var gain: Tensor?
        if weightNormalized {
            gain = Tensor(
                uncheckedShape: [outputChannels, 1, 1],
                data: (0..<outputChannels).map { o in
                    var s: Float = 0
                    for v in w[(o * fanIn)..<((o + 1) * fanIn)] { s += v * v }
                    return s.squareRoot()
                })
        }
        try self.init(
            weight: Tensor(uncheckedShape: [outputChannels, inputChannels, kernelSize], data: w),
            bias: b.map { Tensor(uncheckedShape: [outputChannels], data: $0) }, weightGain: gain,
            dilation: dilation, padding: padding)
    }

    /// Whether the filter is weight-normalised (`weight_g`, `weight_v`).
    public var isWeightNormalized: Bool { weightGain != nil }

    /// Time steps of input that reach one output step: `(kernelSize − 1) · dilation + 1`.
    public var span: Int { (kernelSize - 1) * dilation + 1 }

    /// The filter actually applied, `[out, in, k]`: `weight`, or `g · v / ‖v‖` when weight-normalised
    /// (what PyTorch recomputes into `.weight` before each forward pass).
    public func effectiveWeight() -> Tensor {
        guard let weightGain else { return weight }
        let fanIn = inputChannels * kernelSize
        let w = weight.data.withUnsafeBufferPointer { v in
            [Float](unsafeUninitializedCapacity: v.count) { p, initialized in
                for o in 0..<outputChannels {
                    var s: Float = 0
                    for i in (o * fanIn)..<((o + 1) * fanIn) { s += v[i] * v[i] }
                    let scale = weightGain.data[o] / s.squareRoot()
                    for i in (o * fanIn)..<((o + 1) * fanIn) { p[i] = v[i] * scale }
                }
                initialized = v.count
            }
        }
        return Tensor(uncheckedShape: weight.shape, data: w)
    }

    /// `‖v[o]‖₂` over `in × k`.
    private func directionNorm(_ o: Int) -> Float {
        let fanIn = inputChannels * kernelSize
        var s: Float = 0
        for v in weight.data[(o * fanIn)..<((o + 1) * fanIn)] { s += v * v }
        return s.squareRoot()
    }

    /// Applies the convolution to `x` `[batch, in, time]`, giving `[batch, out, time]`.
    ///
    /// - Throws: `TCNError.shapeMismatch` when `x` is not `[batch, in, time]`.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try forward(x).output
    }

    /// What the backward pass needs from the forward pass.
    struct Cache {
        var input: Tensor
        var effectiveWeight: Tensor
        var batch: Int
        var time: Int
        var taps: Taps
    }

    /// Where output step `t`'s taps sit in the input: tap `j` reads input step `offset + t · step + j · spacing`
    /// (zero outside the input). Unpruned: `step` 1, `spacing` = dilation, `offset` = −left padding.
    struct Taps: Equatable {
        var offset: Int
        var step: Int
        var spacing: Int
    }

    /// The taps for `time` outputs on a grid of stride `outputStride` from `inputTime` inputs on a grid of stride
    /// `inputStride` (`TimeGrid`; both grids end at the sequence's last step).
    private func taps(inputTime: Int, time: Int, inputStride: Int, outputStride: Int) -> Taps {
        let inputStride = max(1, inputStride)
        let step = time <= 1 ? 1 : outputStride / inputStride
        precondition(
            time <= 1 || (outputStride >= inputStride && outputStride % inputStride == 0),
            "conv: output stride \(outputStride) from input stride \(inputStride)")
        precondition(
            kernelSize == 1 || dilation % inputStride == 0, "conv: dilation \(dilation) on stride \(inputStride)")
        let spacing = kernelSize == 1 ? 0 : dilation / inputStride
        let left = padding.leftPad(kernelSize: kernelSize, dilation: dilation) / inputStride
        return Taps(offset: (inputTime - 1) - max(0, time - 1) * step - left, step: step, spacing: spacing)
    }

    /// The forward pass, keeping what `backward` needs (the input, not the im2col columns: `backward`
    /// rebuilds them, which keeps memory at the size of the activations).
    ///
    /// - Parameters:
    ///   - x: `[batch, in, inputTime]`, the last `inputTime` steps of the sequence, `inputStride` apart
    ///     (`TimeGrid`; default 1).
    ///   - outputTime: compute only the last `outputTime` output steps, `outputStride` apart (a multiple of
    ///     `inputStride`; default: every input step). When `x` does not start at the sequence's first step, it
    ///     must hold every tap those outputs read; steps before the sequence are the zero padding.
    ///   - epilogue: called with each example's index and output `[out, outputTime]` right after its GEMM, while
    ///     it is in cache (layers fuse their element-wise work here); it may run on any thread and must touch
    ///     only that example's data.
    func forward(
        _ x: Tensor, outputTime: Int? = nil, inputStride: Int = 1, outputStride: Int = 1,
        epilogue: ((_ example: Int, _ output: UnsafeMutablePointer<Float>) -> Void)? = nil
    ) throws -> (output: Tensor, cache: Cache) {
        let (batch, _, inputTime) = try x.batchChannelsTime(name: "conv input", channels: inputChannels)
        let time = outputTime ?? inputTime
        let taps = taps(inputTime: inputTime, time: time, inputStride: inputStride, outputStride: outputStride)
        let rows = inputChannels * kernelSize
        let w = effectiveWeight()
        // Every element is written by the GEMM (beta = 0) or the bias fill, so the output needs no zero fill.
        let size = batch * outputChannels * time
        var y = size == 0 ? [] : [Float](unsafeUninitializedCapacity: size) { _, n in n = size }
        let direct = kernelSize == 1 && inputTime == time && taps.step == 1
        let biasData = bias?.data
        x.data.withUnsafeBufferPointer { xp in
            w.data.withUnsafeBufferPointer { wp in
                y.withUnsafeMutableBufferPointer { yp in
                    guard let xBase = xp.baseAddress, let wBase = wp.baseAddress, let yBase = yp.baseAddress,
                        time > 0
                    else { return }
                    // Short outputs (the upper blocks of a pruned pass) are computed for a group of examples
                    // at once: their columns side by side make one GEMM wide enough to run near full speed.
                    let groups = ExampleGroups(time: time, batch: batch)
                    let group = groups.size
                    let work = outputChannels * rows * time * group
                    TCNThreads.forEachRange(groups.count, grain: TCNThreads.grain(itemWork: work)) { part in
                        let columnCount = direct && group == 1 ? 0 : rows * time * group
                        Scratch.with(columnCount + (group > 1 ? outputChannels * time * group : 0)) { scratch in
                            let columns = scratch
                            for g in part {
                                let examples = groups.examples(g)
                                if group == 1 {
                                    let b = examples.lowerBound
                                    let xb = xBase + b * inputChannels * inputTime
                                    let yb = yBase + b * outputChannels * time
                                    // The bias is written first and the GEMM adds to it (beta = 1): one pass less.
                                    if let biasData {
                                        for o in 0..<outputChannels {
                                            (yb + o * time).initialize(repeating: biasData[o], count: time)
                                        }
                                    }
                                    let beta: Float = biasData == nil ? 0 : 1
                                    if direct {
                                        sgemm(
                                            transA: false, transB: false, m: outputChannels, n: time, k: rows,
                                            wBase, lda: rows, xb, ldb: inputTime, beta: beta, yb, ldc: time)
                                    } else {
                                        im2col(
                                            xb, inputTime: inputTime, time: time, taps: taps, into: columns, ld: time)
                                        sgemm(
                                            transA: false, transB: false, m: outputChannels, n: time, k: rows,
                                            wBase, lda: rows, columns, ldb: time, beta: beta, yb, ldc: time)
                                    }
                                    epilogue?(b, yb)
                                    continue
                                }
                                let width = examples.count * time
                                let product = scratch + columnCount
                                for (e, b) in examples.enumerated() {
                                    im2col(
                                        xBase + b * inputChannels * inputTime, inputTime: inputTime, time: time,
                                        taps: taps, into: columns + e * time, ld: width)
                                }
                                sgemm(
                                    transA: false, transB: false, m: outputChannels, n: width, k: rows, wBase,
                                    lda: rows, columns, ldb: width, beta: 0, product, ldc: width)
                                for (e, b) in examples.enumerated() {
                                    let yb = yBase + b * outputChannels * time
                                    for o in 0..<outputChannels {
                                        let source = product + o * width + e * time
                                        let target = yb + o * time
                                        let bias = biasData?[o] ?? 0
                                        for t in 0..<time { (target + t).initialize(to: source[t] + bias) }
                                    }
                                    epilogue?(b, yb)
                                }
                            }
                        }
                    }
                }
            }
        }
        return (
            Tensor(uncheckedShape: [batch, outputChannels, time], data: y),
            Cache(input: x, effectiveWeight: w, batch: batch, time: time, taps: taps)
        )
    }

    /// The batch's examples in groups that share one GEMM for outputs of `time` steps: groups of about
    /// `groupColumns` columns (single examples for long outputs), fixed by the batch and `time` alone so the
    /// arithmetic is the same for any thread count. Per-example GEMMs only a few columns wide — the top blocks of a
    /// pruned pass compute 1 to 13 steps on the configurations — run far below the machine's GEMM speed.
    struct ExampleGroups {
        /// Examples per group (the last group may hold fewer).
        let size: Int
        /// The number of groups.
        let count: Int
        private let batch: Int

        init(time: Int, batch: Int) {
            size = min(max(1, batch), max(1, Conv1d.groupColumns / max(1, time)))
            count = (batch + size - 1) / size
            self.batch = batch
        }

        /// The examples of group `g`.
        func examples(_ g: Int) -> Range<Int> { (g * size)..<min(batch, (g + 1) * size) }
    }

    /// The width a grouped GEMM aims for (see `ExampleGroups`).
    static let groupColumns = 128

    /// The outputs `lo..<hi` of `0..<time` whose tap `j` falls inside the input (the rest read padding).
    @inline(__always)
    private func inside(tap j: Int, _ taps: Taps, time: Int, inputTime: Int) -> (shift: Int, lo: Int, hi: Int) {
        let shift = taps.offset + j * taps.spacing
        // Smallest t with shift + t·step ≥ 0, and with shift + t·step ≥ inputTime (ceiling divisions).
        func ceilDiv(_ a: Int, _ b: Int) -> Int { a <= 0 ? -((-a) / b) : (a + b - 1) / b }
        let lo = min(time, max(0, ceilDiv(-shift, taps.step)))
        let hi = max(lo, min(time, ceilDiv(inputTime - shift, taps.step)))
        return (shift, lo, hi)
    }

    /// The forward pass between two grids of a pruned pass: `x` holds the steps `from`, the output the steps `to`
    /// (see `forward(_:outputTime:inputStride:outputStride:epilogue:)`).
    func forward(
        _ x: Tensor, from: TimeGrid, to: TimeGrid,
        epilogue: ((_ example: Int, _ output: UnsafeMutablePointer<Float>) -> Void)? = nil
    ) throws -> (output: Tensor, cache: Cache) {
        try forward(x, outputTime: to.count, inputStride: from.stride, outputStride: to.stride, epilogue: epilogue)
    }

    /// Shifted copies of one example `x` `[in, inputTime]`:
    /// `columns[(i·k + j), t] = x[i, offset + t · step + j · spacing]` for `t < time` (row stride `ld`; see
    /// `Taps`), zero outside the input (only those entries are zero-filled, not the whole buffer).
    func im2col(
        _ x: UnsafePointer<Float>, inputTime: Int, time: Int, taps: Taps, into columns: UnsafeMutablePointer<Float>,
        ld: Int
    ) {
        for i in 0..<inputChannels {
            for j in 0..<kernelSize {
                let (shift, lo, hi) = inside(tap: j, taps, time: time, inputTime: inputTime)
                let row = columns + (i * kernelSize + j) * ld
                let source = x + i * inputTime + shift
                row.initialize(repeating: 0, count: lo)
                if taps.step == 1 {
                    (row + lo).initialize(from: source + lo, count: hi - lo)
                } else {
                    for t in lo..<hi { (row + t).initialize(to: source[t * taps.step]) }
                }
                (row + hi).initialize(repeating: 0, count: time - hi)
            }
        }
    }

    /// The backward pass: adds `weight`/`weight_g`/`weight_v`/`bias` gradients under `prefix` to `gradients`
    /// and returns the input gradient, shaped as the forward input.
    ///
    /// The columns of all examples sit side by side (`[in · k (+ 1 row of ones for the bias), batch · time]`,
    /// built in parallel) so the weight and bias gradients are one GEMM with inner size `batch · time`, its output
    /// columns split over threads: each entry is one dot product in a fixed order, whatever the thread count. The
    /// input gradient is a GEMM (`Wᵀ · dY`) and a col2im scatter per example.
    ///
    /// - Parameter transform: applied to each example's output gradient (`[out, time]` with row stride
    ///   `rowStride`) before use — layers fuse the backward of what followed the convolution here (activation,
    ///   dropout); it may run on any thread and must touch only that example's data.
    func backward(
        _ dy: Tensor, cache: Cache, prefix: String, gradients: inout TensorDictionary, needInputGradient: Bool = true,
        transform: ((_ example: Int, _ gradient: UnsafeMutablePointer<Float>, _ rowStride: Int) -> Void)? = nil
    ) -> Tensor {
        let batch = cache.batch
        let time = cache.time
        let inputTime = cache.input.shape[2]
        let rows = inputChannels * kernelSize
        let taps = cache.taps
        precondition(dy.shape == [batch, outputChannels, time], "conv backward: dy \(dy.shape)")
        let direct = kernelSize == 1 && inputTime == time && taps.step == 1
        let width = batch * time
        // With a bias, a row of ones under the columns makes the GEMM's last output column the bias gradient.
        let extended = rows + (bias == nil ? 0 : 1)
        var dWExtended = [Float](repeating: 0, count: outputChannels * extended)
        var dx = [Float](repeating: 0, count: needInputGradient ? batch * inputChannels * inputTime : 0)
        cache.input.data.withUnsafeBufferPointer { xp in
            cache.effectiveWeight.data.withUnsafeBufferPointer { wp in
                dy.data.withUnsafeBufferPointer { gp in
                    dWExtended.withUnsafeMutableBufferPointer { dwp in
                        dx.withUnsafeMutableBufferPointer { dxp in
                            guard let xBase = xp.baseAddress, let wBase = wp.baseAddress,
                                let gBase = gp.baseAddress, let dwBase = dwp.baseAddress, width > 0
                            else { return }
                            let dxBase = needInputGradient ? dxp.baseAddress : nil
                            Scratch.with((extended + outputChannels) * width) { scratch in
                                let columns = scratch
                                let gradient = scratch + extended * width
                                // Per example, in one parallel pass: its columns, its (transformed) output gradient
                                // in the batch-wide matrix, and its input gradient (Wᵀ · dY, col2im) while dY is hot.
                                // Short outputs: the input-gradient GEMM of a group of examples at once (as forward).
                                let groups = ExampleGroups(time: time, batch: batch)
                                let group = groups.size
                                let work = outputChannels * rows * time * group * (dxBase == nil ? 1 : 2)
                                TCNThreads.forEachRange(groups.count, grain: TCNThreads.grain(itemWork: work)) {
                                    part in
                                    let dCount = (direct && group == 1) || dxBase == nil ? 0 : rows * time * group
                                    Scratch.with(dCount) { dColumns in
                                        for g in part {
                                            let examples = groups.examples(g)
                                            for b in examples {
                                                im2col(
                                                    xBase + b * inputChannels * inputTime, inputTime: inputTime,
                                                    time: time, taps: taps, into: columns + b * time, ld: width)
                                                if extended > rows {
                                                    (columns + rows * width + b * time).initialize(
                                                        repeating: 1, count: time)
                                                }
                                                let gb = gradient + b * time
                                                for o in 0..<outputChannels {
                                                    (gb + o * width).initialize(
                                                        from: gBase + (b * outputChannels + o) * time, count: time)
                                                }
                                                transform?(b, gb, width)
                                            }
                                            guard let dxBase else { continue }
                                            let first = examples.lowerBound
                                            if direct && group == 1 {
                                                sgemm(
                                                    transA: true, transB: false, m: rows, n: time, k: outputChannels,
                                                    wBase, lda: rows, gradient + first * time, ldb: width, beta: 0,
                                                    dxBase + first * inputChannels * inputTime, ldc: time)
                                                continue
                                            }
                                            let groupWidth = examples.count * time
                                            sgemm(
                                                transA: true, transB: false, m: rows, n: groupWidth,
                                                k: outputChannels, wBase, lda: rows, gradient + first * time,
                                                ldb: width, beta: 0, dColumns, ldc: groupWidth)
                                            for (e, b) in examples.enumerated() {
                                                col2im(
                                                    dColumns + e * time, ld: groupWidth, time: time,
                                                    inputTime: inputTime, taps: taps,
                                                    into: dxBase + b * inputChannels * inputTime)
                                            }
                                        }
                                    }
                                }
                                // Split over the columns' rows (the GEMM's n): each thread packs only its part
                                // of the large column matrix (and all of the gradient: more parts cost more
                                // packing — TCNBench with 4 parts instead of 2: 2–3 % slower on A, B and C). The
                                // parts depend on the shape alone: OpenBLAS sums some entries in another order when
                                // the split moves (even at multiples of 16), so a thread-dependent split changed bits.
                                let parts = extended >= 256 ? 4 : extended >= 32 ? 2 : 1
                                let partWork = outputChannels * width * (extended / parts)
                                TCNThreads.forEachRange(parts, grain: TCNThreads.grain(itemWork: partWork)) { range in
                                    for p in range {
                                        let lo = p * extended / parts
                                        let hi = (p + 1) * extended / parts
                                        sgemm(
                                            transA: false, transB: true, m: outputChannels, n: hi - lo, k: width,
                                            gradient, lda: width, columns + lo * width, ldb: width, beta: 0,
                                            dwBase + lo, ldc: extended)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        var dW = [Float](repeating: 0, count: outputChannels * rows)
        var dBias = [Float](repeating: 0, count: outputChannels)
        for o in 0..<outputChannels {
            for r in 0..<rows { dW[o * rows + r] = dWExtended[o * extended + r] }
            if extended > rows { dBias[o] = dWExtended[o * extended + rows] }
        }
        accumulateParameterGradients(dW: dW, dBias: bias == nil ? nil : dBias, prefix: prefix, gradients: &gradients)
        guard needInputGradient else { return Tensor(zeros: [batch, inputChannels, inputTime]) }
        return Tensor(uncheckedShape: [batch, inputChannels, inputTime], data: dx)
    }

    /// Adds the parameter gradients under `prefix` given the effective filter's gradient `dW` (`[out, in, k]`) and the
    /// bias gradient (`nil` without a bias): `weight`, or `weight_g` and `weight_v` through the weight norm.
    func accumulateParameterGradients(dW: [Float], dBias: [Float]?, prefix: String, gradients: inout TensorDictionary) {
        let rows = inputChannels * kernelSize
        if let dBias {
            gradients.accumulate(prefix + "bias", Tensor(uncheckedShape: [outputChannels], data: dBias))
        }
        if let weightGain {
            // w = g·v/‖v‖: dg = (dW·v)/‖v‖, dv = (g/‖v‖)(dW − (dg/‖v‖)·v).
            var dG = [Float](repeating: 0, count: outputChannels)
            var dV = [Float](repeating: 0, count: dW.count)
            for o in 0..<outputChannels {
                let norm = directionNorm(o)
                var dot: Float = 0
                for i in (o * rows)..<((o + 1) * rows) { dot += dW[i] * weight.data[i] }
                let dg = dot / norm
                dG[o] = dg
                let scale = weightGain.data[o] / norm
                for i in (o * rows)..<((o + 1) * rows) { dV[i] = scale * (dW[i] - dg / norm * weight.data[i]) }
            }
            gradients.accumulate(prefix + "weight_g", Tensor(uncheckedShape: [outputChannels, 1, 1], data: dG))
            gradients.accumulate(prefix + "weight_v", Tensor(uncheckedShape: weight.shape, data: dV))
        } else {
            gradients.accumulate(prefix + "weight", Tensor(uncheckedShape: weight.shape, data: dW))
        }
    }

    /// The adjoint of `im2col` for one example: scatter-adds column gradients (`[in · k, time]`, row stride `ld`)
    /// into `dx` `[in, inputTime]`.
    func col2im(
        _ columns: UnsafePointer<Float>, ld: Int, time: Int, inputTime: Int, taps: Taps,
        into dx: UnsafeMutablePointer<Float>
    ) {
        for i in 0..<inputChannels {
            for j in 0..<kernelSize {
                let (shift, lo, hi) = inside(tap: j, taps, time: time, inputTime: inputTime)
                guard lo < hi else { continue }
                let src = columns + (i * kernelSize + j) * ld
                let dst = dx + i * inputTime + shift
                if taps.step == 1 {
                    tcn_add(dst + lo, src + lo, hi - lo)
                } else {
                    for t in lo..<hi { dst[t * taps.step] += src[t] }
                }
            }
        }
    }

    /// The parameters under `prefix` as `state_dict` keys: `weight` or `weight_g` + `weight_v`, and `bias`.
    func namedParameters(prefix: String, into dictionary: inout TensorDictionary) {
        if let weightGain {
            dictionary[prefix + "weight_g"] = weightGain
            dictionary[prefix + "weight_v"] = weight
        } else {
            dictionary[prefix + "weight"] = weight
        }
        if let bias { dictionary[prefix + "bias"] = bias }
    }

    /// Replaces the parameters found under `prefix` in `dictionary` (shapes are checked by the caller).
    mutating func update(from dictionary: TensorDictionary, prefix: String) {
        if weightGain != nil {
            if let g = dictionary[prefix + "weight_g"] { weightGain = g }
            if let v = dictionary[prefix + "weight_v"] { weight = v }
        } else if let w = dictionary[prefix + "weight"] {
            weight = w
        }
        if bias != nil, let b = dictionary[prefix + "bias"] { bias = b }
    }
}
