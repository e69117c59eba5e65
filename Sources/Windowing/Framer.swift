/// Cuts a whole planar signal into windows at once: librosa.util.frame / tf.signal.frame / Kaldi framing.
///
/// Input is planar Float32 `[channels, frames]` (AudioIO's `Signal.samples`), so
/// `framer.frames(of: signal.samples, channels: signal.channels)` needs no copy of the input. `frames` returns a
/// contiguous `[windows, channels, length]` batch; `view` gives zero-copy access to each window instead.
///
/// ```swift
/// let framer = Framer(try FrameOptions(length: 400, hop: 160, boundary: .center(.reflect)))
/// let batch = try framer.frames(of: signal.samples, channels: signal.channels)
/// batch.window(3, channel: 0)            // 400 samples; batch.provenance[3].firstSample == 3*160 - 200
/// ```
/// Empty input, or input shorter than one window in `.valid` mode, gives a batch of 0 windows (no error).
public struct Framer: Sendable {
    /// The window length, hop and boundary mode.
    public let options: FrameOptions

    /// Creates a framer for `options`.
    public init(_ options: FrameOptions) {
        self.options = options
    }

    /// Every window of a planar signal, copied into one contiguous `[windows, channels, length]` array.
    ///
    /// - Parameters:
    ///   - samples: planar `[channels, frames]`; `samples.count` must be a multiple of `channels`.
    ///   - channels: number of channels, ≥ 1 (0 is accepted only with no samples, like an empty `Signal`).
    /// - Returns: `options.frameCount(forLength: frames)` windows with their provenance.
    /// - Throws: `WindowingError.invalidParameter` for a negative channel count, `.shapeMismatch` when
    ///   `samples.count` is not a multiple of `channels`.
    /// - Complexity: O(windows · channels · length).
    public func frames(of samples: [Float], channels: Int) throws -> FrameBatch {
        try view(of: samples, channels: channels).frames()
    }

    /// A zero-copy view of a planar signal's windows (the array is retained, not copied).
    ///
    /// - Parameters:
    ///   - samples: planar `[channels, frames]`; `samples.count` must be a multiple of `channels`.
    ///   - channels: number of channels, ≥ 1 (0 is accepted only with no samples).
    /// - Throws: as `frames(of:channels:)`.
    public func view(of samples: [Float], channels: Int) throws -> FrameView {
        let frames = try planarFrames(count: samples.count, channels: channels, name: "samples")
        return FrameView(options: options, samples: samples, channels: channels, signalLength: frames)
    }
}

/// Frames per channel of a planar buffer, after checking its shape.
func planarFrames(count: Int, channels: Int, name: String) throws -> Int {
    guard channels >= 0 else {
        throw WindowingError.invalidParameter(name: "channels", value: "\(channels)", reason: "must be ≥ 1")
    }
    guard channels > 0 else {
        guard count == 0 else { throw WindowingError.shapeMismatch(name: name, count: count, channels: channels) }
        return 0
    }
    guard count % channels == 0 else {
        throw WindowingError.shapeMismatch(name: name, count: count, channels: channels)
    }
    return count / channels
}

/// A batch of windows, contiguous `[windows, channels, length]` Float32, with one provenance per window.
///
/// Window `w`, channel `c` occupies `samples[(w * channels + c) * length ..< (w * channels + c + 1) * length]`:
/// the layout of `librosa.util.frame(x, axis=-1)` transposed to windows-first, i.e. a PyTorch batch
/// `[batch, channels, time]` ready for a convolutional network.
public struct FrameBatch: Sendable, Equatable {
    /// Number of windows.
    public let count: Int
    /// Channels per window.
    public let channels: Int
    /// Samples per window and channel.
    public let length: Int
    /// The windows, `[count, channels, length]`.
    public var samples: [Float]
    /// Where each window came from, `count` entries in window order.
    public var provenance: [WindowProvenance]

    /// Creates a batch from its parts.
    ///
    /// - Throws: `WindowingError.invalidParameter` when a size is negative, `samples.count` is not
    ///   `count · channels · length`, or `provenance.count` is not `count`.
    public init(count: Int, channels: Int, length: Int, samples: [Float], provenance: [WindowProvenance]) throws {
        guard count >= 0, channels >= 0, length >= 0 else {
            throw WindowingError.invalidParameter(
                name: "count, channels, length", value: "\(count), \(channels), \(length)", reason: "must be ≥ 0")
        }
        guard samples.count == count * channels * length else {
            throw WindowingError.invalidParameter(
                name: "samples.count", value: "\(samples.count)",
                reason: "expected \(count) × \(channels) × \(length) = \(count * channels * length)")
        }
        guard provenance.count == count else {
            throw WindowingError.invalidParameter(
                name: "provenance.count", value: "\(provenance.count)", reason: "expected \(count)")
        }
        self.count = count
        self.channels = channels
        self.length = length
        self.samples = samples
        self.provenance = provenance
    }

    /// An empty batch of windows of the given shape.
    init(emptyWithChannels channels: Int, length: Int) {
        self.count = 0
        self.channels = channels
        self.length = length
        self.samples = []
        self.provenance = []
    }

    init(unchecked count: Int, channels: Int, length: Int, samples: [Float], provenance: [WindowProvenance]) {
        precondition(samples.count == count * channels * length && provenance.count == count)
        self.count = count
        self.channels = channels
        self.length = length
        self.samples = samples
        self.provenance = provenance
    }

    /// The samples of window `w`, channel `c` (a slice of `samples`, no copy).
    ///
    /// `w` must be in `0..<count` and `c` in `0..<channels`.
    public func window(_ w: Int, channel c: Int) -> ArraySlice<Float> {
        precondition(w >= 0 && w < count, "window \(w) out of 0..<\(count)")
        precondition(c >= 0 && c < channels, "channel \(c) out of 0..<\(channels)")
        let start = (w * channels + c) * length
        return samples[start..<(start + length)]
    }

    /// Appends the windows of `other` (e.g. the next chunk of a `StreamingFramer`).
    ///
    /// - Throws: `WindowingError.invalidParameter` when `other` has a different channel count or length.
    public mutating func append(contentsOf other: FrameBatch) throws {
        guard other.count > 0 else { return }
        guard count == 0 || (other.channels == channels && other.length == length) else {
            throw WindowingError.invalidParameter(
                name: "other", value: "[\(other.count), \(other.channels), \(other.length)]",
                reason: "cannot append to a batch of shape [\(count), \(channels), \(length)]")
        }
        self = FrameBatch(
            unchecked: count + other.count, channels: other.channels, length: other.length,
            samples: samples + other.samples, provenance: provenance + other.provenance)
    }
}

/// Zero-copy access to the windows of a planar signal `[channels, frames]`.
///
/// A window lying wholly inside the signal (`provenance(w).isInterior`) is handed out as a pointer into the
/// signal itself; only windows that reach into padding are assembled, into a temporary buffer. In `.valid` mode
/// every window is interior, so nothing is ever copied.
public struct FrameView: Sendable {
    /// The window length, hop and boundary mode.
    public let options: FrameOptions
    /// Channels of the signal.
    public let channels: Int
    /// Samples per channel of the signal.
    public let signalLength: Int
    /// Number of windows: `options.frameCount(forLength: signalLength)`.
    public let count: Int
    private let samples: [Float]

    init(options: FrameOptions, samples: [Float], channels: Int, signalLength: Int) {
        self.options = options
        self.samples = samples
        self.channels = channels
        self.signalLength = signalLength
        self.count = channels == 0 ? 0 : options.frameCount(forLength: signalLength)
    }

    /// Where window `w` lies on the signal.
    public func provenance(_ w: Int) -> WindowProvenance {
        options.provenance(ofWindow: w, signalLength: signalLength)
    }

    /// Calls `body` with window `w` of channel `c`: a pointer into the signal when the window is interior,
    /// otherwise a temporary buffer holding the padded window. The pointer is valid only inside `body`.
    ///
    /// `w` must be in `0..<count` and `c` in `0..<channels`.
    public func withWindow<R>(
        _ w: Int, channel c: Int, _ body: (UnsafeBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        precondition(w >= 0 && w < count, "window \(w) out of 0..<\(count)")
        precondition(c >= 0 && c < channels, "channel \(c) out of 0..<\(channels)")
        let first = options.firstSample(ofWindow: w)
        let length = options.length
        if first >= 0 && first + length <= signalLength {
            return try samples.withUnsafeBufferPointer { all in
                try body(UnsafeBufferPointer(rebasing: all[(c * signalLength + first)...].prefix(length)))
            }
        }
        return try withUnsafeTemporaryAllocation(of: Float.self, capacity: length) { scratch in
            copyWindow(w, channel: c, into: scratch)
            return try body(UnsafeBufferPointer(scratch))
        }
    }

    /// Writes window `w` of channel `c`, padding included, into `destination[0..<length]`.
    ///
    /// This is how a consumer such as an STFT fills its own (e.g. FFT-input) buffer in one pass.
    /// `w` must be in `0..<count`, `c` in `0..<channels`, and `destination.count ≥ options.length`.
    public func copyWindow(_ w: Int, channel c: Int, into destination: UnsafeMutableBufferPointer<Float>) {
        precondition(w >= 0 && w < count, "window \(w) out of 0..<\(count)")
        precondition(c >= 0 && c < channels, "channel \(c) out of 0..<\(channels)")
        precondition(destination.count >= options.length, "destination holds fewer than \(options.length) samples")
        guard let out = destination.baseAddress else { return }
        samples.withUnsafeBufferPointer { all in
            let channel = UnsafeBufferPointer(rebasing: all[(c * signalLength)..<((c + 1) * signalLength)])
            fillWindow(
                out, first: options.firstSample(ofWindow: w), length: options.length, boundary: options.boundary,
                source: channel, sourceStart: 0, signalLength: signalLength)
        }
    }

    /// Every window copied into one contiguous `[windows, channels, length]` batch.
    public func frames() -> FrameBatch {
        let length = options.length
        let total = count * channels * length
        // Every element is written by copyWindow, so the array is not zero-filled first.
        let out = [Float](unsafeUninitializedCapacity: total) { dest, initialized in
            for w in 0..<count {
                for c in 0..<channels {
                    let start = (w * channels + c) * length
                    copyWindow(w, channel: c, into: UnsafeMutableBufferPointer(rebasing: dest[start...]))
                }
            }
            initialized = total
        }
        return FrameBatch(
            unchecked: count, channels: channels, length: length, samples: out,
            provenance: (0..<count).map(provenance))
    }
}

/// Writes the `length` samples of the window starting at `first` into `out` (initialised or not: Float is trivial).
///
/// `source[k]` holds signal sample `sourceStart + k`; every index the window reads (directly or through the
/// boundary rule for a signal of `signalLength ≥ 1` samples) must lie in that range — an internal invariant the
/// callers guarantee.
func fillWindow(
    _ out: UnsafeMutablePointer<Float>, first: Int, length: Int, boundary: BoundaryMode,
    source: UnsafeBufferPointer<Float>, sourceStart: Int, signalLength n: Int
) {
    let lower = min(max(first, 0), n)
    let upper = max(lower, min(first + length, n))
    func read(_ i: Int) -> Float {
        switch boundary.outside(i, signalLength: n) {
        case .value(let v): return v
        case .sample(let j):
            precondition(j >= sourceStart && j - sourceStart < source.count, "mirrored sample \(j) not retained")
            return source[j - sourceStart]
        }
    }
    var k = 0
    var i = first
    while i < lower && k < length {
        out[k] = read(i)
        k += 1
        i += 1
    }
    if upper > lower, let base = source.baseAddress {
        precondition(lower >= sourceStart && upper - sourceStart <= source.count, "window samples not retained")
        (out + k).initialize(from: base + (lower - sourceStart), count: upper - lower)
        k += upper - lower
        i = upper
    }
    while k < length {
        out[k] = read(i)
        k += 1
        i += 1
    }
}
