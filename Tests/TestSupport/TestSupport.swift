import Foundation
import Testing

/// A seeded 64-bit generator (SplitMix64, Steele et al. 2014) for reproducible tests.
///
/// Tests never use the system RNG: the same seed gives the same sequence on every machine.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform Float in `[low, high)`.
    public mutating func uniform(_ low: Float = 0, _ high: Float = 1) -> Float {
        low + (high - low) * Float(next() >> 40) / Float(1 << 24)
    }

    /// A standard-normal Float (Box–Muller).
    public mutating func normal() -> Float {
        let u1 = max(Double(next() >> 11) / Double(1 << 53), 1e-300)
        let u2 = Double(next() >> 11) / Double(1 << 53)
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
    }

    /// `count` uniform Floats in `[low, high)`.
    public mutating func uniformArray(_ count: Int, _ low: Float = -1, _ high: Float = 1) -> [Float] {
        (0..<count).map { _ in uniform(low, high) }
    }
}

/// Asserts `|actual - expected| <= atol + rtol * |expected|` for every element.
///
/// On failure it records one issue naming the count of bad elements, the worst index and both values there,
/// so a 10,000-element comparison fails with one readable line. NaN equals NaN; a length mismatch fails.
public func assertClose<A: Collection, B: Collection>(
    _ actual: A, _ expected: B, rtol: Double = 1e-5, atol: Double = 1e-6,
    _ message: @autoclosure () -> String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) where A.Element: BinaryFloatingPoint, B.Element: BinaryFloatingPoint {
    let a = actual.map { Double($0) }
    let e = expected.map { Double($0) }
    guard a.count == e.count else {
        Issue.record("length \(a.count) != expected \(e.count). \(message())", sourceLocation: sourceLocation)
        return
    }
    var worst = -1
    var worstExcess = 0.0
    var bad = 0
    for i in 0..<a.count {
        if a[i].isNaN && e[i].isNaN { continue }
        if a[i] == e[i] { continue }
        let excess = abs(a[i] - e[i]) - (atol + rtol * abs(e[i]))
        if !(excess <= 0) {
            bad += 1
            if worst < 0 || excess > worstExcess || excess.isNaN {
                worst = i
                worstExcess = excess
            }
        }
    }
    if bad > 0 {
        Issue.record(
            """
            \(bad) of \(a.count) elements differ (rtol \(rtol), atol \(atol)); worst at index \(worst): \
            actual \(a[worst]), expected \(e[worst]), |diff| \(abs(a[worst] - e[worst])). \(message())
            """,
            sourceLocation: sourceLocation
        )
    }
}

/// Where the repository's test fixtures and the optional shared development data live.
public enum TestPaths {
    /// The package root (the folder holding `Package.swift`), found from this source file's path.
    public static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
                return url
            }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    /// `Tests/Fixtures/<name>`: committed reference data produced by the scripts in `scripts/fixtures/`.
    public static func fixture(_ name: String) -> URL {
        packageRoot.appendingPathComponent("Tests/Fixtures").appendingPathComponent(name)
    }

    /// `../shared/data/<name>` beside the checkout, or `nil` when it is absent (a user's clone has none).
    ///
    /// Tests that need it use `.enabled(if: TestPaths.sharedData("…") != nil, "…")` so they skip with a message.
    public static func sharedData(_ name: String) -> URL? {
        let url = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data")
            .appendingPathComponent(name)
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }

    /// A fresh empty temporary directory, unique per call.
    public static func temporaryDirectory(_ prefix: String = "seqtool-test") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Reads a little-endian float32 binary fixture (`.f32`: raw values, no header).
public func loadFloat32Fixture(_ url: URL) throws -> [Float] {
    let data = try Data(contentsOf: url)
    return data.withUnsafeBytes { raw in
        (0..<(data.count / 4)).map {
            Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))
        }
    }
}
