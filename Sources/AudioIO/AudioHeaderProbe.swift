import Foundation

/// What a WAV / RF64 / W64 / AIFF / AU container header declares, read from the file's own bytes.
///
/// libsndfile opens these formats cut short without any error and simply reports fewer frames, so a damaged
/// download would pass unnoticed. The probe walks the RIFF (`fmt `, `ds64`, `data`), W64 (GUID chunks with
/// 64-bit sizes) or IFF (`COMM`, `SSND`) chunks, or reads the AU header, takes the data size the header
/// declares, and compares it with the bytes actually present:
///
/// ```
/// declaredFrames  = dataChunkSize / blockAlign                  (WAV, RF64: ds64 size when the field is ~0; W64)
/// declaredFrames  = COMM.numSampleFrames                        (AIFF, AIFC)
/// declaredFrames  = dataSize / (channels · bytesPerSample)      (AU)
/// availableFrames = min(declared bytes, fileSize - dataStart) / bytesPerFrame
/// ```
///
/// Every field is `nil` when the format is another one or the header cannot tell (compressed payloads, a
/// streaming WAV whose size field is 0 or 0xFFFFFFFF); the probe never throws and libsndfile remains the judge
/// of whether the file is readable at all.
struct AudioHeaderProbe: Sendable, Equatable {
    /// Channels the header declares (0 for a crafted or broken header), if it is a container we parse.
    var channels: Int?
    /// The WAV `fmt ` format tag (the sub-format's for WAVE_FORMAT_EXTENSIBLE), for error messages.
    var wavFormatTag: Int?
    /// Frames the header declares.
    var declaredFrames: Int?
    /// Frames whose bytes are actually present in the file.
    var availableFrames: Int?

    /// `true` when the header declares more frames than the file holds.
    var isTruncated: Bool {
        guard let declared = declaredFrames, let available = availableFrames else { return false }
        return available < declared
    }

    /// Probes the open file `descriptor` whose size is `fileSize` bytes.
    /// The descriptor is read with `pread`, so its file offset is not moved and it can be handed to libsndfile.
    static func probe(descriptor: Int32, fileSize: Int) -> AudioHeaderProbe {
        probe(ByteReader(source: .descriptor(descriptor), size: fileSize))
    }

    /// Probes a whole file held in memory.
    static func probe(bytes: [UInt8]) -> AudioHeaderProbe {
        probe(ByteReader(source: .memory(bytes), size: bytes.count))
    }

    private static func probe(_ reader: ByteReader) -> AudioHeaderProbe {
        guard let head = reader.bytes(at: 0, count: 12) else { return AudioHeaderProbe() }
        if let guid = reader.bytes(at: 0, count: 16), guid == w64RIFF { return probeW64(reader) }
        if head[0..<4].elementsEqual(".snd".utf8) { return probeAU(reader) }
        let magic = String(decoding: head[0..<4], as: UTF8.self)
        let kind = String(decoding: head[8..<12], as: UTF8.self)
        switch (magic, kind) {
        case ("RIFF", "WAVE"), ("RF64", "WAVE"), ("BW64", "WAVE"):
            return probeRIFF(reader, isRF64: magic != "RIFF")
        case ("FORM", "AIFF"), ("FORM", "AIFC"):
            return probeAIFF(reader, isAIFC: kind == "AIFC")
        default:
            return AudioHeaderProbe()
        }
    }

    private static func probeRIFF(_ reader: ByteReader, isRF64: Bool) -> AudioHeaderProbe {
        var result = AudioHeaderProbe()
        var offset = 12
        var ds64DataSize: UInt64?
        var formatTag = 0
        var blockAlign = 0
        while offset + 8 <= reader.size, let header = reader.bytes(at: offset, count: 8) {
            let id = String(decoding: header[0..<4], as: UTF8.self)
            let size = Int(header.littleEndianUInt32(at: 4))
            let body = offset + 8
            switch id {
            case "ds64":
                if let ds64 = reader.bytes(at: body, count: 16) { ds64DataSize = ds64.littleEndianUInt64(at: 8) }
            case "fmt ":
                guard let fmt = reader.bytes(at: body, count: min(size, 26)), fmt.count >= 16 else {
                    return result
                }
                formatTag = Int(fmt.littleEndianUInt16(at: 0))
                result.channels = Int(fmt.littleEndianUInt16(at: 2))
                blockAlign = Int(fmt.littleEndianUInt16(at: 12))
                if formatTag == 0xFFFE, fmt.count >= 26 {
                    formatTag = Int(fmt.littleEndianUInt16(at: 24))  // first bytes of the sub-format GUID
                }
                result.wavFormatTag = formatTag
            case "data":
                var dataSize = UInt64(size)
                if isRF64, size == 0xFFFF_FFFF, let ds64 = ds64DataSize { dataSize = ds64 }
                let pcmLike = [1, 3, 6, 7].contains(formatTag)  // PCM, IEEE float, A-law, µ-law
                // Writers that cannot seek back leave a placeholder size: 0, 0xFFFFFFFF (ffmpeg) or 0x7FFFF000
                // (sox). Such a header declares nothing, so it is not a truncation.
                let placeholder = !isRF64 && (dataSize == 0 || dataSize >= 0x7FFF_F000)
                guard pcmLike, blockAlign > 0, !placeholder, dataSize > 0, dataSize <= UInt64(Int.max)
                else { return result }
                let declaredBytes = Int(dataSize)
                let presentBytes = max(0, reader.size - body)
                result.declaredFrames = declaredBytes / blockAlign
                result.availableFrames = min(declaredBytes, presentBytes) / blockAlign
                return result
            default:
                break
            }
            offset = body + size + (size & 1)
        }
        return result
    }

    /// The W64 `riff` chunk GUID; chunk GUIDs start with the 4-character RIFF id, then this tail.
    private static let w64RIFF: [UInt8] = Array("riff".utf8) + w64Tail(0x2E91_CF11, 0xA5D6_28DB, 0x04C1_0000)
    private static func w64Tail(_ a: UInt32, _ b: UInt32, _ c: UInt32) -> [UInt8] {
        [a, b, c].flatMap { word in (0..<4).reversed().map { UInt8(truncatingIfNeeded: word >> (8 * $0)) } }
    }

    private static func probeW64(_ reader: ByteReader) -> AudioHeaderProbe {
        var result = AudioHeaderProbe()
        var offset = 40  // riff GUID (16) + size (8) + wave GUID (16)
        var blockAlign = 0
        var formatTag = 0
        while offset + 24 <= reader.size, let header = reader.bytes(at: offset, count: 24) {
            let id = String(decoding: header[0..<4], as: UTF8.self)
            let size = header.littleEndianUInt64(at: 16)  // includes the 24-byte chunk header
            guard size >= 24, size <= UInt64(Int.max / 2) else { return result }
            let body = offset + 24
            switch id {
            case "fmt ":
                guard let fmt = reader.bytes(at: body, count: 16) else { return result }
                formatTag = Int(fmt.littleEndianUInt16(at: 0))
                result.channels = Int(fmt.littleEndianUInt16(at: 2))
                result.wavFormatTag = formatTag
                blockAlign = Int(fmt.littleEndianUInt16(at: 12))
            case "data":
                guard [1, 3, 6, 7, 0xFFFE].contains(formatTag), blockAlign > 0 else { return result }
                let declaredBytes = Int(size) - 24
                result.declaredFrames = declaredBytes / blockAlign
                result.availableFrames = min(declaredBytes, max(0, reader.size - body)) / blockAlign
                return result
            default:
                break
            }
            offset += (Int(size) + 7) & ~7
        }
        return result
    }

    private static func probeAU(_ reader: ByteReader) -> AudioHeaderProbe {
        var result = AudioHeaderProbe()
        guard let header = reader.bytes(at: 0, count: 24) else { return result }
        let dataStart = Int(header.bigEndianUInt32(at: 4))
        let dataSize = header.bigEndianUInt32(at: 8)
        let encoding = header.bigEndianUInt32(at: 12)
        let channels = Int(header.bigEndianUInt32(at: 20))
        result.channels = channels
        // Bytes per sample of the uncompressed AU encodings (µ-law, PCM 8/16/24/32, float, double, A-law).
        let sizes: [UInt32: Int] = [1: 1, 2: 1, 3: 2, 4: 3, 5: 4, 6: 4, 7: 8, 27: 1]
        guard let sampleBytes = sizes[encoding], channels > 0, dataSize != 0xFFFF_FFFF else { return result }
        let frameBytes = sampleBytes * channels
        result.declaredFrames = Int(dataSize) / frameBytes
        result.availableFrames = min(Int(dataSize), max(0, reader.size - dataStart)) / frameBytes
        return result
    }

    private static func probeAIFF(_ reader: ByteReader, isAIFC: Bool) -> AudioHeaderProbe {
        var result = AudioHeaderProbe()
        var offset = 12
        var bytesPerFrame: Int?
        var ssnd: (start: Int, declaredBytes: Int)?
        var numFrames: Int?
        while offset + 8 <= reader.size, let header = reader.bytes(at: offset, count: 8) {
            let id = String(decoding: header[0..<4], as: UTF8.self)
            let size = Int(header.bigEndianUInt32(at: 4))
            let body = offset + 8
            switch id {
            case "COMM":
                guard let comm = reader.bytes(at: body, count: min(size, 22)), comm.count >= 18 else {
                    return result
                }
                let channels = Int(comm.bigEndianUInt16(at: 0))
                let sampleSize = Int(comm.bigEndianUInt16(at: 6))
                result.channels = channels
                numFrames = Int(comm.bigEndianUInt32(at: 2))
                var compression = "NONE"
                if isAIFC, comm.count >= 22 { compression = String(decoding: comm[18..<22], as: UTF8.self) }
                switch compression {
                case "NONE", "sowt", "twos", "raw ", "in24", "in32", "fl32", "FL32":
                    bytesPerFrame = channels * ((sampleSize + 7) / 8)
                case "fl64", "FL64":
                    bytesPerFrame = channels * 8
                default:
                    bytesPerFrame = nil
                }
            case "SSND":
                guard let fields = reader.bytes(at: body, count: 8) else { return result }
                let dataOffset = Int(fields.bigEndianUInt32(at: 0))
                ssnd = (body + 8 + dataOffset, max(0, size - 8 - dataOffset))
            default:
                break
            }
            if numFrames != nil, ssnd != nil { break }
            offset = body + size + (size & 1)
        }
        guard let frames = numFrames, let data = ssnd, let frameBytes = bytesPerFrame, frameBytes > 0 else {
            return result
        }
        let presentBytes = max(0, reader.size - data.start)
        result.declaredFrames = frames
        result.availableFrames = min(frames, min(data.declaredBytes, presentBytes) / frameBytes)
        return result
    }
}

/// Random-access reads of small byte ranges (headers only): by `pread` on a descriptor the caller owns, or from a
/// file already in memory.
private struct ByteReader {
    enum Source {
        case descriptor(Int32)
        case memory([UInt8])
    }

    let source: Source
    let size: Int

    /// Exactly `count` bytes from `offset`, or `nil` when the file ends before them.
    func bytes(at offset: Int, count: Int) -> [UInt8]? {
        guard offset >= 0, offset < size, count > 0 else { return nil }
        switch source {
        case .memory(let bytes):
            return offset + count <= bytes.count ? Array(bytes[offset..<(offset + count)]) : nil
        case .descriptor(let descriptor):
            var buffer = [UInt8](repeating: 0, count: count)
            let got = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, count, off_t(offset)) }
            return got == count ? buffer : nil
        }
    }
}

extension [UInt8] {
    func littleEndianUInt16(at i: Int) -> UInt16 { UInt16(self[i]) | UInt16(self[i + 1]) << 8 }
    func littleEndianUInt32(at i: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(self[i + $1]) << (8 * UInt32($1)) }
    }
    func littleEndianUInt64(at i: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(self[i + $1]) << (8 * UInt64($1)) }
    }
    func bigEndianUInt16(at i: Int) -> UInt16 { UInt16(self[i]) << 8 | UInt16(self[i + 1]) }
    func bigEndianUInt32(at i: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(self[i + $1]) }
    }
}
