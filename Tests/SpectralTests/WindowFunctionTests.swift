import TestSupport
import Testing

@testable import Spectral

struct WindowFunctionTests {
    static let cases: [(String, WindowFunction)] = [
        ("rectangular", .rectangular), ("hann", .hann), ("hamming", .hamming), ("blackman", .blackman),
        ("kaiser", .kaiser(beta: 8.6)), ("tukey", .tukey(alpha: 0.3)), ("sine", .sine),
    ]

    @Test func everyWindowMatchesScipyGetWindow() throws {
        let table = try SpectralFixture.windows()
        for (name, window) in Self.cases {
            for periodic in [true, false] {
                for length in [1, 2, 7, 16] {
                    let key = "\(name)-\(periodic ? "periodic" : "symmetric")-\(length)"
                    let expected = try #require(table[key], "fixture \(key)")
                    let actual = try window.values(length: length, periodic: periodic)
                    assertClose(actual, expected, rtol: 1e-6, atol: 1e-7, key)
                }
            }
        }
    }

    @Test func poveyMatchesKaldiNativeFbank() throws {
        let expected = try #require(try SpectralFixture.windows()["povey-symmetric-400"])
        assertClose(try WindowFunction.povey.values(length: 400, periodic: false), expected, rtol: 1e-6, atol: 1e-7)
    }

    @Test func shortWindowIsCentredLikeLibrosaPadCenter() throws {
        let table = try SpectralFixture.windows()
        let even = try #require(table["hann-padded-400-512"])
        assertClose(try WindowFunction.hann.padded(windowLength: 400, nFFT: 512), even, rtol: 1e-6, atol: 1e-7)
        let odd = try #require(table["hann-padded-255-256"])
        assertClose(try WindowFunction.hann.padded(windowLength: 255, nFFT: 256), odd, rtol: 1e-6, atol: 1e-7)
    }

    @Test func emptyWindowAndBadParametersAreHandled() throws {
        #expect(try WindowFunction.hann.values(length: 0).isEmpty)
        #expect(throws: SpectralError.self) { try WindowFunction.hann.values(length: -1) }
        #expect(throws: SpectralError.self) { try WindowFunction.tukey(alpha: 1.5).values(length: 8) }
        #expect(throws: SpectralError.self) { try WindowFunction.kaiser(beta: .nan).values(length: 8) }
        #expect(throws: SpectralError.self) { try WindowFunction.hann.padded(windowLength: 513, nFFT: 512) }
    }

    @Test func besselI0MatchesKnownValues() {
        // Abramowitz & Stegun table 9.8: I0(1) = 1.2660658777520082, I0(5) = 27.239871823604442.
        #expect(abs(besselI0(0) - 1) < 1e-15)
        #expect(abs(besselI0(1) - 1.2660658777520082) < 1e-14)
        #expect(abs(besselI0(5) / 27.239871823604442 - 1) < 1e-14)
    }
}
