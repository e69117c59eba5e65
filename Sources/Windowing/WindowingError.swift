import Foundation

/// Everything that can go wrong cutting a signal into windows or labelling those windows.
///
/// Every case names the parameter and the bad value, so a message can be shown to a user as it is.
public enum WindowingError: Error, Sendable, Equatable {
    /// A parameter given by the caller is out of range (`hop = 0`, `overlap = 1.2`, a NaN duration, …).
    case invalidParameter(name: String, value: String, reason: String)
    /// A planar buffer whose element count is not `channels × frames`.
    ///
    /// `name` is the argument (`samples`, `chunk`), `count` its element count.
    case shapeMismatch(name: String, count: Int, channels: Int)
    /// Per-sample labels whose count differs from the signal length they describe.
    case labelCountMismatch(labels: Int, signalLength: Int)
    /// `push` or `finish` was called on a `StreamingFramer` after `finish()`.
    case streamFinished
}

extension WindowingError: LocalizedError, CustomStringConvertible {
    /// A one-line message naming the parameter and the bad value.
    public var description: String {
        switch self {
        case .invalidParameter(let name, let value, let reason):
            return "invalid \(name) = \(value): \(reason)"
        case .shapeMismatch(let name, let count, let channels):
            return "\(name) holds \(count) values, which is not a whole number of frames of \(channels) channels"
        case .labelCountMismatch(let labels, let signalLength):
            return "\(labels) per-sample labels for a signal of \(signalLength) samples; counts must match"
        case .streamFinished:
            return "the streaming framer was already finished; create a new one or call reset()"
        }
    }

    /// Same as `description`.
    public var errorDescription: String? { description }
}
