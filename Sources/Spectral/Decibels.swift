import CSpectralKernels
import Foundation

/// The reference power that maps to 0 dB.
public enum DecibelReference: Sendable, Equatable, Hashable {
    /// A fixed reference (librosa's default `ref=1.0`).
    case value(Double)
    /// The largest input value (librosa `ref=np.max`); in a stream, the largest value seen so far.
    case maximum
}

/// Conversion of power to decibels, `librosa.power_to_db` (and `amplitude_to_db` with `multiplier` 20).
public struct DecibelOptions: Sendable, Equatable, Hashable {
    /// 0 dB reference (default `.value(1)`, as librosa).
    public var reference: DecibelReference = .value(1)
    /// Floor applied to inputs and the reference before the logarithm (librosa `amin=1e-10`).
    public var amin: Double = 1e-10
    /// Dynamic range kept below the peak (dB); `nil` keeps everything. librosa's default is 80.
    public var topDB: Double? = 80
    /// 10 for power, 20 for amplitude.
    public var multiplier: Double = 10

    /// librosa's defaults: `ref=1.0, amin=1e-10, top_db=80.0`.
    public init() {}

    /// Options with every field given.
    public init(reference: DecibelReference, amin: Double = 1e-10, topDB: Double? = 80, multiplier: Double = 10) {
        self.reference = reference
        self.amin = amin
        self.topDB = topDB
        self.multiplier = multiplier
    }

    /// Validates the options.
    func validate() throws(SpectralError) {
        try SpectralError.require(amin > 0 && amin.isFinite, "amin", amin, "must be > 0")
        if let topDB { try SpectralError.require(topDB >= 0, "topDB", topDB, "must be ≥ 0") }
        if case .value(let value) = reference {
            try SpectralError.require(value.isFinite, "ref", value, "must be finite")
        }
    }
}

/// `librosa.power_to_db(S, ref=, amin=, top_db=)` over the whole array (the reference maximum and the `top_db`
/// clamp are global, as librosa's are over every channel).
///
/// ```
/// dB = m log10(max(amin, S)) − m log10(max(amin, |ref|));   dB = max(dB, max(dB) − top_db)
/// ```
///
/// - Throws: `SpectralError.invalidParameter` for `amin ≤ 0`, `topDB < 0` or a non-finite reference.
public func powerToDB(_ power: [Float], options: DecibelOptions = DecibelOptions()) throws(SpectralError) -> [Float] {
    try options.validate()
    var values = power
    let reference: Double
    switch options.reference {
    case .value(let value): reference = abs(value)
    case .maximum: reference = Double(power.max() ?? 0)
    }
    let offset = Float(options.multiplier * log10(max(options.amin, reference)))
    let multiplier = Float(options.multiplier)
    let amin = Float(options.amin)
    values.withUnsafeMutableBufferPointer { buffer in
        guard let base = buffer.baseAddress else { return }
        spectral_log10_floor(base, buffer.count, amin, multiplier)
    }
    for i in values.indices { values[i] -= offset }
    if let topDB = options.topDB, let peak = values.max() {
        let floor = peak - Float(topDB)
        for i in values.indices { values[i] = max(values[i], floor) }
    }
    return values
}

/// `librosa.power_to_db` over a stream of power blocks, with a running maximum in place of the global one.
///
/// ```
/// peak = max(peak, max(block));  ref = |value| or peak
/// dB = m log10(max(amin, S)) − m log10(max(amin, ref));   dB = max(dB, m log10(max(amin, peak)) − m log10(max(amin, ref)) − top_db)
/// ```
/// Each block is converted with what has been seen so far, so it never waits for the end. Once the loudest block
/// has passed, the output equals `powerToDB` of the whole stream; before that, a `.maximum` reference is the running
/// maximum and the `top_db` floor is lower (never higher) than offline.
public struct RunningPowerToDB: Sendable {
    /// The conversion's parameters.
    public let options: DecibelOptions
    /// The largest power seen so far (0 before the first block).
    public private(set) var peakPower: Float = 0

    /// Prepares a stream conversion.
    ///
    /// - Throws: `SpectralError.invalidParameter` for `amin ≤ 0`, `topDB < 0` or a non-finite reference.
    public init(options: DecibelOptions = DecibelOptions()) throws(SpectralError) {
        try options.validate()
        self.options = options
    }

    /// Converts one block of power values (any shape, any length) to decibels.
    public mutating func callAsFunction(_ power: [Float]) -> [Float] {
        peakPower = max(peakPower, power.max() ?? 0)
        let multiplier = Float(options.multiplier)
        let amin = Float(options.amin)
        let reference: Float
        switch options.reference {
        case .value(let value): reference = Float(abs(value))
        case .maximum: reference = peakPower
        }
        let offset = multiplier * log10f(max(amin, reference))
        var values = power
        values.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            spectral_log10_floor(base, buffer.count, amin, multiplier)
        }
        let floor = options.topDB.map { multiplier * log10f(max(amin, peakPower)) - offset - Float($0) } ?? -.infinity
        for i in values.indices { values[i] = max(values[i] - offset, floor) }
        return values
    }
}
