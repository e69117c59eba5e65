import Foundation

/// Errors of the train / evaluate / predict jobs, each naming the file and the key (a dotted path such as
/// `features.melBands`) or the data file at fault, so a message can be shown to a user as it is.
enum JobError: Error, Equatable, LocalizedError, CustomStringConvertible {
    /// A key the format does not define (a typo, or an option of another version).
    case unknownKey(file: String, key: String)
    /// A required key is absent.
    case missingKey(file: String, key: String)
    /// A value of the wrong JSON type.
    case wrongType(file: String, key: String, expected: String)
    /// A value of the right type outside its range, or two values that cannot go together.
    case invalidValue(file: String, key: String, value: String, reason: String)
    /// A version this build does not read.
    case unsupportedVersion(file: String, version: Int, supported: Int)
    /// A file that is not JSON at all, or that cannot be read.
    case unreadable(file: String, reason: String)
    /// A model folder without one of its files.
    case missingFile(folder: String, file: String)
    /// Training data that cannot train a model (no labelled files, a single class, an empty split).
    case badData(source: String, reason: String)

    var description: String {
        switch self {
        case .unknownKey(let file, let key):
            return "\(file): unknown key '\(key)'"
        case .missingKey(let file, let key):
            return "\(file): missing key '\(key)'"
        case .wrongType(let file, let key, let expected):
            return "\(file): '\(key)' must be \(expected)"
        case .invalidValue(let file, let key, let value, let reason):
            return "\(file): '\(key)' = \(value): \(reason)"
        case .unsupportedVersion(let file, let version, let supported):
            return "\(file): version \(version) is not supported (this build reads version \(supported))"
        case .unreadable(let file, let reason):
            return "\(file): \(reason)"
        case .missingFile(let folder, let file):
            return "\(folder): the model folder has no \(file)"
        case .badData(let source, let reason):
            return "\(source): \(reason)"
        }
    }

    var errorDescription: String? { description }

    /// Whether the error is in a configuration the user wrote (exit 64) rather than in data met at run time.
    var isConfigurationError: Bool {
        switch self {
        case .unknownKey, .missingKey, .wrongType, .invalidValue, .unsupportedVersion: return true
        case .unreadable, .missingFile, .badData: return false
        }
    }
}

/// A coding key for any string, used to list the keys a JSON object really has.
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) {
        self.stringValue = "\(intValue)"
        self.intValue = intValue
    }
}

extension Decoder {
    /// A keyed container that first rejects any key outside `Keys` (a typo must not be silently ignored).
    ///
    /// - Throws: `DecodingError.dataCorrupted` whose coding path ends at the unknown key and whose description
    ///   is `unknownKeyMarker`; `JobJSON.decode` turns it into `JobError.unknownKey`.
    func strictContainer<Keys: CodingKey & CaseIterable>(keyedBy: Keys.Type) throws -> KeyedDecodingContainer<Keys> {
        let all = try container(keyedBy: AnyCodingKey.self)
        let known = Set(Keys.allCases.map(\.stringValue))
        for key in all.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) where !known.contains(key.stringValue) {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: codingPath + [key], debugDescription: JobJSON.unknownKeyMarker))
        }
        return try container(keyedBy: Keys.self)
    }
}

/// Reading and writing the jobs' JSON files with errors that name the file and the key.
enum JobJSON {
    static let unknownKeyMarker = "unknown key"

    /// The dotted key of a coding path: `features.melBands`, `data.files[2]`.
    static func keyPath(_ path: [any CodingKey]) -> String {
        var text = ""
        for key in path {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return text.isEmpty ? "(top level)" : text
    }

    /// Decodes `T` from `data`, translating `DecodingError` and validation errors into `JobError`.
    ///
    /// - Throws: `JobError.unreadable` for malformed JSON, `.unknownKey`, `.missingKey`, `.wrongType` naming the
    ///   dotted key, and whatever `T`'s decoder throws as `JobError` itself.
    static func decode<T: Decodable>(_ type: T.Type, from data: Data, file: String) throws -> T {
        do {
            _ = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw JobError.unreadable(file: file, reason: "not valid JSON (\(error.localizedDescription))")
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as JobError {
            throw error.relocated(to: file)
        } catch let DecodingError.keyNotFound(key, context) {
            throw JobError.missingKey(file: file, key: keyPath(context.codingPath + [key]))
        } catch let DecodingError.typeMismatch(expected, context) {
            throw JobError.wrongType(file: file, key: keyPath(context.codingPath), expected: typeName(expected))
        } catch let DecodingError.valueNotFound(expected, context) {
            throw JobError.wrongType(file: file, key: keyPath(context.codingPath), expected: typeName(expected))
        } catch let DecodingError.dataCorrupted(context) {
            if context.debugDescription == unknownKeyMarker {
                throw JobError.unknownKey(file: file, key: keyPath(context.codingPath))
            }
            throw JobError.invalidValue(
                file: file, key: keyPath(context.codingPath), value: "?", reason: context.debugDescription)
        } catch {
            throw JobError.unreadable(file: file, reason: "\(error)")
        }
    }

    /// Reads and decodes a file.
    ///
    /// - Throws: `JobError.unreadable` when the file cannot be read, then as `decode`.
    static func load<T: Decodable>(_ type: T.Type, path: String) throws -> T {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw JobError.unreadable(file: path, reason: "cannot read (\(error.localizedDescription))")
        }
        return try decode(type, from: data, file: path)
    }

    /// Pretty-printed JSON with sorted keys (stable bytes).
    static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type, is UInt64.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        case is Bool.Type: return "true or false"
        default:
            let name = "\(type)"
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "an object"
        }
    }
}

extension JobError {
    /// The same error naming `file` (decoders throw with a placeholder file name).
    func relocated(to file: String) -> JobError {
        switch self {
        case .unknownKey(_, let key): return .unknownKey(file: file, key: key)
        case .missingKey(_, let key): return .missingKey(file: file, key: key)
        case .wrongType(_, let key, let expected): return .wrongType(file: file, key: key, expected: expected)
        case .invalidValue(_, let key, let value, let reason):
            return .invalidValue(file: file, key: key, value: value, reason: reason)
        case .unsupportedVersion(_, let version, let supported):
            return .unsupportedVersion(file: file, version: version, supported: supported)
        default: return self
        }
    }

    /// An `invalidValue` thrown from inside a decoder, whose key is the decoder's path plus `key`.
    static func invalid(
        _ decoder: any Decoder, _ key: String, _ value: Any, _ reason: String
    ) -> JobError {
        let prefix = JobJSON.keyPath(decoder.codingPath)
        let full = prefix == "(top level)" ? key : prefix + "." + key
        return .invalidValue(file: "", key: full, value: "\(value)", reason: reason)
    }
}
