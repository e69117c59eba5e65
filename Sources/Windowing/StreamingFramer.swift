/// Cuts a signal that arrives in chunks into exactly the windows `Framer` would cut from the whole signal.
///
/// Chunks are planar `[channels, chunkFrames]` of any size, including 0 and 1 frame; the channel count is fixed
/// at creation. Each `push` returns the windows that became complete — same samples and same provenance
/// (global window indices, `firstSample` from the start of the stream) as the offline framer — and `finish()`
/// returns the rest, including the right-padded tail windows whose existence depends on the final length.
///
/// ```
/// emitted by push    window m with first(m) + length ≤ samples seen, and whose left padding is settled
/// emitted by finish  windows m < frameCount(forLength: total samples) not yet emitted
/// ```
/// Left padding is settled once enough samples have arrived that it cannot depend on the stream's final length
/// (`reflect` needs `-first(m) + 1` samples, `symmetric`/`kaldiMirror` `-first(m)`, `edge` 1, constants none);
/// until then the window waits (possibly until `finish()`, e.g. a one-sample stream in `reflect` mode).
///
/// Memory is bounded: between calls at most `length + hop` samples per channel are kept (`bufferedFrames`).
/// Concatenating all returned batches (`FrameBatch.append(contentsOf:)`) equals
/// `Framer(options).frames(of: wholeSignal, channels:)`.
public struct StreamingFramer: Sendable {
    /// The window length, hop and boundary mode.
    public let options: FrameOptions
    /// Channels of every chunk.
    public let channels: Int
    /// Retained samples, one array per channel; `buffer[c][k]` is sample `bufferStart + k`.
    private var buffer: [[Float]]
    private var bufferStart = 0
    /// Samples per channel received so far.
    public private(set) var samplesReceived = 0
    /// Index of the next window to emit (equals the number of windows emitted so far).
    public private(set) var nextWindow = 0
    /// Whether `finish()` has been called.
    public private(set) var isFinished = false

    /// Creates a streaming framer.
    ///
    /// - Parameters:
    ///   - options: window length, hop and boundary mode.
    ///   - channels: channels of every chunk, ≥ 1.
    /// - Throws: `WindowingError.invalidParameter` when `channels < 1`.
    public init(_ options: FrameOptions, channels: Int) throws {
        guard channels >= 1 else {
            throw WindowingError.invalidParameter(name: "channels", value: "\(channels)", reason: "must be ≥ 1")
        }
        self.options = options
        self.channels = channels
        self.buffer = Array(repeating: [], count: channels)
    }

    /// Samples per channel currently retained (at most `length + hop` between calls).
    public var bufferedFrames: Int { buffer[0].count }

    /// Forgets everything received, ready for a new stream with the same options and channels.
    public mutating func reset() {
        buffer = Array(repeating: [], count: channels)
        bufferStart = 0
        samplesReceived = 0
        nextWindow = 0
        isFinished = false
    }

    /// Adds a planar chunk `[channels, chunkFrames]` and returns the windows it completes.
    ///
    /// - Throws: `WindowingError.shapeMismatch` when `chunk.count` is not a multiple of `channels`,
    ///   `.streamFinished` after `finish()`.
    public mutating func push(_ chunk: [Float]) throws -> FrameBatch {
        try chunk.withUnsafeBufferPointer { try push($0) }
    }

    /// Adds a planar chunk `[channels, chunkFrames]` held in caller memory and returns the windows it completes.
    ///
    /// - Throws: as `push(_:)` for arrays.
    public mutating func push(_ chunk: UnsafeBufferPointer<Float>) throws -> FrameBatch {
        guard !isFinished else { throw WindowingError.streamFinished }
        let frames = try planarFrames(count: chunk.count, channels: channels, name: "chunk")
        if frames > 0 {
            for c in 0..<channels {
                buffer[c].append(contentsOf: UnsafeBufferPointer(rebasing: chunk[(c * frames)..<((c + 1) * frames)]))
            }
            samplesReceived += frames
        }
        var end = nextWindow
        while isReadyBeforeEnd(end) { end += 1 }
        let batch = emit(upTo: end)
        trim()
        return batch
    }

    /// Ends the stream and returns the remaining windows (those touching the end, and any still waiting).
    ///
    /// - Throws: `WindowingError.streamFinished` when called twice.
    public mutating func finish() throws -> FrameBatch {
        guard !isFinished else { throw WindowingError.streamFinished }
        isFinished = true
        let batch = emit(upTo: max(nextWindow, options.frameCount(forLength: samplesReceived)))
        buffer = Array(repeating: [], count: channels)
        bufferStart = samplesReceived
        return batch
    }

    /// Whether window `m` can be emitted now with the content and provenance it will have offline.
    private func isReadyBeforeEnd(_ m: Int) -> Bool {
        let first = options.firstSample(ofWindow: m)
        // A window wholly inside the samples seen exists for every final length ≥ samplesReceived (each mode's
        // count is monotone and counts such windows), so only its left padding can still be unsettled.
        return first + options.length <= samplesReceived
            && samplesReceived >= options.boundary.samplesNeededForLeftPadding(first: first)
    }

    /// Copies windows `nextWindow ..< end` out of the buffer, reading the signal as `samplesReceived` long.
    private mutating func emit(upTo end: Int) -> FrameBatch {
        let count = end - nextWindow
        let length = options.length
        guard count > 0 else { return FrameBatch(emptyWithChannels: channels, length: length) }
        let n = samplesReceived
        let total = count * channels * length
        // Every element is written by fillWindow, so the array is not zero-filled first.
        let out = [Float](unsafeUninitializedCapacity: total) { dest, initialized in
            guard let base = dest.baseAddress else { return }
            for k in 0..<count {
                let first = options.firstSample(ofWindow: nextWindow + k)
                for c in 0..<channels {
                    buffer[c].withUnsafeBufferPointer { source in
                        fillWindow(
                            base + (k * channels + c) * length, first: first, length: length,
                            boundary: options.boundary, source: source, sourceStart: bufferStart, signalLength: n)
                    }
                }
            }
            initialized = total
        }
        let provenance = (nextWindow..<end).map { options.provenance(ofWindow: $0, signalLength: n) }
        nextWindow = end
        return FrameBatch(unchecked: count, channels: channels, length: length, samples: out, provenance: provenance)
    }

    /// Drops samples no future window can read.
    ///
    /// Future windows read from `first(nextWindow)` on, and right-edge mirroring at `finish()` reaches at most
    /// `length` samples back from the end; samples before 0 are never stored. Dropping happens only once at
    /// least `hop` samples are dead, so a stream of one-sample chunks costs amortised O(length / hop) per sample.
    private mutating func trim() {
        let keepFrom = max(0, min(options.firstSample(ofWindow: nextWindow), samplesReceived - options.length))
        let dead = keepFrom - bufferStart
        guard dead >= options.hop || (dead > 0 && buffer[0].count > options.length + options.hop) else { return }
        for c in 0..<channels { buffer[c].removeFirst(dead) }
        bufferStart = keepFrom
    }
}
