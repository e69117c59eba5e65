import CSndFile
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What an audio file holds, as `soundfile.info(path)` reports it.
///
/// `format` and `subtype` use soundfile's names (`"WAV"`, `"FLAC"`, `"OGG"`, `"AIFF"`, `"RF64"`, `"WAVEX"`;
/// `"PCM_16"`, `"PCM_24"`, `"FLOAT"`, `"VORBIS"`, `"OPUS"`, …) so scripts can compare the two directly.
public struct AudioInfo: Sendable, Equatable {
    /// Container format, soundfile's name for it (`"WAV"`, `"FLAC"`, `"OGG"`, …).
    public var format: String
    /// Sample encoding, soundfile's name for it (`"PCM_16"`, `"FLOAT"`, `"VORBIS"`, …).
    public var subtype: String
    /// Samples per second per channel (Hz).
    public var sampleRate: Int
    /// Number of channels (≥ 1).
    public var channels: Int
    /// Frames (samples per channel) that can be read. For a WAV, RF64, W64, AIFF or AU file cut short this is
    /// what the data holds; for FLAC and Ogg it is what the stream declares (a cut FLAC is only detected when
    /// decoded, by ``AudioFile/read(path:options:onWarning:)`` or ``AudioStreamReader``).
    public var frames: Int
    /// Frames the header declares when it declares more than ``frames`` (a truncated file), else `nil`.
    public var declaredFrames: Int?

    /// Creates an info value (for tests and for callers that describe a file they are about to write).
    public init(
        format: String, subtype: String, sampleRate: Int, channels: Int, frames: Int, declaredFrames: Int? = nil
    ) {
        self.format = format
        self.subtype = subtype
        self.sampleRate = sampleRate
        self.channels = channels
        self.frames = frames
        self.declaredFrames = declaredFrames
    }

    /// Duration in seconds, `frames / sampleRate` (0 when the rate is 0).
    public var duration: Double { sampleRate > 0 ? Double(frames) / Double(sampleRate) : 0 }

    /// `true` when the header declares more frames than the file holds.
    public var isTruncated: Bool { (declaredFrames ?? frames) > frames }
}

/// Options for ``AudioFile/read(path:options:onWarning:)``.
public struct ReadOptions: Sendable, Equatable {
    /// First frame to read (0-based). Default 0: the beginning. Must not exceed the file's frames.
    public var start: Int
    /// Frames to read from `start`, or `nil` (default) for everything up to the end. A count reaching past the
    /// end is clamped to it, as `soundfile.read(frames=…)` does.
    public var count: Int?
    /// Accept a truncated file: read the frames that are present and report a ``AudioReadWarning/truncated``
    /// through the warning callback. Default `false`, because a cut file usually means a broken download or a
    /// crashed recorder and silently training on half a file is worse than stopping.
    public var allowTruncated: Bool

    /// Creates read options; the defaults read the whole file and reject truncated files.
    public init(start: Int = 0, count: Int? = nil, allowTruncated: Bool = false) {
        self.start = start
        self.count = count
        self.allowTruncated = allowTruncated
    }
}

/// A problem that did not stop a read because the caller allowed it (the library never prints).
public enum AudioReadWarning: Sendable, Equatable, CustomStringConvertible {
    /// The file is cut short; only `availableFrames` of the `declaredFrames` were read.
    case truncated(path: String, declaredFrames: Int, availableFrames: Int)

    /// A one-line message naming the file and both frame counts.
    public var description: String {
        switch self {
        case .truncated(let path, let declared, let available):
            return "\(path): truncated: header declares \(declared) frames, read the \(available) present"
        }
    }
}

/// Reading and describing audio files through libsndfile: WAV, WAVEX, RF64, W64, AIFF, FLAC, Ogg Vorbis / Opus,
/// CAF, AU and every other format the installed libsndfile reads.
///
/// Samples come back as Float32 in `[-1, 1)` for integer encodings (PCM16 is divided by 32768, like
/// `soundfile.read(dtype="float32")` and `torchaudio.load`), unscaled for float encodings, planar
/// `[channels, frames]`.
public enum AudioFile {
    /// Describes the file at `path` without decoding its samples.
    ///
    /// For WAV, RF64, W64, AIFF and AU the header's declared data size is compared with the bytes present, so a
    /// cut file shows `declaredFrames > frames` here instead of failing.
    /// - Throws: `AudioIOError.cannotOpen`, `.empty`, `.unrecognized`, `.zeroChannels`, `.unsupportedEncoding`.
    public static func info(path: String) throws -> AudioInfo {
        let (file, probe) = try openChecked(path: path)
        return makeInfo(file, probe: probe)
    }

    /// Reads the file at `path` (or a frame range of it) into a planar Float32 ``Signal``.
    ///
    /// Equivalent to `soundfile.read(path, start=, frames=, dtype="float32", always_2d=True).T`, except that a
    /// truncated file is an error unless `options.allowTruncated` is set.
    ///
    /// - Parameters:
    ///   - path: the file to read.
    ///   - options: frame range and truncation policy; the default reads the whole file.
    ///   - onWarning: called (synchronously, at most once) with each problem the options allowed.
    /// - Returns: `[channels, frames]` at the file's sample rate, channel names `ch0`, `ch1`, ….
    /// - Throws: `AudioIOError.cannotOpen`, `.empty`, `.unrecognized`, `.zeroChannels`, `.unsupportedEncoding`,
    ///   `.truncated(path:declaredFrames:availableFrames:)`, `.invalidParameter` for a bad range, `.ioFailure`.
    /// - Complexity: O(frames × channels) time; memory is the result plus one interleaved block of 64 Ki frames.
    public static func read(
        path: String, options: ReadOptions = ReadOptions(), onWarning: (AudioReadWarning) -> Void = { _ in }
    ) throws -> Signal {
        let (file, probe) = try openChecked(path: path)
        let info = makeInfo(file, probe: probe)
        let declared = info.declaredFrames ?? info.frames
        guard options.start >= 0, options.start <= declared else {
            throw AudioIOError.invalidParameter(
                name: "start", value: "\(options.start)", reason: "must be in 0...\(declared) frames of \(path)")
        }
        if let count = options.count, count < 0 {
            throw AudioIOError.invalidParameter(name: "count", value: "\(count)", reason: "must be ≥ 0")
        }
        if info.isTruncated {
            try reportTruncation(path: path, declared: declared, available: info.frames, options, onWarning)
        }
        let wanted = min(options.count ?? Int.max, declared - options.start)
        let readable = max(0, min(wanted, info.frames - options.start))
        let channels = info.channels
        if readable > 0 && options.start > 0 { try file.seek(to: options.start) }
        // Preallocate the result only when the frame count is trustworthy: checked against the bytes present by
        // the header probe, or at most 2^26 samples (256 MB, about 35 min of 16 kHz stereo). A FLAC or Ogg header
        // can declare any count (a crafted STREAMINFO can claim 2^36 frames), so beyond that the result grows
        // with the frames actually decoded (one extra copy for multichannel files).
        let trusted = probe.availableFrames != nil || readable * channels <= 1 << 26
        let result =
            trusted
            ? readPreallocated(file, channels: channels, frames: readable)
            : readGrowing(file, channels: channels, frames: readable)
        var samples = result.samples
        let got = result.frames
        if got < wanted && !info.isTruncated {
            // The header promised more than the decoder delivered (a cut FLAC, a damaged Ogg page).
            try reportTruncation(path: path, declared: declared, available: options.start + got, options, onWarning)
        }
        if got < readable && trusted {
            samples = compact(samples, channels: channels, stride: readable, frames: got)
        }
        return try Signal(samples: samples, channels: channels, sampleRate: Double(info.sampleRate))
    }

    // MARK: Internals

    /// Reads up to `frames` frames into an exactly-sized planar buffer `[channels, frames]`; returns the buffer
    /// (columns past the frames read are zero) and the frames read.
    static func readPreallocated(
        _ file: SndFileHandle, channels: Int, frames: Int
    ) -> (samples: [Float], frames: Int) {
        guard frames > 0 else { return ([], 0) }
        let blockFrames = min(frames, 65_536)
        var block = [Float](repeating: 0, count: blockFrames * channels)
        var got = 0
        // No zero-fill of the (possibly huge) result: every element is written below, or zeroed after a short read.
        let samples = [Float](unsafeUninitializedCapacity: frames * channels) { out, initialized in
            block.withUnsafeMutableBufferPointer { buf in
                guard let bufBase = buf.baseAddress, let outBase = out.baseAddress else { return }
                while got < frames {
                    let n = file.readInterleaved(into: bufBase, frames: min(blockFrames, frames - got))
                    if n == 0 { break }
                    deinterleave(bufBase, frames: n, channels: channels, into: outBase, stride: frames, offset: got)
                    got += n
                }
                if got < frames {
                    for c in 0..<channels { (outBase + c * frames + got).initialize(repeating: 0, count: frames - got) }
                }
            }
            initialized = frames * channels
        }
        return (samples, got)
    }

    /// Reads up to `frames` frames with per-channel buffers that grow with the data actually decoded, then
    /// joins them planar; returns exactly `[channels, got]` and `got`.
    static func readGrowing(
        _ file: SndFileHandle, channels: Int, frames: Int
    ) -> (samples: [Float], frames: Int) {
        let blockFrames = 65_536
        var rows = [[Float]](repeating: [], count: channels)
        for c in 0..<channels { rows[c].reserveCapacity(min(frames, 1 << 22)) }
        var block = [Float](repeating: 0, count: blockFrames * channels)
        var planar = [Float](repeating: 0, count: blockFrames * channels)
        var got = 0
        block.withUnsafeMutableBufferPointer { buf in
            planar.withUnsafeMutableBufferPointer { plane in
                guard let bufBase = buf.baseAddress, let planeBase = plane.baseAddress else { return }
                while got < frames {
                    let n = file.readInterleaved(into: bufBase, frames: min(blockFrames, frames - got))
                    if n == 0 { break }
                    deinterleave(bufBase, frames: n, channels: channels, into: planeBase, stride: n, offset: 0)
                    for c in 0..<channels {
                        rows[c].append(contentsOf: UnsafeBufferPointer(start: planeBase + c * n, count: n))
                    }
                    got += n
                }
            }
        }
        if channels == 1 { return (rows[0], got) }
        let samples = [Float](unsafeUninitializedCapacity: channels * got) { out, initialized in
            for c in 0..<channels {
                rows[c].withUnsafeBufferPointer { row in
                    if let rowBase = row.baseAddress, let outBase = out.baseAddress {
                        (outBase + c * got).initialize(from: rowBase, count: got)
                    }
                }
            }
            initialized = channels * got
        }
        return (samples, got)
    }

    /// Checks the path, probes the header and opens the file with libsndfile.
    ///
    /// One `open(2)` serves the checks, the header probe (`pread`) and libsndfile (`sf_open_fd`): opening a file
    /// costs more than reading a short clip on some file systems, and `FileManager`'s checks add more system
    /// calls per file (`isReadableFile`, `fileExists`).
    static func openChecked(path: String) throws -> (SndFileHandle, AudioHeaderProbe) {
        try openChecked(path: path, smallFileBytes: 4 << 20)
    }

    /// As ``openChecked(path:)``; files of at most `smallFileBytes` are read whole and decoded from memory.
    static func openChecked(path: String, smallFileBytes: Int) throws -> (SndFileHandle, AudioHeaderProbe) {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            switch code {
            case ENOENT, ENOTDIR: throw AudioIOError.cannotOpen(path: path, reason: "no such file")
            case EACCES: throw AudioIOError.cannotOpen(path: path, reason: "permission denied")
            default: throw AudioIOError.cannotOpen(path: path, reason: String(cString: strerror(code)))
            }
        }
        // fstat(2) on the open file follows symbolic links, as the size check must.
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            throw AudioIOError.cannotOpen(path: path, reason: reason)
        }
        guard status.st_mode & S_IFMT != S_IFDIR else {
            Glibc.close(fd)
            throw AudioIOError.cannotOpen(path: path, reason: "is a directory")
        }
        let size = Int(status.st_size)
        guard size > 0 else {
            Glibc.close(fd)
            throw AudioIOError.empty(path: path)
        }
        if size <= smallFileBytes {
            // A short clip: one read, then libsndfile parses it from memory.
            var bytes = [UInt8](repeating: 0, count: size)
            let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, size, 0) }
            Glibc.close(fd)
            guard got == size else {
                throw AudioIOError.ioFailure(path: path, reason: "read \(max(got, 0)) of \(size) bytes")
            }
            let probe = AudioHeaderProbe.probe(bytes: bytes)
            if probe.channels == 0 { throw AudioIOError.zeroChannels(path: path) }
            let memory = MemoryFile(bytes: bytes)
            return (try SndFileHandle.openForReading(path: path, descriptor: -1, probe: probe, memory: memory), probe)
        }
        let probe = AudioHeaderProbe.probe(descriptor: fd, fileSize: size)
        if probe.channels == 0 {
            Glibc.close(fd)
            throw AudioIOError.zeroChannels(path: path)
        }
        return (try SndFileHandle.openForReading(path: path, descriptor: fd, probe: probe), probe)
    }

    /// Builds the public info from libsndfile's and the probe's view of the file.
    static func makeInfo(_ file: SndFileHandle, probe: AudioHeaderProbe) -> AudioInfo {
        let sf = file.sfInfo
        var frames = Int(sf.frames)
        var declared: Int?
        if let probed = probe.declaredFrames, let available = probe.availableFrames, available < probed {
            frames = min(frames, available)
            declared = probed
        }
        return AudioInfo(
            format: AudioFormatNames.major(sf.format), subtype: AudioFormatNames.subtype(sf.format),
            sampleRate: Int(sf.samplerate), channels: Int(sf.channels), frames: frames, declaredFrames: declared)
    }

    /// Throws `.truncated`, or reports it as a warning when the options allow truncated files.
    static func reportTruncation(
        path: String, declared: Int, available: Int, _ options: ReadOptions,
        _ onWarning: (AudioReadWarning) -> Void
    ) throws {
        guard options.allowTruncated else {
            throw AudioIOError.truncated(path: path, declaredFrames: declared, availableFrames: available)
        }
        onWarning(.truncated(path: path, declaredFrames: declared, availableFrames: available))
    }

    /// Keeps the first `frames` columns of planar `[channels, stride]` samples.
    static func compact(_ samples: [Float], channels: Int, stride: Int, frames: Int) -> [Float] {
        var out = [Float]()
        out.reserveCapacity(channels * frames)
        for c in 0..<channels { out += samples[(c * stride)..<(c * stride + frames)] }
        return out
    }
}

/// soundfile's names for libsndfile's major formats and subtypes.
enum AudioFormatNames {
    static let majors: [Int32: String] = [
        0x01_0000: "WAV", 0x02_0000: "AIFF", 0x03_0000: "AU", 0x04_0000: "RAW", 0x05_0000: "PAF",
        0x06_0000: "SVX", 0x07_0000: "NIST", 0x08_0000: "VOC", 0x0A_0000: "IRCAM", 0x0B_0000: "W64",
        0x0C_0000: "MAT4", 0x0D_0000: "MAT5", 0x0E_0000: "PVF", 0x0F_0000: "XI", 0x10_0000: "HTK",
        0x11_0000: "SDS", 0x12_0000: "AVR", 0x13_0000: "WAVEX", 0x16_0000: "SD2", 0x17_0000: "FLAC",
        0x18_0000: "CAF", 0x19_0000: "WVE", 0x20_0000: "OGG", 0x21_0000: "MPC2K", 0x22_0000: "RF64",
        0x23_0000: "MP3",
    ]
    static let subtypes: [Int32: String] = [
        0x0001: "PCM_S8", 0x0002: "PCM_16", 0x0003: "PCM_24", 0x0004: "PCM_32", 0x0005: "PCM_U8",
        0x0006: "FLOAT", 0x0007: "DOUBLE", 0x0010: "ULAW", 0x0011: "ALAW", 0x0012: "IMA_ADPCM",
        0x0013: "MS_ADPCM", 0x0020: "GSM610", 0x0021: "VOX_ADPCM", 0x0022: "NMS_ADPCM_16",
        0x0023: "NMS_ADPCM_24", 0x0024: "NMS_ADPCM_32", 0x0030: "G721_32", 0x0031: "G723_24",
        0x0032: "G723_40", 0x0040: "DWVW_12", 0x0041: "DWVW_16", 0x0042: "DWVW_24", 0x0043: "DWVW_N",
        0x0050: "DPCM_8", 0x0051: "DPCM_16", 0x0060: "VORBIS", 0x0064: "OPUS", 0x0070: "ALAC_16",
        0x0071: "ALAC_20", 0x0072: "ALAC_24", 0x0073: "ALAC_32", 0x0080: "MPEG_LAYER_I",
        0x0081: "MPEG_LAYER_II", 0x0082: "MPEG_LAYER_III",
    ]

    static func major(_ format: Int32) -> String {
        let code = format & Int32(SF_FORMAT_TYPEMASK)
        return majors[code] ?? "0x" + String(code, radix: 16, uppercase: true)
    }

    static func subtype(_ format: Int32) -> String {
        let code = format & Int32(SF_FORMAT_SUBMASK)
        return subtypes[code] ?? "0x" + String(code, radix: 16, uppercase: true)
    }
}
