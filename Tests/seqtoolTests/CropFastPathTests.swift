import Foundation
import TestSupport
import Testing

@testable import seqtool

/// The hand-written replacements of Foundation calls on `crop`'s per-file path, each checked against the call it
/// replaces.
@Suite struct CropFastPathTests {
    @Test func fixedPoint6MatchesPrintfRounding() {
        var rng = SplitMix64(seed: 31)
        var values: [Double] = [
            0, -0.0, 0.5, 1, -0.5, 1e-7, -1e-7, 4e-7, 5e-7, 6e-7, -5e-7, 0.0000005, 0.0000015, 0.0000025,
            1.0000005, 2.5e-6, 123_456.789_012_5, 1e9 + 0.000_000_5, 4_503_599_627.370_496, 1e12, -1e12, 1e300,
            -1e300, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 0x1p52 / 1e6,
        ]
        // Window times: multiples of hops at common rates, the way the manifest computes them.
        for rate in [8000.0, 16000, 22050, 44100, 48000, 11025, 100, 3] {
            for sample in stride(from: -40_000, through: 400_000, by: 997) {
                values.append(Double(sample) / rate)
                values.append((Double(sample) + 0.5 * 1000) / rate)
            }
        }
        for _ in 0..<20_000 {
            let exponent = Double(Int(rng.next() % 24)) - 12
            values.append((Double(rng.next() >> 11) / 0x1p53 - 0.5) * pow(10, exponent))
            // Values exactly (in binary) at half a microsecond, and their neighbours.
            let half = (Double(Int(rng.next() % 2_000_000)) - 1_000_000 + 0.5) / 1024
            values += [half, half.nextUp, half.nextDown]
        }
        var mismatches: [String] = []
        for value in values where fixedPoint6(value) != String(format: "%.6f", value) {
            mismatches.append("\(value): \(fixedPoint6(value)) vs \(String(format: "%.6f", value))")
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(values.count) differ, e.g. \(mismatches.prefix(5))")
    }

    @Test(arguments: [
        "a.wav", "dir/a.WAV", "/abs/path/x.flac", "no_extension", ".hidden", "dir/.hidden", "a.b.c", "a.", "dir.d/x",
        "dir.d/x.ogg", "x.wav/", "/", "", ".", "..", "a/..", "...", "a..", "..a", ".a.b", "a..b", "x/...", "x/.a.",
        "übung/straße.wav", "two words.csv", "a//b.mp3",
    ])
    func pathExtensionMatchesNSString(path: String) {
        #expect(InputExpander.pathExtension(path) == (path as NSString).pathExtension, "\(path)")
        if !path.contains("//") && (path.count < 2 || !path.hasSuffix("/")) {  // NSString also tidies those slashes
            #expect(InputExpander.deletingPathExtension(path) == (path as NSString).deletingPathExtension, "\(path)")
        }
    }

    @Test func outputNamesDropTheExtensionAsNSStringDoes() {
        let relative = [
            "a.wav", "dir/b.flac", "dir.d/c", "dir/.hidden", "x.tar.gz", "deep/er/d.WAV", "ü/é.ogg", "e.", "f g.csv",
        ]
        let files = relative.map { InputFile(path: "/in/" + $0, relativeName: $0, kind: .audio) }
        let expected = relative.map {
            CropJob.safeName(
                ($0 as NSString).deletingPathExtension.split(separator: "/")
                    .joined(separator: "__"))
        }
        #expect(CropJob.outputNames(for: files) == expected)
    }

    @Test func safeNameMatchesTheCharacterRule() {
        let names = [
            "zero__ava_0", "y z", "a,b;c", "dir__x.y-z", "", "tab\there", "ünïcödé", "日本語", "mixed é ascii", "e\u{301}",
            "emoji😀name", "#!$%&'()*+", "UPPER_lower_09",
        ]
        for name in names {
            let expected = name.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? String($0) : "_" }.joined()
            #expect(CropJob.safeName(name) == expected, "\(name)")
        }
    }

    @Test func csvFieldsQuoteOnlyWhenNeeded() {
        #expect(csvField("plain/path.wav") == "plain/path.wav")
        #expect(csvField("a,b") == "\"a,b\"")
        #expect(csvField("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(csvField("two\nlines") == "\"two\nlines\"")
        #expect(csvField("crlf\r\nline") == "\"crlf\r\nline\"")
        #expect(csvField("ünï,code") == "\"ünï,code\"")
    }
}

/// `crop` stops OpenBLAS's idle threads through a symbol looked up at run time: it must be there in this build,
/// or the release silently does nothing. (Calling it here could pull the pool from under a BLAS call of a test
/// running in parallel; `crop` calls it before any thread of its own exists, and each crop end-to-end test runs it.)
@Suite struct BLASThreadReleaseTests {
    @Test func openBLASThreadShutdownIsFound() {
        #expect(dlsym(nil, "blas_thread_shutdown_") != nil)
    }
}
