/// Window length, hop and boundary handling: everything that decides where windows fall on a signal.
///
/// Lengths are in samples (per channel). The seconds-based initialisers convert with one documented rule:
/// ```
/// length = round(seconds · sampleRate)               (halves away from zero, like python_speech_features)
/// hop    = round(length · (1 - overlap))             (from the rounded length, so overlap is exact in samples)
/// hop    = round(hopSeconds · sampleRate)
/// ```
/// Kaldi truncates instead of rounding; use `FrameOptions.kaldi(...)` to get its exact sizes.
///
/// ```swift
/// let opts = try FrameOptions(seconds: 3, overlap: 0.2, sampleRate: 16_000)   // length 48000, hop 38400
/// let n = opts.frameCount(forLength: signal.frames)
/// ```
public struct FrameOptions: Sendable, Hashable {
    /// Samples per window (≥ 1); librosa's `frame_length` / `n_fft`, Kaldi's `WindowSize()`.
    public let length: Int
    /// Samples between the starts of consecutive windows (≥ 1; may exceed `length`, leaving gaps).
    public let hop: Int
    /// Where windows fall at the signal's edges; default `.valid` (no invented samples).
    public var boundary: BoundaryMode

    /// The largest window length or hop accepted: 2³¹ − 1 samples (over 12 hours at 48 kHz), which keeps every
    /// index computation far from integer overflow.
    public static let maximumSize = Int(Int32.max)

    /// Creates options from sizes in samples.
    ///
    /// - Parameters:
    ///   - length: samples per window, in `1...maximumSize`.
    ///   - hop: samples between window starts, in `1...maximumSize`.
    ///   - boundary: edge handling; `.valid` by default because it invents no data.
    /// - Throws: `WindowingError.invalidParameter` when `length` or `hop` is outside `1...maximumSize`.
    public init(length: Int, hop: Int, boundary: BoundaryMode = .valid) throws {
        guard length >= 1, length <= Self.maximumSize else {
            throw WindowingError.invalidParameter(
                name: "length", value: "\(length)", reason: "must be in 1...\(Self.maximumSize) samples")
        }
        guard hop >= 1, hop <= Self.maximumSize else {
            throw WindowingError.invalidParameter(
                name: "hop", value: "\(hop)", reason: "must be in 1...\(Self.maximumSize) samples")
        }
        self.length = length
        self.hop = hop
        self.boundary = boundary
    }

    /// Creates options from a window duration and a fractional overlap between consecutive windows.
    ///
    /// - Parameters:
    ///   - seconds: window duration in seconds, > 0; rounded to the nearest sample.
    ///   - overlap: fraction of a window shared with the next one, in `[0, 1)`; default 0 (back to back).
    ///     For gaps between windows use `init(seconds:hopSeconds:sampleRate:boundary:)`.
    ///   - sampleRate: samples per second (Hz), > 0.
    ///   - boundary: edge handling, default `.valid`.
    /// - Throws: `WindowingError.invalidParameter` for a non-finite or non-positive duration or rate, an
    ///   overlap outside `[0, 1)`, or a window or hop that rounds to 0 samples.
    public init(seconds: Double, overlap: Double = 0, sampleRate: Double, boundary: BoundaryMode = .valid) throws {
        try Self.checkRate(sampleRate)
        guard overlap.isFinite, overlap >= 0, overlap < 1 else {
            throw WindowingError.invalidParameter(
                name: "overlap", value: "\(overlap)", reason: "must be in [0, 1); use hopSeconds for gaps")
        }
        let length = try Self.samples(seconds, name: "seconds", sampleRate: sampleRate)
        let hop = Int((Double(length) * (1 - overlap)).rounded())
        guard hop >= 1 else {
            throw WindowingError.invalidParameter(
                name: "overlap", value: "\(overlap)",
                reason: "leaves a hop of 0 samples for a window of \(length) samples")
        }
        try self.init(length: length, hop: hop, boundary: boundary)
    }

    /// Creates options from a window duration and a hop duration, both in seconds.
    ///
    /// - Parameters:
    ///   - seconds: window duration in seconds, > 0; rounded to the nearest sample.
    ///   - hopSeconds: time between window starts in seconds, > 0; rounded to the nearest sample. It may exceed
    ///     `seconds` (gaps between windows).
    ///   - sampleRate: samples per second (Hz), > 0.
    ///   - boundary: edge handling, default `.valid`.
    /// - Throws: `WindowingError.invalidParameter` for a non-finite or non-positive value or a size that
    ///   rounds to 0 samples.
    public init(seconds: Double, hopSeconds: Double, sampleRate: Double, boundary: BoundaryMode = .valid) throws {
        try Self.checkRate(sampleRate)
        let length = try Self.samples(seconds, name: "seconds", sampleRate: sampleRate)
        let hop = try Self.samples(hopSeconds, name: "hopSeconds", sampleRate: sampleRate)
        try self.init(length: length, hop: hop, boundary: boundary)
    }

    /// Kaldi / kaldi-native-fbank framing: sizes truncated as `FrameExtractionOptions::WindowSize()` and
    /// `WindowShift()` do (`int(sampleRate · 0.001 · ms)`), `snipEdges` choosing `.valid` or `.kaldiMirror`.
    ///
    /// - Parameters:
    ///   - sampleRate: `samp_freq` in Hz; default 16000 as in Kaldi.
    ///   - frameLengthMs: `frame_length_ms`; default 25 as in Kaldi.
    ///   - frameShiftMs: `frame_shift_ms`; default 10 as in Kaldi.
    ///   - snipEdges: `snip_edges`; default `true` as in Kaldi.
    /// - Throws: `WindowingError.invalidParameter` when a size truncates to 0 samples or a value is not finite.
    public static func kaldi(
        sampleRate: Double = 16_000, frameLengthMs: Double = 25, frameShiftMs: Double = 10, snipEdges: Bool = true
    ) throws -> FrameOptions {
        try checkRate(sampleRate)
        // Kaldi keeps these in float and multiplies in double: float(rate) * 0.001 * float(ms), then truncates.
        func size(_ ms: Double, _ name: String) throws -> Int {
            let value = Double(Float(sampleRate)) * 0.001 * Double(Float(ms))
            guard value.isFinite, value >= 1, value < Double(Int32.max) else {
                throw WindowingError.invalidParameter(
                    name: name, value: "\(ms)", reason: "gives \(value) samples at \(sampleRate) Hz; need ≥ 1")
            }
            return Int(value)
        }
        return try FrameOptions(
            length: size(frameLengthMs, "frameLengthMs"), hop: size(frameShiftMs, "frameShiftMs"),
            boundary: snipEdges ? .valid : .kaldiMirror)
    }

    private static func checkRate(_ sampleRate: Double) throws {
        guard sampleRate.isFinite, sampleRate > 0 else {
            throw WindowingError.invalidParameter(name: "sampleRate", value: "\(sampleRate)", reason: "must be > 0")
        }
    }

    private static func samples(_ seconds: Double, name: String, sampleRate: Double) throws -> Int {
        let value = (seconds * sampleRate).rounded()
        guard seconds.isFinite, seconds > 0, value.isFinite, value < Double(Int32.max) else {
            throw WindowingError.invalidParameter(
                name: name, value: "\(seconds)", reason: "must be a positive, finite duration in seconds")
        }
        guard value >= 1 else {
            throw WindowingError.invalidParameter(
                name: name, value: "\(seconds)", reason: "rounds to 0 samples at \(sampleRate) Hz")
        }
        return Int(value)
    }

    /// The number of windows for a signal of `n` samples per channel (0 for `n ≤ 0`).
    ///
    /// See `BoundaryMode` for the formula of each mode and the library call it matches.
    /// - Complexity: O(1).
    public func frameCount(forLength n: Int) -> Int {
        boundary.frameCount(signalLength: n, length: length, hop: hop)
    }

    /// The index of window `m`'s first sample; negative when the window starts in the left padding.
    public func firstSample(ofWindow m: Int) -> Int {
        m * hop + boundary.firstSampleOffset(length: length, hop: hop)
    }

    /// Where window `m` lies on a signal of `n` samples: first sample, padding on each side, in-signal range.
    ///
    /// `m` need not be below `frameCount(forLength: n)`; the answer describes where such a window would lie.
    public func provenance(ofWindow m: Int, signalLength n: Int) -> WindowProvenance {
        WindowProvenance(index: m, firstSample: firstSample(ofWindow: m), length: length, signalLength: n)
    }
}

/// Where one window came from: its index, its first sample and how much of it is padding.
///
/// Sample indices are per channel and relative to the start of the signal. `firstSample` is negative when the
/// window starts in left padding (`center`, `kaldiMirror`).
public struct WindowProvenance: Sendable, Hashable {
    /// The window's index `m`, counted from 0 over the whole signal (also across streaming chunks).
    public let index: Int
    /// The index of the window's first sample in the signal; may be negative (left padding).
    public let firstSample: Int
    /// Samples in the window (`FrameOptions.length`).
    public let length: Int
    /// Window samples before sample 0 (invented by the boundary mode), in `0...length`.
    public let padLeft: Int
    /// Window samples at or after the signal's end (invented by the boundary mode), in `0...length`.
    public let padRight: Int

    /// Creates the provenance of window `index` starting at `firstSample` on a signal of `signalLength` samples.
    public init(index: Int, firstSample: Int, length: Int, signalLength: Int) {
        self.index = index
        self.firstSample = firstSample
        self.length = length
        self.padLeft = min(length, max(0, -firstSample))
        self.padRight = min(length, max(0, firstSample + length - signalLength))
    }

    /// One past the window's last sample index: `firstSample + length`.
    public var endSample: Int { firstSample + length }

    /// The signal samples the window holds: `max(firstSample, 0) ..< min(endSample, n)` (empty if none).
    public var signalRange: Range<Int> {
        let lower = max(firstSample, 0)
        return lower..<max(lower, endSample - padRight)
    }

    /// Whether every sample of the window is a real signal sample (no padding).
    public var isInterior: Bool { padLeft == 0 && padRight == 0 }

    /// The sample the window is centred on: `firstSample + length / 2` (rounded down).
    ///
    /// This is `m·hop` in `center` mode (what `librosa.frames_to_samples` reports for `center=True`) and Kaldi's
    /// frame midpoint `m·hop + hop/2` in `kaldiMirror` mode; for even lengths it is the right of the two middle
    /// samples.
    public var centerSample: Int { firstSample + length / 2 }

    /// The time of `firstSample` in seconds at `sampleRate` Hz (negative in left padding).
    public func startSeconds(sampleRate: Double) -> Double { Double(firstSample) / sampleRate }

    /// The time of `centerSample` in seconds at `sampleRate` Hz.
    public func centerSeconds(sampleRate: Double) -> Double { Double(centerSample) / sampleRate }
}
