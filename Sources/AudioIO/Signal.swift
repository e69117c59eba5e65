/// A multichannel Float32 signal stored planar, `[channels, frames]`.
///
/// Channel `c` occupies `samples[c * frames ..< (c + 1) * frames]`, so each channel is contiguous and can be
/// handed to FFTW, BLAS or the framer without a copy. This is the layout `soundfile.read(...).T`,
/// `torchaudio.load` and `librosa.load(mono=False)` return.
public struct Signal: Sendable, Equatable {
    /// Samples per second (Hz). Sensor streams read without timestamps use the rate they were given.
    public var sampleRate: Double
    /// Number of channels (≥ 1 for a signal read from a file; 0 only for an empty signal).
    public let channels: Int
    /// Samples per channel.
    public let frames: Int
    /// The samples, planar: `[channels, frames]`, `count == channels * frames`.
    public var samples: [Float]
    /// One name per channel: CSV column names for sensor data, `ch0`, `ch1`, … for audio.
    public var channelNames: [String]

    /// Creates a signal from planar samples.
    ///
    /// - Parameters:
    ///   - samples: planar `[channels, frames]`; `samples.count` must be a multiple of `channels`.
    ///   - channels: number of channels (≥ 1, or 0 with no samples).
    ///   - sampleRate: samples per second (Hz), > 0.
    ///   - channelNames: one name per channel; defaults to `ch0`, `ch1`, ….
    /// - Throws: `AudioIOError.invalidParameter` when the counts do not fit or the rate is not positive.
    public init(samples: [Float], channels: Int, sampleRate: Double, channelNames: [String]? = nil) throws {
        guard channels >= 0, channels > 0 || samples.isEmpty else {
            throw AudioIOError.invalidParameter(name: "channels", value: "\(channels)", reason: "must be ≥ 1")
        }
        guard channels == 0 || samples.count % channels == 0 else {
            throw AudioIOError.invalidParameter(
                name: "samples", value: "\(samples.count)", reason: "not a multiple of \(channels) channels")
        }
        guard sampleRate > 0, sampleRate.isFinite else {
            throw AudioIOError.invalidParameter(name: "sampleRate", value: "\(sampleRate)", reason: "must be > 0")
        }
        let names = channelNames ?? (0..<channels).map { "ch\($0)" }
        guard names.count == channels else {
            throw AudioIOError.invalidParameter(
                name: "channelNames", value: "\(names.count) names", reason: "expected \(channels)")
        }
        self.samples = samples
        self.channels = channels
        self.frames = channels == 0 ? 0 : samples.count / channels
        self.sampleRate = sampleRate
        self.channelNames = names
    }

    /// Duration in seconds: `frames / sampleRate`.
    public var duration: Double { Double(frames) / sampleRate }

    /// The samples of channel `c` (a view, no copy). `c` must be in `0..<channels`.
    public func channel(_ c: Int) -> ArraySlice<Float> {
        precondition(c >= 0 && c < channels, "channel \(c) out of 0..<\(channels)")
        return samples[(c * frames)..<((c + 1) * frames)]
    }
}
