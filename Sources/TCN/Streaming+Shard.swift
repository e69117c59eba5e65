import COpenBLAS

// The compute side of `TCNStream`: the state of one group of streams (`StreamShard`) and the per-step kernel
// that runs the repacked model (`StreamPlan`, in `Streaming+Plan.swift`) over it.
//
// Layout: every activation is time-major with channels last, `[time, streams, channels]`, so that one time step
// of all of a shard's streams is one contiguous `[streams, channels]` matrix and `n` consecutive steps are one
// `[n · streams, channels]` matrix. A convolution over `n` new steps is then `k` GEMMs reading its input history
// in place, one per tap (`Y[n·S, out] += X_j[n·S, in] · W_jᵀ[in, out]`, `X_j` the input `(k − 1 − j) · d` steps
// back), with no column building; the result is finished (bias, norm, activation, residual) in one pass that
// writes straight into the next layer's history.
//
// Each convolution input has a ring of `history + pieceSteps` time slots, where `history = (k − 1) · d`: a step
// is written once and never moved. Slot of step `p` is `p mod capacity`; a run of steps wraps at most once, so a
// tap's GEMM is split in at most two. Chunks longer than `pieceSteps` are processed in pieces.

/// The state of `streams` consecutive streams (`first ..< first + streams` of the `TCNStream`): one ring per
/// convolution input, the mean-pool running sums, and scratch space, all allocated once.
struct StreamShard: Sendable {
    /// The first stream of the shard in the whole batch.
    let first: Int
    /// Streams in this shard `S`.
    let streams: Int
    /// Most steps processed in one piece (ring slack).
    let pieceSteps: Int
    /// Steps processed since creation (all rings share this clock; a reset clears rows, not the clock).
    private var position = 0
    /// Every ring, `[capacity, S, channels]` each, at `ringOffsets`.
    private var rings: [Float]
    private let ringOffsets: [Int]
    private let ringCapacities: [Int]
    /// Mean-pool running feature sums `[S, featureChannels]`.
    private var featureSums: [Float]
    /// Work space: two `[piece · S, maxChannels]` stage buffers, the features and the skip sum
    /// `[piece · S, featureChannels]`, and with residual-branch skips a `[piece · S, maxChannels]` branch buffer.
    private var scratch: [Float]

    init(plan: StreamPlan, first: Int, streams: Int) {
        self.first = first
        self.streams = streams
        // Pieces of about 256 GEMM rows, 1 to 64 steps: rings stay short (their slots cycle through the cache) and
        // long chunks still make GEMMs of a few hundred rows. Two shards of 32 streams ran 87 µs/step with
        // 2,048-row pieces and 65 µs/step with 256-row ones (TCNBench config C, one thread).
        pieceSteps = max(1, min(64, 256 / streams))
        var offsets: [Int] = []
        var capacities: [Int] = []
        var total = 0
        for ring in plan.rings {
            offsets.append(total)
            capacities.append(ring.history + pieceSteps)
            total += (ring.history + pieceSteps) * streams * ring.channels
        }
        rings = [Float](repeating: 0, count: total)
        ringOffsets = offsets
        ringCapacities = capacities
        featureSums = [Float](repeating: 0, count: plan.meanPool ? streams * plan.featureChannels : 0)
        let rows = pieceSteps * streams
        let branch = plan.branchSkips ? plan.maxChannels : 0
        scratch = [Float](repeating: 0, count: rows * (2 * plan.maxChannels + 2 * plan.featureChannels + branch))
    }

    /// Zeroes stream `local` (`0 ..< streams`) in every ring slot and its running sums.
    mutating func reset(local: Int, plan: StreamPlan) {
        let layout = plan.rings
        rings.withUnsafeMutableBufferPointer { r in
            guard let base = r.baseAddress else { return }
            for (i, ring) in layout.enumerated() {
                for slot in 0..<ringCapacities[i] {
                    (base + ringOffsets[i] + (slot * streams + local) * ring.channels)
                        .update(repeating: 0, count: ring.channels)
                }
            }
        }
        let width = plan.featureChannels
        if !featureSums.isEmpty {
            for c in 0..<width { featureSums[local * width + c] = 0 }
        }
    }

    /// Runs `n` steps of this shard's streams.
    ///
    /// - Parameters:
    ///   - chunk: the whole chunk `[B, inputChannels, n]`.
    ///   - output: the whole output `[B, outputs, n]` (only this shard's rows are written).
    ///   - stepsBefore: per stream of the whole batch, steps processed before this chunk (mean-pool counts).
    mutating func process(
        plan: StreamPlan, chunk: UnsafePointer<Float>, n: Int, output: UnsafeMutablePointer<Float>,
        stepsBefore: UnsafePointer<Int>
    ) {
        let (shardStreams, firstStream, piece) = (streams, first, pieceSteps)
        let (offsets, capacities) = (ringOffsets, ringCapacities)
        var clock = position
        rings.withUnsafeMutableBufferPointer { ringBuffer in
            scratch.withUnsafeMutableBufferPointer { scratchBuffer in
                featureSums.withUnsafeMutableBufferPointer { sums in
                    plan.parameters.withUnsafeBufferPointer { parameterBuffer in
                        guard let ringBase = ringBuffer.baseAddress, let scratchBase = scratchBuffer.baseAddress,
                            let p = parameterBuffer.baseAddress
                        else { return }
                        let kernel = ShardKernel(
                            plan: plan, p: p, streams: shardStreams, first: firstStream, ringBase: ringBase,
                            ringOffsets: offsets, ringCapacities: capacities, scratch: scratchBase, pieceSteps: piece,
                            sums: sums.baseAddress)
                        var t0 = 0
                        while t0 < n {
                            let m = min(piece, n - t0)
                            kernel.run(
                                clock: clock, steps: m, t0: t0, chunk: chunk, n: n, output: output,
                                stepsBefore: stepsBefore)
                            clock += m
                            t0 += m
                        }
                    }
                }
            }
        }
        position = clock
    }
}

/// One ring's storage: `capacity` slots of `[S, channels]`.
private struct Ring {
    let base: UnsafeMutablePointer<Float>
    let capacity: Int

    /// The slot of absolute step `step` (which may be negative before the first steps: still-zero slots).
    @inline(__always)
    func slot(_ step: Int) -> Int {
        let s = step % capacity
        return s < 0 ? s + capacity : s
    }
}

/// The per-piece computation of one shard over raw pointers (allocates nothing).
private struct ShardKernel {
    let plan: StreamPlan
    /// `plan.parameters`.
    let p: UnsafePointer<Float>
    let streams: Int
    let first: Int
    let ringBase: UnsafeMutablePointer<Float>
    let ringOffsets: [Int]
    let ringCapacities: [Int]
    let stageA: UnsafeMutablePointer<Float>
    let stageB: UnsafeMutablePointer<Float>
    let features: UnsafeMutablePointer<Float>
    let skipSum: UnsafeMutablePointer<Float>
    /// A block's residual branch over the piece (residual-branch skips only).
    let branch: UnsafeMutablePointer<Float>
    let sums: UnsafeMutablePointer<Float>?

    init(
        plan: StreamPlan, p: UnsafePointer<Float>, streams: Int, first: Int, ringBase: UnsafeMutablePointer<Float>,
        ringOffsets: [Int], ringCapacities: [Int], scratch: UnsafeMutablePointer<Float>, pieceSteps: Int,
        sums: UnsafeMutablePointer<Float>?
    ) {
        self.plan = plan
        self.p = p
        self.streams = streams
        self.first = first
        self.ringBase = ringBase
        self.ringOffsets = ringOffsets
        self.ringCapacities = ringCapacities
        let rows = pieceSteps * streams
        stageA = scratch
        stageB = scratch + rows * plan.maxChannels
        features = stageB + rows * plan.maxChannels
        skipSum = features + rows * plan.featureChannels
        branch = skipSum + rows * plan.featureChannels
        self.sums = sums
    }

    /// Ring `i` (block `i / 2`'s input for even `i`, its middle for odd `i`).
    @inline(__always)
    func ring(_ i: Int) -> Ring { Ring(base: ringBase + ringOffsets[i], capacity: ringCapacities[i]) }

    /// `out[m · S, conv.out] = Σ_j X_j · W_jᵀ` for steps `clock ..< clock + m` of `ring` (no bias).
    func convolve(
        _ conv: StreamConvolution, ring: Ring, clock: Int, steps m: Int, into out: UnsafeMutablePointer<Float>
    ) {
        let (inp, outC) = (conv.inputChannels, conv.outputChannels)
        let slotSize = streams * inp
        for j in 0..<conv.kernelSize {
            let start = ring.slot(clock - (conv.kernelSize - 1 - j) * conv.dilation)
            let firstRun = min(m, ring.capacity - start)
            let w = p + conv.weight + j * inp * outC
            let beta: Float = j == 0 ? 0 : 1
            multiply(
                rows: firstRun * streams, inputs: inp, outputs: outC, ring.base + start * slotSize, w, beta: beta, out)
            if firstRun < m {
                multiply(
                    rows: (m - firstRun) * streams, inputs: inp, outputs: outC, ring.base, w, beta: beta,
                    out + firstRun * streams * outC)
            }
        }
    }

    /// Over `rows` rows of `channels`: `y = act(norm(x + bias))` (`y` may be `x`). Without a norm, one fused pass.
    func finish(
        _ x: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>, rows: Int, channels: Int, bias: Int,
        norm: StreamNormalization, activation: Activation
    ) {
        let b = p + bias
        if case .none = norm, activation == .relu || activation == .identity {
            let relu = activation == .relu
            for r in 0..<rows {
                let (row, out) = (x + r * channels, y + r * channels)
                if relu {
                    for c in 0..<channels {
                        let v = row[c] + b[c]
                        out[c] = v < 0 ? 0 : v
                    }
                } else {
                    for c in 0..<channels { out[c] = row[c] + b[c] }
                }
            }
            return
        }
        for r in 0..<rows {
            let (row, out) = (x + r * channels, y + r * channels)
            for c in 0..<channels { out[c] = row[c] + b[c] }
        }
        switch norm {
        case .none: break
        case .batch(let mean, let inverseStd, let gamma, let beta):
            let (mu, s, g, be) = (p + mean, p + inverseStd, p + gamma, p + beta)
            for r in 0..<rows {
                let row = y + r * channels
                for c in 0..<channels { row[c] = g[c] * ((row[c] - mu[c]) * s[c]) + be[c] }
            }
        case .layer(let gamma, let beta, let epsilon):
            let (g, be) = (p + gamma, p + beta)
            let count = Float(channels)
            for r in 0..<rows {
                let row = y + r * channels
                var sum: Float = 0
                for c in 0..<channels { sum += row[c] }
                let mu = sum / count
                var v: Float = 0
                for c in 0..<channels {
                    let d = row[c] - mu
                    v += d * d
                }
                let inv = 1 / (v / count + epsilon).squareRoot()
                for c in 0..<channels { row[c] = g[c] * ((row[c] - mu) * inv) + be[c] }
            }
        }
        activate(y, count: rows * channels, activation)
    }

    /// Adds block `i`'s residual branch (`branch`, `[rows, width]`) to the skip sum, through its 1×1 projection
    /// when it has one (computed in `stageA`).
    func addBranchToSkipSum(block i: Int, width: Int, rows: Int) {
        let features = plan.featureChannels
        guard let projection = plan.skipProjections[i] else {
            for e in 0..<(rows * features) { skipSum[e] += branch[e] }
            return
        }
        multiply(rows: rows, inputs: width, outputs: features, branch, p + projection.weight, beta: 0, stageA)
        let bias = p + projection.bias
        for r in 0..<rows {
            let (sum, y) = (skipSum + r * features, stageA + r * features)
            for c in 0..<features { sum[c] += y[c] + bias[c] }
        }
    }

    /// `y = act(y + residual (+ bias))` over `count` values (`bias` `[channels]` repeats per row, or `nil`).
    func addResidual(
        _ y: UnsafeMutablePointer<Float>, _ residual: UnsafePointer<Float>, bias: UnsafePointer<Float>?, rows: Int,
        channels: Int, activation: Activation
    ) {
        if let bias {
            for r in 0..<rows {
                let (row, res) = (y + r * channels, residual + r * channels)
                for c in 0..<channels { row[c] += res[c] + bias[c] }
            }
        } else {
            for e in 0..<(rows * channels) { y[e] += residual[e] }
        }
        activate(y, count: rows * channels, activation)
    }

    /// Writes the steps `clock ..< clock + m` of this shard's streams from the chunk into ring 0.
    func load(chunk: UnsafePointer<Float>, n: Int, t0: Int, clock: Int, steps m: Int) {
        let input = ring(0)
        let inp = plan.inputChannels
        for t in 0..<m {
            let slot = input.base + input.slot(clock + t) * streams * inp
            for s in 0..<streams {
                let source = chunk + (first + s) * inp * n + t0 + t
                for c in 0..<inp { slot[s * inp + c] = source[c * n] }
            }
        }
    }

    /// One piece of `m ≤ pieceSteps` steps starting at chunk step `t0`.
    func run(
        clock: Int, steps m: Int, t0: Int, chunk: UnsafePointer<Float>, n: Int, output: UnsafeMutablePointer<Float>,
        stepsBefore: UnsafePointer<Int>
    ) {
        load(chunk: chunk, n: n, t0: t0, clock: clock, steps: m)
        let rows = m * streams
        if plan.skipConnections { skipSum.update(repeating: 0, count: rows * plan.featureChannels) }
        for (i, block) in plan.blocks.enumerated() {
            let input = ring(2 * i)
            let middle = ring(2 * i + 1)
            let width = block.conv1.outputChannels
            let stepSize = streams * width
            // conv1 → norm → act, into the middle ring.
            convolve(block.conv1, ring: input, clock: clock, steps: m, into: stageA)
            for t in 0..<m {
                finish(
                    stageA + t * stepSize, into: middle.base + middle.slot(clock + t) * stepSize, rows: streams,
                    channels: width, bias: block.conv1.bias, norm: block.norm1, activation: block.activation)
            }
            // conv2 → norm → act, + residual, final activation, into the next ring (or the features).
            convolve(block.conv2, ring: middle, clock: clock, steps: m, into: stageA)
            if let down = block.downsample {
                convolve(down, ring: input, clock: clock, steps: m, into: stageB)
            }
            let next = i + 1 < plan.blocks.count ? ring(2 * i + 2) : nil
            let keepBranch = plan.branchSkips && next != nil
            for t in 0..<m {
                let target = next.map { $0.base + $0.slot(clock + t) * stepSize } ?? features + t * stepSize
                finish(
                    stageA + t * stepSize, into: target, rows: streams, channels: width, bias: block.conv2.bias,
                    norm: block.norm2, activation: block.activation)
                if keepBranch { (branch + t * stepSize).update(from: target, count: stepSize) }
                if let down = block.downsample {
                    addResidual(
                        target, stageB + t * stepSize, bias: p + down.bias, rows: streams, channels: width,
                        activation: block.finalActivation)
                } else {
                    addResidual(
                        target, input.base + input.slot(clock + t) * stepSize, bias: nil, rows: streams,
                        channels: width, activation: block.finalActivation)
                }
            }
            if keepBranch { addBranchToSkipSum(block: i, width: width, rows: rows) }
        }
        let width = plan.featureChannels
        if plan.skipConnections {
            for (i, projection) in plan.skipProjections.enumerated() {
                let isLast = i + 1 == plan.blocks.count
                if plan.branchSkips && !isLast { continue }  // added with the block's branch above
                if let projection {
                    // Block outputs other than the last live in the next block's input ring.
                    convolve(projection, ring: ring(2 * i + 2), clock: clock, steps: m, into: stageB)
                    let bias = p + projection.bias
                    for r in 0..<rows {
                        let (sum, y) = (skipSum + r * width, stageB + r * width)
                        for c in 0..<width { sum[c] += y[c] + bias[c] }
                    }
                } else if isLast {
                    for e in 0..<(rows * width) { skipSum[e] += features[e] }
                } else {
                    let output = ring(2 * i + 2)
                    for t in 0..<m {
                        let y = output.base + output.slot(clock + t) * streams * width
                        let sum = skipSum + t * streams * width
                        for e in 0..<(streams * width) { sum[e] += y[e] }
                    }
                }
            }
            features.update(from: skipSum, count: rows * width)
            activate(features, count: rows * width, plan.skipActivation)
        }
        if plan.meanPool, let sums {
            for t in 0..<m {
                for s in 0..<streams {
                    let count = Float(stepsBefore[first + s] + t0 + t + 1)
                    let (row, sum) = (features + (t * streams + s) * width, sums + s * width)
                    for c in 0..<width {
                        sum[c] += row[c]
                        row[c] = sum[c] / count
                    }
                }
            }
        }
        // Head: [m·S, features] · Wᵀ + bias → output [B, outputs, n].
        let head = plan.head
        let outputs = head.outputChannels
        multiply(rows: rows, inputs: width, outputs: outputs, features, p + head.weight, beta: 0, stageB)
        let bias = p + head.bias
        for t in 0..<m {
            for s in 0..<streams {
                let row = stageB + (t * streams + s) * outputs
                let target = output + (first + s) * outputs * n + t0 + t
                for o in 0..<outputs { target[o * n] = row[o] + bias[o] }
            }
        }
    }
}

/// `y[rows, outputs] = x[rows, inputs] · w[inputs, outputs] + beta · y` (all contiguous): OpenBLAS `sgemm`, or
/// `sgemv` for a single row (one stream, one step), which skips GEMM's packing and buffer allocation (measured
/// 0.07 vs 0.18 µs for 32 × 32 on the test machine).
private func multiply(
    rows: Int, inputs: Int, outputs: Int, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, beta: Float,
    _ y: UnsafeMutablePointer<Float>
) {
    guard rows == 1, inputs > 0 else {
        sgemm(
            transA: false, transB: false, m: rows, n: outputs, k: inputs, x, lda: inputs, w, ldb: outputs,
            beta: beta, y, ldc: outputs)
        return
    }
    // Zeroed here rather than by beta = 0: OpenBLAS versions whose scal multiplies by 0 would let a stale NaN in.
    if beta == 0 { y.update(repeating: 0, count: outputs) }
    cblas_sgemv(
        CblasRowMajor, CblasTrans, blasint(inputs), blasint(outputs), 1, w, blasint(outputs), x, 1, 1, y, 1)
}

/// `x = act(x)` over `count` values, with a vectorisable loop for ReLU.
private func activate(_ x: UnsafeMutablePointer<Float>, count: Int, _ activation: Activation) {
    switch activation {
    case .identity: return
    case .relu: for i in 0..<count { x[i] = x[i] < 0 ? 0 : x[i] }
    default: for i in 0..<count { x[i] = activation.apply(x[i]) }
    }
}
