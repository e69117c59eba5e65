import CSndFile
import Foundation

/// One open libsndfile handle (`SNDFILE*`), closed when the value is released.
///
/// Internal: `AudioFile`, `AudioStreamReader` and the writer share the open / error-mapping logic here. The
/// class is not thread-safe by itself; its owners serialise access.
final class SndFileHandle {
    /// The open handle; never null.
    let handle: OpaquePointer
    /// The path as given by the caller (used in every error).
    let path: String
    /// What libsndfile reported when the file was opened.
    let sfInfo: SF_INFO
    /// A file descriptor this handle owns and closes after `sf_close` (opened by `AudioFile.open`), or -1.
    private let descriptor: Int32
    /// The bytes libsndfile reads through virtual I/O, kept alive as long as the handle.
    private let memory: MemoryFile?

    private init(
        handle: OpaquePointer, path: String, sfInfo: SF_INFO, descriptor: Int32 = -1, memory: MemoryFile? = nil
    ) {
        self.handle = handle
        self.path = path
        self.sfInfo = sfInfo
        self.descriptor = descriptor
        self.memory = memory
    }

    private var isClosed = false

    deinit {
        if !isClosed { sf_close(handle) }
        if descriptor >= 0 { Glibc.close(descriptor) }
    }

    /// Closes the handle now (a writer finishes its file here: FLAC's last block and header) and returns
    /// libsndfile's status, 0 on success. Later uses of the handle are invalid.
    func close() -> Int32 {
        guard !isClosed else { return 0 }
        isClosed = true
        return sf_close(handle)
    }

    /// Opens `path` for reading after the checks libsndfile does not make itself.
    ///
    /// - Throws: `.cannotOpen` (missing, a directory, unreadable), `.empty` (0 bytes), `.zeroChannels`,
    ///   `.unsupportedEncoding`, `.unrecognized` (anything else libsndfile refuses).
    static func openForReading(path: String, probe: AudioHeaderProbe) throws -> SndFileHandle {
        try openForReading(path: path, descriptor: -1, probe: probe)
    }

    /// Opens an already open file descriptor for reading and takes ownership of it (it is closed with the handle,
    /// or at once when libsndfile refuses the file). `path` names the file in errors. With `descriptor` -1,
    /// libsndfile opens `path` itself.
    static func openForReading(
        path: String, descriptor: Int32, probe: AudioHeaderProbe, memory: MemoryFile? = nil
    ) throws -> SndFileHandle {
        var info = SF_INFO()
        let opened: OpaquePointer?
        if let memory {
            var io = MemoryFile.virtualIO
            opened = sf_open_virtual(&io, Int32(SFM_READ), &info, Unmanaged.passUnretained(memory).toOpaque())
        } else if descriptor >= 0 {
            opened = sf_open_fd(descriptor, Int32(SFM_READ), &info, Int32(SF_FALSE))
        } else {
            opened = sf_open(path, Int32(SFM_READ), &info)
        }
        guard let handle = opened else {
            if descriptor >= 0 { Glibc.close(descriptor) }
            let code = sf_error(nil)
            let reason = String(cString: sf_strerror(nil))
            if probe.channels == 0 { throw AudioIOError.zeroChannels(path: path) }
            if let tag = probe.wavFormatTag, ![1, 3, 6, 7, 0xFFFE].contains(tag) {
                // libsndfile calls an unknown codec a "malformed 'fmt ' chunk"; name the codec instead.
                let hex = String(tag, radix: 16, uppercase: true)
                throw AudioIOError.unsupportedEncoding(path: path, reason: "WAV format tag 0x\(hex) (\(reason))")
            }
            switch Int(code) {
            case SF_ERR_SYSTEM:
                throw AudioIOError.cannotOpen(path: path, reason: reason)
            case SF_ERR_UNSUPPORTED_ENCODING:
                throw AudioIOError.unsupportedEncoding(path: path, reason: reason)
            default:
                if reason.localizedCaseInsensitiveContains("unimplemented")
                    || reason.localizedCaseInsensitiveContains("not supported")
                    || reason.localizedCaseInsensitiveContains("unsupported")
                {
                    throw AudioIOError.unsupportedEncoding(path: path, reason: reason)
                }
                throw AudioIOError.unrecognized(path: path, reason: reason)
            }
        }
        let file = SndFileHandle(handle: handle, path: path, sfInfo: info, descriptor: descriptor, memory: memory)
        guard info.channels > 0 else { throw AudioIOError.zeroChannels(path: path) }
        return file
    }

    /// Opens `path` for writing with the given layout (`format` = major | subtype).
    ///
    /// - Throws: `.unsupportedFormat` when libsndfile rejects the combination, `.ioFailure` otherwise.
    static func openForWriting(
        path: String, sampleRate: Int, channels: Int, format: Int32, formatName: String
    )
        throws -> SndFileHandle
    {
        var info = SF_INFO()
        info.samplerate = Int32(clamping: sampleRate)
        info.channels = Int32(clamping: channels)
        info.format = format
        guard sf_format_check(&info) != 0 else {
            throw AudioIOError.unsupportedFormat(path: path, format: formatName)
        }
        guard let handle = sf_open(path, Int32(SFM_WRITE), &info) else {
            throw AudioIOError.ioFailure(path: path, reason: String(cString: sf_strerror(nil)))
        }
        return SndFileHandle(handle: handle, path: path, sfInfo: info)
    }

    /// libsndfile's message for the last error on this handle.
    var lastError: String { String(cString: sf_strerror(handle)) }

    /// Moves the read position to `frame` (0-based).
    func seek(to frame: Int) throws {
        guard sf_seek(handle, sf_count_t(frame), SEEK_SET) >= 0 else {
            throw AudioIOError.ioFailure(path: path, reason: "cannot seek to frame \(frame): \(lastError)")
        }
    }

    /// Reads up to `frames` interleaved frames into `buffer` (which holds at least `frames * channels` floats)
    /// and returns how many frames were read; fewer means the end of the data.
    func readInterleaved(into buffer: UnsafeMutablePointer<Float>, frames: Int) -> Int {
        var done = 0
        while done < frames {
            let got = Int(
                sf_readf_float(handle, buffer + done * Int(sfInfo.channels), sf_count_t(frames - done)))
            if got <= 0 { break }
            done += got
        }
        return done
    }
}

// MARK: Interleaving

/// Copies interleaved `[frames, channels]` samples into planar `[channels, frames]` storage.
///
/// `destination` holds `channels` rows of `stride` floats; this writes columns `offset ..< offset + frames`.
func deinterleave(
    _ source: UnsafePointer<Float>, frames: Int, channels: Int,
    into destination: UnsafeMutablePointer<Float>, stride: Int, offset: Int
) {
    if channels == 1 {
        (destination + offset).update(from: source, count: frames)
        return
    }
    for c in 0..<channels {
        let row = destination + c * stride + offset
        var s = source + c
        for f in 0..<frames {
            row[f] = s.pointee
            s += channels
        }
    }
}

/// Copies planar columns `offset ..< offset + frames` of `[channels, stride]` into interleaved storage.
func interleave(
    _ source: UnsafePointer<Float>, stride: Int, offset: Int, frames: Int, channels: Int,
    into destination: UnsafeMutablePointer<Float>
) {
    if channels == 1 {
        destination.update(from: source + offset, count: frames)
        return
    }
    for c in 0..<channels {
        let row = source + c * stride + offset
        var d = destination + c
        for f in 0..<frames {
            d.pointee = row[f]
            d += channels
        }
    }
}

/// A whole small file in memory, read by libsndfile through its virtual I/O callbacks (`sf_open_virtual`).
///
/// One `pread` replaces the dozens of small reads and seeks libsndfile makes while parsing a header, which
/// dominate the cost of a short clip. Only reading is supported.
final class MemoryFile {
    let bytes: [UInt8]
    var position = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    private static func from(_ user: UnsafeMutableRawPointer?) -> MemoryFile {
        guard let user else { preconditionFailure("libsndfile called virtual I/O without its user data") }
        return Unmanaged<MemoryFile>.fromOpaque(user).takeUnretainedValue()
    }

    /// The callbacks; libsndfile copies the struct, `user_data` is an unretained `MemoryFile` the handle keeps.
    static let virtualIO = SF_VIRTUAL_IO(
        get_filelen: { user in sf_count_t(MemoryFile.from(user).bytes.count) },
        seek: { offset, whence, user in
            let file = MemoryFile.from(user)
            let base: Int
            switch whence {
            case SEEK_CUR: base = file.position
            case SEEK_END: base = file.bytes.count
            default: base = 0
            }
            file.position = min(max(0, base + Int(offset)), file.bytes.count)
            return sf_count_t(file.position)
        },
        read: { destination, count, user in
            let file = MemoryFile.from(user)
            let n = max(0, min(Int(count), file.bytes.count - file.position))
            guard n > 0, let destination else { return 0 }
            file.bytes.withUnsafeBytes { source in
                guard let base = source.baseAddress else { return }
                destination.copyMemory(from: base + file.position, byteCount: n)
            }
            file.position += n
            return sf_count_t(n)
        },
        write: { _, _, _ in 0 },
        tell: { user in sf_count_t(MemoryFile.from(user).position) }
    )
}
