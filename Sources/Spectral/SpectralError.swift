import Foundation

/// Everything that can go wrong computing spectral features: a bad parameter, an empty mel band, an FFTW failure.
///
/// Every case names the parameter (or band) and the bad value, so a message can be shown to a user as it is.
public enum SpectralError: Error, Sendable, Equatable {
    /// A parameter given by the caller is out of range, e.g. `hopLength = 0` or `nFFT = 256 < winLength = 400`.
    case invalidParameter(name: String, value: String, reason: String)
    /// A mel filter has no non-zero weight: too many bands for the FFT resolution or the frequency range.
    case emptyMelFilter(band: Int, lowHz: Double, highHz: Double, bands: Int, nFFT: Int)
    /// The input holds a value the computation cannot take (NaN, infinity) at a given channel and sample.
    case invalidInput(channel: Int, sample: Int, value: Float)
    /// A streaming call was made in the wrong order or with a mismatched shape.
    case streamMismatch(reason: String)
    /// FFTW could not create a plan for the given transform size.
    case planFailed(size: Int)
}

extension SpectralError: LocalizedError, CustomStringConvertible {
    /// A one-line message naming the parameter or band and the bad value.
    public var description: String {
        switch self {
        case .invalidParameter(let name, let value, let reason):
            return "invalid \(name) = \(value): \(reason)"
        case .emptyMelFilter(let band, let lowHz, let highHz, let bands, let nFFT):
            return """
                mel band \(band) of \(bands) (\(lowHz)–\(highHz) Hz) is empty with nFFT = \(nFFT): \
                use fewer mel bands, a larger nFFT or a wider frequency range
                """
        case .invalidInput(let channel, let sample, let value):
            return "invalid input value \(value) in channel \(channel) at sample \(sample)"
        case .streamMismatch(let reason):
            return "stream mismatch: \(reason)"
        case .planFailed(let size):
            return "FFTW could not plan a real transform of size \(size)"
        }
    }

    /// Same as `description`.
    public var errorDescription: String? { description }
}

extension SpectralError {
    /// Throws `.invalidParameter` unless `condition` holds.
    static func require(
        _ condition: Bool, _ name: String, _ value: @autoclosure () -> Any, _ reason: @autoclosure () -> String
    ) throws(SpectralError) {
        if !condition {
            throw SpectralError.invalidParameter(name: name, value: "\(value())", reason: reason())
        }
    }
}
