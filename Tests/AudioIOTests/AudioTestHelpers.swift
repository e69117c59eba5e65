import AudioIO
import Foundation
import TestSupport
import Testing

/// Shared helpers for the audio-file and .npy tests (fixtures, crafted files, closed-form signals).
enum AudioFixtures {
    /// `Tests/Fixtures/AudioIO/<name>` as a path string.
    static func path(_ name: String) -> String { TestPaths.fixture("AudioIO/\(name)").path }

    /// The planar float32 values soundfile read from fixture `name` (`<name>.f32`).
    static func reference(_ name: String) throws -> [Float] {
        try loadFloat32Fixture(TestPaths.fixture("AudioIO/\(name).f32"))
    }

    /// soundfile's `info` for each audio fixture (`audio.json`).
    static func infoTable() throws -> [String: [String: JSONValue]] {
        let data = try Data(contentsOf: TestPaths.fixture("AudioIO/audio.json"))
        return try JSONDecoder().decode([String: [String: JSONValue]].self, from: data)
    }

    /// The bytes of fixture `name`.
    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: TestPaths.fixture("AudioIO/\(name)")))
    }
}

/// A JSON scalar (string or number), enough for the fixture tables.
enum JSONValue: Decodable, Equatable {
    case string(String)
    case number(Double)
    case array([JSONValue])
    case bool(Bool)

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let flag = try? container.decode(Bool.self) {
            self = .bool(flag)
        } else if let list = try? container.decode([JSONValue].self) {
            self = .array(list)
        } else {
            self = .string(try container.decode(String.self))
        }
    }

    var int: Int? {
        if case .number(let value) = self { return Int(value) }
        return nil
    }

    var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }
}

/// A scratch folder removed when the value goes away.
final class ScratchDirectory {
    let url: URL

    init() throws { url = try TestPaths.temporaryDirectory("seqtool-audio") }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// A path inside the folder.
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Writes `bytes` to `name` and returns its path.
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let target = path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: target))
        return target
    }

    /// The names of the files in the folder, sorted.
    func contents() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: url.path).sorted()
    }
}

/// The byte offset of the first occurrence of the 4-character chunk id `id` in `bytes`.
func chunkOffset(_ id: String, in bytes: [UInt8]) -> Int? {
    let needle = Array(id.utf8)
    guard bytes.count >= needle.count else { return nil }
    return (0...(bytes.count - needle.count)).first { Array(bytes[$0..<($0 + needle.count)]) == needle }
}

/// Planar `[channels, frames]` sines: channel c is `amplitude / (c + 1) · sin(2π · 220 (c + 1) · t)`.
func sineSignal(channels: Int, frames: Int, sampleRate: Int, amplitude: Double = 0.8) throws -> Signal {
    var samples = [Float]()
    for c in 0..<channels {
        for f in 0..<frames {
            let t = Double(f) / Double(sampleRate)
            samples.append(Float(amplitude / Double(c + 1) * sin(2 * Double.pi * 220 * Double(c + 1) * t)))
        }
    }
    return try Signal(samples: samples, channels: channels, sampleRate: Double(sampleRate))
}

/// A 44-byte canonical PCM WAV header followed by `dataBytes` zero bytes (fields as given, unchecked).
func craftedWAV(channels: UInt16, bitsPerSample: UInt16 = 16, formatTag: UInt16 = 1, dataBytes: Int = 64) -> [UInt8] {
    func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
    func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    let blockAlign = channels * bitsPerSample / 8
    var bytes = Array("RIFF".utf8) + le32(UInt32(36 + dataBytes)) + Array("WAVE".utf8)
    bytes += Array("fmt ".utf8) + le32(16) + le16(formatTag) + le16(channels) + le32(8000)
    bytes += le32(8000 * UInt32(blockAlign)) + le16(blockAlign) + le16(bitsPerSample)
    bytes += Array("data".utf8) + le32(UInt32(dataBytes)) + [UInt8](repeating: 0, count: dataBytes)
    return bytes
}
