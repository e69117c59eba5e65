import Foundation

/// Everything that can go wrong building, running, training, saving or loading a TCN.
///
/// Every case names the parameter, key or file and the bad value, so a message can be shown to a user as it is.
public enum TCNError: Error, Sendable, Equatable {
    /// A hyper-parameter or argument is out of range.
    case invalidParameter(name: String, value: String, reason: String)
    /// A tensor's shape does not match what an operation or layer needs.
    case shapeMismatch(name: String, expected: [Int], actual: [Int])
    /// The input is shorter than the model's receptive field (only with `ReceptiveFieldPolicy.error`).
    case inputShorterThanReceptiveField(length: Int, receptiveField: Int)
    /// A weight file lacks a key the model needs.
    case missingKey(path: String, key: String)
    /// A weight file holds a key the model does not have.
    case unexpectedKey(path: String, key: String)
    /// A weight in a file has a different shape than the model's parameter of the same name.
    case keyShapeMismatch(path: String, key: String, expected: [Int], actual: [Int])
    /// A file is damaged or not in the expected format (safetensors header, JSON config, checkpoint).
    case badFile(path: String, reason: String)
    /// A configuration's version is not one this library reads.
    case unsupportedVersion(path: String, version: Int, supported: [Int])
    /// Reading or writing a file failed.
    case ioFailure(path: String, reason: String)
}

extension TCNError: LocalizedError, CustomStringConvertible {
    /// A one-line message naming the parameter, key or file and the bad value.
    public var description: String {
        switch self {
        case .invalidParameter(let name, let value, let reason):
            return "invalid \(name) = \(value): \(reason)"
        case .shapeMismatch(let name, let expected, let actual):
            return "\(name): expected shape \(expected), got \(actual)"
        case .inputShorterThanReceptiveField(let length, let receptiveField):
            return "input length \(length) is shorter than the receptive field \(receptiveField)"
        case .missingKey(let path, let key):
            return "\(path): missing key '\(key)'"
        case .unexpectedKey(let path, let key):
            return "\(path): unexpected key '\(key)'"
        case .keyShapeMismatch(let path, let key, let expected, let actual):
            return "\(path): key '\(key)' has shape \(actual), expected \(expected)"
        case .badFile(let path, let reason):
            return "\(path): \(reason)"
        case .unsupportedVersion(let path, let version, let supported):
            return "\(path): version \(version) is not supported (supported: \(supported))"
        case .ioFailure(let path, let reason):
            return "\(path): I/O failure: \(reason)"
        }
    }

    /// Same as `description`.
    public var errorDescription: String? { description }
}
