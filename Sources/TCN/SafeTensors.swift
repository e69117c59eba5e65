import AudioIO
import Foundation

/// Reads and writes the safetensors format (Hugging Face `safetensors`, what `safetensors.torch.save_file`
/// writes), for `state_dict`-keyed tensors.
///
/// ```
/// [8 bytes: header length N, little-endian UInt64]
/// [N bytes: JSON {"__metadata__": {...}, "<key>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, …},
///  padded with spaces to a multiple of 8]
/// [data: little-endian tensors at their offsets]
/// ```
/// Our writer reproduces `save_file`'s bytes exactly: tensors ordered by dtype alignment (I64 before F32), then
/// by key; the header lists them in data order, compact JSON. `num_batches_tracked` buffers are written as I64
/// scalars as PyTorch does; F32, F64, F16, BF16, I64 and I32 tensors are read (converted to Float).
public enum SafeTensors {
    /// Element types the reader accepts, with their byte sizes.
    private static let elementSizes: [String: Int] = ["F32": 4, "F64": 8, "F16": 2, "BF16": 2, "I64": 8, "I32": 4]

    /// Reads a safetensors file.
    ///
    /// - Returns: the tensors by key and the `__metadata__` strings.
    /// - Throws: `TCNError.ioFailure` when the file cannot be read; `TCNError.badFile` naming the key and the
    ///   problem for a truncated file, a bad header, an unknown dtype, or offsets that do not match the shape.
    public static func read(_ url: URL) throws -> (tensors: TensorDictionary, metadata: [String: String]) {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw TCNError.ioFailure(path: url.path, reason: "\(error.localizedDescription)")
        }
        return try decode(data, path: url.path)
    }

    /// Decodes safetensors bytes; `path` names the source in errors.
    ///
    /// - Throws: `TCNError.badFile` as `read`.
    public static func decode(
        _ data: Data, path: String
    ) throws -> (tensors: TensorDictionary, metadata: [String: String]) {
        let bytes = [UInt8](data)
        guard bytes.count >= 8 else {
            throw TCNError.badFile(path: path, reason: "\(bytes.count) bytes: too short for a safetensors header")
        }
        let headerLength = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[$1]) << (8 * UInt64($1)) }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw TCNError.badFile(
                path: path, reason: "header length \(headerLength) exceeds the \(bytes.count - 8) bytes after it")
        }
        let dataStart = 8 + Int(headerLength)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(bytes[8..<dataStart]))
        } catch {
            throw TCNError.badFile(path: path, reason: "header is not JSON: \(error.localizedDescription)")
        }
        guard let header = json as? [String: Any] else {
            throw TCNError.badFile(path: path, reason: "header is not a JSON object")
        }
        let dataLength = bytes.count - dataStart
        var metadata: [String: String] = [:]
        var tensors = TensorDictionary()
        var covered = 0
        for (key, value) in header {
            if key == "__metadata__" {
                metadata = value as? [String: String] ?? [:]
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2
            else {
                throw TCNError.badFile(path: path, reason: "key '\(key)': entry needs dtype, shape and data_offsets")
            }
            guard let size = elementSizes[dtype] else {
                throw TCNError.badFile(path: path, reason: "key '\(key)': unsupported dtype \(dtype)")
            }
            let count = shape.reduce(1, *)
            guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[1] - offsets[0] == count * size,
                offsets[1] <= dataLength
            else {
                throw TCNError.badFile(
                    path: path,
                    reason: "key '\(key)': data_offsets \(offsets) do not hold \(dtype) \(shape) within \(dataLength) "
                        + "data bytes")
            }
            covered += offsets[1] - offsets[0]
            let base = dataStart + offsets[0]
            let values = (0..<count).map { i in element(bytes, at: base + i * size, dtype: dtype) }
            tensors[key] = Tensor(uncheckedShape: shape, data: values)
        }
        guard covered == dataLength else {
            throw TCNError.badFile(
                path: path, reason: "tensors cover \(covered) of \(dataLength) data bytes (truncated or overlapping)")
        }
        return (tensors, metadata)
    }

    private static func element(_ b: [UInt8], at i: Int, dtype: String) -> Float {
        func uint(_ n: Int) -> UInt64 { (0..<n).reduce(UInt64(0)) { $0 | UInt64(b[i + $1]) << (8 * UInt64($1)) } }
        switch dtype {
        case "F32": return Float(bitPattern: UInt32(uint(4)))
        case "F64": return Float(Double(bitPattern: uint(8)))
        case "I64": return Float(Int64(bitPattern: uint(8)))
        case "I32": return Float(Int32(bitPattern: UInt32(uint(4))))
        case "BF16": return Float(bitPattern: UInt32(uint(2)) << 16)
        default: return Float(Float16(bitPattern: UInt16(uint(2))))
        }
    }

    /// Whether a key is stored as I64 (PyTorch's `num_batches_tracked` counters).
    public static func isInteger(_ key: String) -> Bool { key.hasSuffix("num_batches_tracked") }

    /// Encodes tensors exactly as `safetensors.torch.save_file(tensors, metadata=metadata)` does.
    ///
    /// - Parameter metadata: `__metadata__` strings (default `["format": "pt"]`, what PyTorch writers add).
    public static func encode(_ tensors: TensorDictionary, metadata: [String: String] = ["format": "pt"]) -> Data {
        let order = tensors.keys.sorted { a, b in
            let (ia, ib) = (isInteger(a), isInteger(b))
            return ia != ib ? ia : a < b
        }
        var entries: [String] = []
        if !metadata.isEmpty {
            let items = metadata.keys.sorted().map { "\(quoted($0)):\(quoted(metadata[$0] ?? ""))" }
            entries.append("\"__metadata__\":{\(items.joined(separator: ","))}")
        }
        var payload = [UInt8]()
        for key in order {
            guard let t = tensors[key] else { continue }
            let begin = payload.count
            if isInteger(key) {
                for v in t.data { withUnsafeBytes(of: Int64(v).littleEndian) { payload.append(contentsOf: $0) } }
            } else {
                for v in t.data { withUnsafeBytes(of: v.bitPattern.littleEndian) { payload.append(contentsOf: $0) } }
            }
            let shape = t.shape.map(String.init).joined(separator: ",")
            entries.append(
                "\(quoted(key)):{\"dtype\":\"\(isInteger(key) ? "I64" : "F32")\",\"shape\":[\(shape)],"
                    + "\"data_offsets\":[\(begin),\(payload.count)]}")
        }
        var header = Array("{\(entries.joined(separator: ","))}".utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var out = Data()
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        out.append(contentsOf: payload)
        return out
    }

    /// JSON string literal with the escapes serde_json uses.
    private static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// Writes `encode(tensors)` atomically (a temporary file in the same folder, then a rename).
    ///
    /// - Throws: `TCNError.ioFailure` when the folder is not writable.
    public static func write(
        _ tensors: TensorDictionary, to url: URL, metadata: [String: String] = ["format": "pt"]
    )
        throws
    {
        try writeAtomically(encode(tensors, metadata: metadata), to: url)
    }
}

/// Writes `data` to a temporary file beside `url`, flushes it to disk and renames it over `url` (AudioIO's
/// `AtomicFile`), so a reader never sees a partial file, a failed write leaves the old file in place, and a model or
/// checkpoint survives a power failure.
///
/// - Throws: `TCNError.ioFailure` naming `url`.
func writeAtomically(_ data: Data, to url: URL) throws {
    do {
        try AtomicFile.write(data, to: url, durability: .synced)
    } catch {
        throw TCNError.ioFailure(path: url.path, reason: "\(error)")
    }
}
