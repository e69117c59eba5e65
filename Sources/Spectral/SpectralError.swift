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

/// Throws `SpectralError.invalidInput` naming the first NaN or infinity of planar `[channels, length]` samples
/// (librosa refuses non-finite audio the same way, `util.valid_audio`).
func requireFinite(_ samples: [Float], channels: Int) throws(SpectralError) {
    guard let index = samples.withUnsafeBufferPointer(firstNonFinite) else { return }
    let length = channels > 0 ? samples.count / channels : samples.count
    throw SpectralError.invalidInput(
        channel: index / max(length, 1), sample: index % max(length, 1), value: samples[index])
}

/// The index of the first non-finite value, scanning eight lanes at a time (`x · 0` is NaN exactly for NaN and ±∞).
func firstNonFinite(_ values: UnsafeBufferPointer<Float>) -> Int? {
    guard let base = values.baseAddress else { return nil }
    let raw = UnsafeRawPointer(base)
    var accumulator = SIMD8<Float>(repeating: 0)
    var i = 0
    while i + 8 <= values.count {
        accumulator += raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) * 0
        i += 8
    }
    var clean = (0..<8).allSatisfy { !accumulator[$0].isNaN }
    while i < values.count {
        if !values[i].isFinite { clean = false }
        i += 1
    }
    return clean ? nil : values.firstIndex { !$0.isFinite }
}
