import Foundation

/// Everything that can go wrong reading or writing audio, sensor, label and array files.
///
/// Every case names the file (and line or key where there is one) and the bad value, so a message can be
/// shown to a user as it is.
public enum AudioIOError: Error, Sendable, Equatable {
    // MARK: Parameters
    /// A parameter given by the caller is out of range.
    case invalidParameter(name: String, value: String, reason: String)

    // MARK: Audio files
    /// The file does not exist or cannot be opened for reading.
    case cannotOpen(path: String, reason: String)
    /// The file has no bytes.
    case empty(path: String)
    /// The file is not audio in any format libsndfile reads.
    case unrecognized(path: String, reason: String)
    /// The header declares zero channels.
    case zeroChannels(path: String)
    /// The header declares more frames than the data holds (a file cut short).
    case truncated(path: String, declaredFrames: Int, availableFrames: Int)
    /// libsndfile failed while reading or writing.
    case ioFailure(path: String, reason: String)
    /// The requested output format or subtype cannot be written.
    case unsupportedFormat(path: String, format: String)
    /// libsndfile recognises the container but cannot decode its encoding (e.g. an unknown WAV format tag).
    case unsupportedEncoding(path: String, reason: String)

    // MARK: Text data (sensor CSV, .ts, label files)
    /// A malformed row or value at a given line (1-based).
    case badRow(path: String, line: Int, reason: String)
    /// A named column is missing from the header.
    case missingColumn(path: String, column: String, available: [String])
    /// A gap in the timestamps that the gap policy does not allow.
    case gap(path: String, line: Int, seconds: Double, expected: Double)
    /// A NaN or empty cell the missing-value policy does not allow.
    case missingValue(path: String, line: Int, column: String)
    /// The file's header or structure is invalid.
    case badHeader(path: String, reason: String)
    /// A timestamp equal to the previous row's (1-based lines).
    case duplicateTimestamp(path: String, line: Int, previousLine: Int)
    /// A timestamp earlier than the previous row's (1-based lines).
    case nonMonotonicTimestamp(path: String, line: Int, previousLine: Int)
    /// A class label the file's header does not declare.
    case unknownLabel(path: String, line: Int, label: String, declared: [String])
    /// A malformed entry of a JSON or label file, named by its key.
    case badEntry(path: String, key: String, reason: String)

    // MARK: NumPy arrays
    /// A `.npy` file whose header, dtype or size is invalid.
    case badArray(path: String, reason: String)
}

extension AudioIOError: LocalizedError, CustomStringConvertible {
    /// A one-line message naming the file, line or parameter and the bad value.
    public var description: String {
        switch self {
        case .invalidParameter(let name, let value, let reason):
            return "invalid \(name) = \(value): \(reason)"
        case .cannotOpen(let path, let reason):
            return "\(path): cannot open: \(reason)"
        case .empty(let path):
            return "\(path): file is empty"
        case .unrecognized(let path, let reason):
            return "\(path): not a recognised audio file: \(reason)"
        case .zeroChannels(let path):
            return "\(path): header declares zero channels"
        case .truncated(let path, let declared, let available):
            return "\(path): truncated: header declares \(declared) frames but the data holds \(available)"
        case .ioFailure(let path, let reason):
            return "\(path): I/O failure: \(reason)"
        case .unsupportedFormat(let path, let format):
            return "\(path): cannot write format \(format)"
        case .unsupportedEncoding(let path, let reason):
            return "\(path): unsupported encoding: \(reason)"
        case .badRow(let path, let line, let reason):
            return "\(path):\(line): \(reason)"
        case .missingColumn(let path, let column, let available):
            return "\(path): no column '\(column)' (columns: \(available.joined(separator: ", ")))"
        case .gap(let path, let line, let seconds, let expected):
            return "\(path):\(line): gap of \(seconds) s where the sample period is \(expected) s"
        case .missingValue(let path, let line, let column):
            return "\(path):\(line): missing value in column '\(column)'"
        case .badHeader(let path, let reason):
            return "\(path): \(reason)"
        case .duplicateTimestamp(let path, let line, let previousLine):
            return "\(path):\(line): timestamp equals the one on line \(previousLine)"
        case .nonMonotonicTimestamp(let path, let line, let previousLine):
            return "\(path):\(line): timestamp is earlier than the one on line \(previousLine)"
        case .unknownLabel(let path, let line, let label, let declared):
            return "\(path):\(line): label '\(label)' is not declared (declared: \(declared.joined(separator: " ")))"
        case .badEntry(let path, let key, let reason):
            return "\(path): entry '\(key)': \(reason)"
        case .badArray(let path, let reason):
            return "\(path): invalid .npy array: \(reason)"
        }
    }

    /// Same as `description`.
    public var errorDescription: String? { description }
}
