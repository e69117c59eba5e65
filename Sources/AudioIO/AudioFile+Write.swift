import CSndFile
import Foundation

/// A container ``AudioFile/write(_:to:format:sampleFormat:)`` can write.
public enum AudioFileFormat: String, Sendable, CaseIterable {
    /// RIFF WAVE (`.wav`): PCM16, PCM24 or Float32.
    case wav
    /// FLAC (`.flac`), lossless: PCM16 or PCM24.
    case flac

    /// The format a file name's extension implies (`wav`, `wave`, `flac`; any case), or `nil`.
    public init?(pathExtension: String) {
        switch pathExtension.lowercased() {
        case "wav", "wave": self = .wav
        case "flac": self = .flac
        default: return nil
        }
    }
}

/// The sample encoding of a written file.
public enum AudioSampleFormat: String, Sendable, CaseIterable {
    /// 16-bit signed PCM (soundfile's `"PCM_16"`, the default for both WAV and FLAC, as in soundfile).
    case pcm16
    /// 24-bit signed PCM (`"PCM_24"`).
    case pcm24
    /// 32-bit IEEE float (`"FLOAT"`), WAV only: stores the Float32 samples unchanged.
    case float32
}

extension AudioFile {
    /// Writes `signal` to `path` as WAV or FLAC, atomically (temporary file beside `path`, then rename).
    ///
    /// Equivalent to `soundfile.write(path, x.T, sr, format=…, subtype=…)`, sample for sample (the tests compare
    /// with files soundfile wrote). Like soundfile, clipping is on (libsndfile's `SFC_SET_CLIPPING`): PCM16 and
    /// PCM24 store `x · 2^15` (`x · 2^23`) quantised by libsndfile (within one step) and clamped to the integer
    /// range, reading back as `k / 32768` (`k / 8388608`), so values outside `[-1, 1)` saturate instead of
    /// wrapping around. Float32 is stored as is.
    ///
    /// - Parameters:
    ///   - signal: planar `[channels, frames]`, ≥ 1 channel, a whole-number sample rate.
    ///   - path: the destination; its folder must exist. An existing file is replaced only on success.
    ///   - format: the container, or `nil` (default) to take it from `path`'s extension.
    ///   - sampleFormat: the encoding; default `.pcm16`, the common interchange format (and soundfile's default).
    ///   - durability: whether the file is flushed to disk before the rename; default `.synced`.
    /// - Throws: `AudioIOError.unsupportedFormat` (unknown extension, FLAC with Float32, a layout libsndfile
    ///   refuses such as FLAC with more than 8 channels), `.invalidParameter` (no channels, non-integer rate,
    ///   an empty signal to FLAC),
    ///   `.ioFailure` (disk errors).
    public static func write(
        _ signal: Signal, to path: String, format: AudioFileFormat? = nil, sampleFormat: AudioSampleFormat = .pcm16,
        durability: AtomicFile.Durability = .synced
    ) throws {
        let url = URL(fileURLWithPath: path)
        guard let container = format ?? AudioFileFormat(pathExtension: url.pathExtension) else {
            throw AudioIOError.unsupportedFormat(
                path: path, format: "extension '.\(url.pathExtension)' (use .wav or .flac, or pass format:)")
        }
        guard signal.channels >= 1 else {
            throw AudioIOError.invalidParameter(name: "channels", value: "\(signal.channels)", reason: "must be ≥ 1")
        }
        guard signal.sampleRate.rounded() == signal.sampleRate, signal.sampleRate >= 1,
            signal.sampleRate <= Double(Int32.max)
        else {
            throw AudioIOError.invalidParameter(
                name: "sampleRate", value: "\(signal.sampleRate)", reason: "audio files need a whole number of Hz")
        }
        let major: Int32 = container == .wav ? Int32(SF_FORMAT_WAV) : Int32(SF_FORMAT_FLAC)
        let subtype: Int32
        switch sampleFormat {
        case .pcm16: subtype = Int32(SF_FORMAT_PCM_16)
        case .pcm24: subtype = Int32(SF_FORMAT_PCM_24)
        case .float32: subtype = Int32(SF_FORMAT_FLOAT)
        }
        let name = "\(container.rawValue.uppercased()) \(sampleFormat.rawValue)"
        if container == .flac && sampleFormat == .float32 {
            throw AudioIOError.unsupportedFormat(path: path, format: name)
        }
        if container == .flac && signal.frames == 0 {
            // libsndfile starts the FLAC stream with the first block, so no frames would give a 0-byte file.
            throw AudioIOError.invalidParameter(
                name: "frames", value: "0", reason: "FLAC cannot store an empty signal (write WAV instead)")
        }
        try AtomicFile.write(to: url, durability: durability) { temporary in
            try writeSamples(
                signal, to: temporary.path, reportedPath: path, format: major | subtype, formatName: name)
        }
    }

    /// Encodes `signal` into a new file at `path` (no atomicity; the caller provides it).
    private static func writeSamples(
        _ signal: Signal, to path: String, reportedPath: String, format: Int32, formatName: String
    ) throws {
        let file: SndFileHandle
        do {
            file = try SndFileHandle.openForWriting(
                path: path, sampleRate: Int(signal.sampleRate), channels: signal.channels, format: format,
                formatName: formatName)
        } catch AudioIOError.unsupportedFormat(_, let format) {
            throw AudioIOError.unsupportedFormat(
                path: reportedPath, format: "\(format) with \(signal.channels) channels at \(signal.sampleRate) Hz")
        } catch AudioIOError.ioFailure(_, let reason) {
            throw AudioIOError.ioFailure(path: reportedPath, reason: reason)
        }
        sf_command(file.handle, Int32(SFC_SET_CLIPPING), nil, Int32(SF_TRUE))
        let channels = signal.channels
        let blockFrames = min(max(signal.frames, 1), 8192)
        var block = [Float](repeating: 0, count: blockFrames * channels)
        var done = 0
        try signal.samples.withUnsafeBufferPointer { source in
            try block.withUnsafeMutableBufferPointer { buffer in
                guard let sourceBase = source.baseAddress, let bufferBase = buffer.baseAddress else { return }
                while done < signal.frames {
                    let n = min(blockFrames, signal.frames - done)
                    interleave(
                        sourceBase, stride: signal.frames, offset: done, frames: n, channels: channels,
                        into: bufferBase)
                    let written = Int(sf_writef_float(file.handle, bufferBase, sf_count_t(n)))
                    guard written == n else {
                        throw AudioIOError.ioFailure(path: reportedPath, reason: "write failed: \(file.lastError)")
                    }
                    done += n
                }
            }
        }
        let status = file.close()
        guard status == 0 else {
            let reason = String(cString: sf_error_number(status))
            throw AudioIOError.ioFailure(path: reportedPath, reason: "cannot finish the file: \(reason)")
        }
    }
}
