import Foundation

/// Reads an audio file block by block, in planar `[channels, frames]` blocks of at most N frames.
///
/// Memory is bounded by one interleaved scratch block plus the block returned, whatever the file's length, so
/// hour-long recordings can be windowed or featurised in one pass. Concatenating the blocks gives exactly what
/// ``AudioFile/read(path:options:onWarning:)`` returns, for any block size (the tests check this).
///
/// ```swift
/// let reader = try AudioStreamReader(path: "long.flac")
/// while let block = try reader.read(maxFrames: 16_384) { process(block) }
/// ```
///
/// Truncation follows ``ReadOptions/allowTruncated``: a WAV, RF64, W64, AIFF or AU file whose header declares more
/// data than it holds throws `.truncated` from `init`, and a FLAC (or other compressed stream) that stops decoding
/// before its declared end throws `.truncated` from the `read` that reaches the gap. When truncated files are
/// allowed, the problem is recorded in ``warnings`` instead.
///
/// `@unchecked Sendable`: the `SNDFILE*` and the scratch buffer are touched only while `lock` is held, so a
/// reader can be handed to another task or shared; concurrent calls are serialised, not interleaved.
public final class AudioStreamReader: @unchecked Sendable {
    /// The file being read.
    public let path: String
    /// What the file holds (see ``AudioFile/info(path:)``).
    public let info: AudioInfo
    /// Whether truncated files are accepted (then ``warnings`` reports them).
    public let allowTruncated: Bool

    private var file: SndFileHandle
    private let lock = NSLock()
    private var scratch: [Float] = []
    private var framePosition = 0
    private var exhausted = false
    private var warningList: [AudioReadWarning] = []

    /// Opens `path` for block reading.
    ///
    /// - Parameters:
    ///   - path: any file libsndfile reads.
    ///   - allowTruncated: accept a truncated file and record a warning instead of throwing (default `false`).
    /// - Throws: `AudioIOError.cannotOpen`, `.empty`, `.unrecognized`, `.zeroChannels`, `.unsupportedEncoding`,
    ///   `.truncated` (a container header declaring more than the file holds, unless allowed).
    public init(path: String, allowTruncated: Bool = false) throws {
        let (file, probe) = try AudioFile.openChecked(path: path)
        let info = AudioFile.makeInfo(file, probe: probe)
        self.path = path
        self.file = file
        self.info = info
        self.allowTruncated = allowTruncated
        if let declared = info.declaredFrames, info.isTruncated {
            let options = ReadOptions(allowTruncated: allowTruncated)
            var found: [AudioReadWarning] = []
            try AudioFile.reportTruncation(
                path: path, declared: declared, available: info.frames, options
            ) { found.append($0) }
            warningList = found
        }
    }

    /// The next frame to be read (0-based).
    public var position: Int { lock.withLock { framePosition } }

    /// Problems accepted because ``allowTruncated`` is set, in the order they were found.
    public var warnings: [AudioReadWarning] { lock.withLock { warningList } }

    /// Reads the next block of at most `maxFrames` frames, or returns `nil` at the end of the file.
    ///
    /// Every block but the last has exactly `maxFrames` frames.
    /// - Parameter maxFrames: the block size in frames, ≥ 1.
    /// - Returns: `[channels, n]` with `1 ≤ n ≤ maxFrames`, at the file's sample rate; `nil` when no frame is left.
    /// - Throws: `AudioIOError.invalidParameter` for `maxFrames < 1`; `.truncated` when decoding stops before the
    ///   declared end (unless allowed).
    /// - Complexity: O(maxFrames × channels); the scratch block grows to the largest `maxFrames` requested.
    public func read(maxFrames: Int) throws -> Signal? {
        guard maxFrames >= 1 else {
            throw AudioIOError.invalidParameter(name: "maxFrames", value: "\(maxFrames)", reason: "must be ≥ 1")
        }
        return try lock.withLock { () throws -> Signal? in
            let wanted = min(maxFrames, info.frames - framePosition)
            guard wanted > 0, !exhausted else { return nil }
            let channels = info.channels
            var samples: [Float]
            let got: Int
            if channels == 1 {
                // Interleaved mono is planar already: decoded straight into the block, without the scratch copy.
                var n = 0
                samples = [Float](unsafeUninitializedCapacity: wanted) { buffer, initialized in
                    if let base = buffer.baseAddress { n = file.readInterleaved(into: base, frames: wanted) }
                    initialized = n
                }
                got = n
            } else {
                if scratch.count < wanted * channels { scratch = [Float](repeating: 0, count: wanted * channels) }
                var planar = [Float](repeating: 0, count: wanted * channels)
                got = scratch.withUnsafeMutableBufferPointer { buffer -> Int in
                    guard let base = buffer.baseAddress else { return 0 }
                    let n = file.readInterleaved(into: base, frames: wanted)
                    planar.withUnsafeMutableBufferPointer { out in
                        if let outBase = out.baseAddress {
                            deinterleave(base, frames: n, channels: channels, into: outBase, stride: wanted, offset: 0)
                        }
                    }
                    return n
                }
                samples = planar
            }
            framePosition += got
            if got < wanted {
                exhausted = true
                let declared = info.declaredFrames ?? info.frames
                var found: [AudioReadWarning] = []
                try AudioFile.reportTruncation(
                    path: path, declared: declared, available: framePosition,
                    ReadOptions(allowTruncated: allowTruncated)
                ) { found.append($0) }
                warningList += found
                guard got > 0 else { return nil }
                if channels > 1 {
                    samples = AudioFile.compact(samples, channels: channels, stride: wanted, frames: got)
                }
            }
            return try Signal(samples: samples, channels: channels, sampleRate: Double(info.sampleRate))
        }
    }

    /// Calls `body` with each remaining block of at most `maxFrames` frames, in order.
    ///
    /// - Throws: what ``read(maxFrames:)`` or `body` throws.
    public func forEachBlock(maxFrames: Int, _ body: (Signal) throws -> Void) throws {
        while let block = try read(maxFrames: maxFrames) { try body(block) }
    }

    /// Moves the read position to `frame`, so the next block starts there.
    ///
    /// - Parameter frame: 0-based, in `0...info.frames` (`info.frames` positions at the end).
    /// - Throws: `AudioIOError.invalidParameter` outside that range, `.ioFailure` when libsndfile cannot seek,
    ///   any open error if an Ogg file changed on disk since `init` (Ogg seeks reopen the file).
    public func seek(to frame: Int) throws {
        guard frame >= 0, frame <= info.frames else {
            throw AudioIOError.invalidParameter(
                name: "frame", value: "\(frame)", reason: "must be in 0...\(info.frames) frames of \(path)")
        }
        try lock.withLock {
            if info.format == "OGG" {
                // libsndfile 1.2's Ogg Vorbis/Opus seek lands on the wrong samples in the last pages once the
                // stream has been read from; a seek on a freshly opened handle is exact (checked for every frame
                // of the Vorbis and Opus fixtures), so reopen first.
                file = try SndFileHandle.openForReading(path: path, probe: AudioHeaderProbe())
            }
            try file.seek(to: frame)
            framePosition = frame
            exhausted = false
        }
    }
}
