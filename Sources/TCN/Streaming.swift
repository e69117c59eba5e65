/// Step-by-step inference for `B` independent causal streams, keeping for every convolution the last
/// `(kernelSize − 1) · dilation` input steps of each stream, so each new chunk costs only its own steps.
///
/// ```
/// var stream = try TCNStream(model: model, streams: 4)
/// let y = try stream.process(chunk)      // chunk [4, inputChannels, n] → [4, outputs, n]
/// var saved = stream                     // a copy is a snapshot of every stream's state (value semantics)
/// ```
/// Output step `t` equals the offline model's per-step output at `t` on the concatenated input (evaluation
/// mode): `.perStep` heads give the per-step outputs, `.lastStep` heads the output the model would give if the
/// sequence ended at `t`, `.meanPool` heads the output for the mean over steps `0…t`.
///
/// How it runs (`Streaming+Plan.swift`, `Streaming+Shard.swift`): the model is repacked once for per-tap GEMMs
/// over a time-major `[time, streams, channels]` layout; each convolution input lives in a ring of time slots that
/// is written once per step and never shifted; nothing is allocated per call but the returned tensor. Streams
/// are split into shards of at most `streamsPerShard` (sizes depend only on `streams`), which run in parallel on
/// `TCNThreads`: every stream's arithmetic is the same for any thread count, so outputs are bit-identical across
/// thread counts.
/// - Complexity: per step and stream, one multiply-add per weight of the backbone and head (the offline cost of
///   one step), plus O(channels) element-wise work.
public struct TCNStream: Sendable {
    /// Most streams per shard, the unit of parallel work. On TCNBench's streaming config C (6 blocks × 32, one
    /// step per call, 2 threads, on the shared 2-core test machine) 64 streams took 53–60 µs/step in one shard and
    /// 68–83 µs/step in two shards of 32 (65 µs on one thread: the per-call thread hand-off and the busy second
    /// core cost more than the halved GEMMs gain), so 64 streams stay in one shard. At 128 streams two shards of 64
    /// ran 109–115 µs/step against 105–240 µs/step in one shard (load average 9).
    static let streamsPerShard = 64

    /// The model as run (evaluation mode; weight-normalised filters folded into plain `weight`s).
    public let model: TCNModel
    /// Number of independent streams `B`.
    public let streams: Int
    /// Steps processed so far per stream (since its last reset).
    public private(set) var stepsProcessed: [Int]
    /// The model repacked for streaming.
    private let plan: StreamPlan
    /// Consecutive groups of streams, each with its own rings.
    private var shards: [StreamShard]

    /// Creates `streams` streams, each starting from zeros (as the offline model's left padding).
    ///
    /// Streams are split into `⌈streams / 64⌉` shards of near-equal size (run in parallel when there are two or
    /// more); the split depends only on `streams`, never on the thread count.
    /// - Throws: `TCNError.invalidParameter` for a non-causal model (its outputs need future input) or
    ///   `streams < 1`; `TCNError.shapeMismatch` naming the `state_dict` key of a layer whose width does not chain
    ///   with its neighbours (possible only after replacing a layer of a built model by hand).
    public init(model: TCNModel, streams: Int) throws {
        guard model.configuration.backbone.padding == .causal else {
            throw TCNError.invalidParameter(
                name: "padding", value: "same", reason: "streaming needs a causal model")
        }
        guard streams >= 1 else {
            throw TCNError.invalidParameter(name: "streams", value: "\(streams)", reason: "must be ≥ 1")
        }
        try StreamPlan.validate(model)
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
        let plan = StreamPlan(model: folded)
        self.plan = plan
        let count = (streams + Self.streamsPerShard - 1) / Self.streamsPerShard
        shards = (0..<count).map { i in
            let first = i * streams / count
            return StreamShard(plan: plan, first: first, streams: (i + 1) * streams / count - first)
        }
    }

    /// Clears one stream's context, as if it started anew.
    ///
    /// - Throws: `TCNError.invalidParameter` for a stream index outside `0..<streams`.
    public mutating func reset(stream: Int) throws {
        guard (0..<streams).contains(stream) else {
            throw TCNError.invalidParameter(name: "stream", value: "\(stream)", reason: "must be in 0..<\(streams)")
        }
        for i in shards.indices where (shards[i].first..<(shards[i].first + shards[i].streams)).contains(stream) {
            shards[i].reset(local: stream - shards[i].first, plan: plan)
        }
        stepsProcessed[stream] = 0
    }

    /// Feeds the next `n` steps of every stream.
    ///
    /// - Parameter chunk: `[streams, inputChannels, n]`, `n ≥ 0`.
    /// - Returns: `[streams, outputs, n]`.
    /// - Throws: `TCNError.shapeMismatch` for a wrongly shaped chunk.
    public mutating func process(_ chunk: Tensor) throws -> Tensor {
        let inputChannels = plan.inputChannels
        guard chunk.shape.count == 3, chunk.shape[0] == streams, chunk.shape[1] == inputChannels else {
            throw TCNError.shapeMismatch(
                name: "stream chunk", expected: [streams, inputChannels, chunk.shape.last ?? 0], actual: chunk.shape)
        }
        let n = chunk.shape[2]
        let outputs = plan.outputs
        guard n > 0 else { return Tensor(zeros: [streams, outputs, 0]) }
        let plan = plan
        // Every output element is written by exactly one shard.
        let y = [Float](unsafeUninitializedCapacity: streams * outputs * n) { out, initialized in
            chunk.data.withUnsafeBufferPointer { x in
                stepsProcessed.withUnsafeBufferPointer { before in
                    shards.withUnsafeMutableBufferPointer { shards in
                        guard let xBase = x.baseAddress, let yBase = out.baseAddress, let steps = before.baseAddress
                        else { return }
                        TCNThreads.forEach(shards.count) { i in
                            shards[i].process(plan: plan, chunk: xBase, n: n, output: yBase, stepsBefore: steps)
                        }
                    }
                }
            }
            initialized = streams * outputs * n
        }
        for b in 0..<streams { stepsProcessed[b] += n }
        return Tensor(uncheckedShape: [streams, outputs, n], data: y)
    }
}
