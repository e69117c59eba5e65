import AudioIO
import Foundation
import TestSupport
import Testing

/// `.npy` reading and writing against files NumPy wrote (scripts/fixtures/audio_fixtures.py).
struct NPYTests {
    /// `np.arange(24, dtype=np.float32) * 0.5 - 3`, shape (2, 3, 4).
    static let ramp = (0..<24).map { Float($0) * 0.5 - 3 }

    static let readCases: [(String, [Int], [Float])] = [
        ("npy_f4_v1.npy", [2, 3, 4], ramp),
        ("npy_f4_v2.npy", [2, 3, 4], ramp),
        ("npy_f8.npy", [3, 5], (0..<15).map { Float(Double($0) / 7) }),
        ("npy_i4.npy", [7], (-3...3).map { Float($0 * 1000) }),
        ("npy_i8.npy", [7], (-3...3).map { Float($0 * 100_000) }),
        ("npy_u1.npy", [2, 8], stride(from: 0, to: 256, by: 16).map { Float($0) }),
        ("npy_i1.npy", [2, 8], stride(from: -128, to: 128, by: 16).map { Float($0) }),
        ("npy_scalar.npy", [], [3.5]),
        ("npy_empty.npy", [0, 3], []),
    ]

    @Test(arguments: readCases)
    func readsNumpyFiles(name: String, shape: [Int], values: [Float]) throws {
        let array = try NPY.read(path: AudioFixtures.path(name))
        #expect(array.shape == shape)
        assertClose(array.values, values, rtol: 0, atol: 0, name)
        let header = try NPY.readHeader(path: AudioFixtures.path(name))
        #expect(header.shape == shape)
        #expect(header.dataOffset % 64 == 0)
        #expect(header.version == (name.contains("v2") ? .v2 : .v1))
    }

    @Test func readHeaderReportsTheDtype() throws {
        #expect(try NPY.readHeader(path: AudioFixtures.path("npy_f8.npy")).dtype == .float64)
        #expect(try NPY.readHeader(path: AudioFixtures.path("npy_u1.npy")).dtype == .uint8)
        #expect(try NPY.readHeader(path: AudioFixtures.path("npy_fortran.npy")).fortranOrder)
    }

    @Test(
        arguments: [
            ("npy_f4_v1.npy", [2, 3, 4], nil), ("npy_f4_v2.npy", [2, 3, 4], .v2), ("npy_scalar.npy", [], nil),
            ("npy_empty.npy", [0, 3], nil),
        ] as [(String, [Int], NPYVersion?)])
    func writesTheSameBytesAsNumpy(name: String, shape: [Int], version: NPYVersion?) throws {
        let scratch = try ScratchDirectory()
        let source = try NPY.read(path: AudioFixtures.path(name))
        #expect(source.shape == shape)
        let path = scratch.path("out.npy")
        try NPY.write(source, to: path, version: version)
        #expect(try AudioFixtures.bytes(name) == [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
        #expect(try scratch.contents() == ["out.npy"])
    }

    @Test func float64HeaderMatchesNumpyAndValuesRoundTrip() throws {
        let scratch = try ScratchDirectory()
        let source = try NPY.read(path: AudioFixtures.path("npy_f8.npy"))
        let path = scratch.path("f8.npy")
        try NPY.write(source, to: path, dtype: .float64)
        let ours = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let numpys = try AudioFixtures.bytes("npy_f8.npy")
        #expect(ours.count == numpys.count)
        #expect(ours.prefix(128) == numpys.prefix(128))  // magic, version, header text, padding
        let back = try NPY.read(path: path)
        #expect(back == source)
    }

    @Test func signalRoundTrip() throws {
        let scratch = try ScratchDirectory()
        let signal = try sineSignal(channels: 3, frames: 257, sampleRate: 16_000)
        let path = scratch.path("signal.npy")
        try NPY.write(NPYArray(signal), to: path)
        let back = try NPY.read(path: path)
        #expect(back.shape == [3, 257])
        assertClose(back.values, signal.samples, rtol: 0, atol: 0)
    }

    @Test func largeHeadersSwitchToVersion2LikeNumpy() throws {
        // 8,000 dimensions of 1 make a ~24 KB header (fits 1.0); 30,000 make ~90 KB (needs 2.0).
        let scratch = try ScratchDirectory()
        for (dims, version) in [(8000, NPYVersion.v1), (30000, .v2)] {
            let path = scratch.path("wide\(dims).npy")
            try NPY.write(try NPYArray(shape: [Int](repeating: 1, count: dims), values: [7]), to: path)
            let header = try NPY.readHeader(path: path)
            #expect(header.version == version)
            #expect(header.dataOffset % 64 == 0)
            #expect(try NPY.read(path: path).values == [7])
        }
    }

    @Test func resizedValuesAreRejected() throws {
        let scratch = try ScratchDirectory()
        var array = try NPYArray(shape: [2], values: [1, 2])
        array.values.append(3)
        #expect(throws: AudioIOError.invalidParameter(name: "values", value: "3 elements", reason: "shape [2] needs 2"))
        {
            try NPY.write(array, to: scratch.path("bad.npy"))
        }
    }

    @Test func integerDtypesCannotBeWritten() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.path("x.npy")
        let array = try NPYArray(shape: [2], values: [1, 2])
        #expect(throws: AudioIOError.unsupportedFormat(path: path, format: "npy dtype <i4")) {
            try NPY.write(array, to: path, dtype: .int32)
        }
        #expect(try scratch.contents().isEmpty)
    }

    @Test func arrayInitialiserChecksTheShape() {
        #expect(
            throws: AudioIOError.invalidParameter(name: "values", value: "5 elements", reason: "shape [2, 3] needs 6")
        ) {
            try NPYArray(shape: [2, 3], values: [1, 2, 3, 4, 5])
        }
        #expect(throws: AudioIOError.self) { try NPYArray(shape: [-1], values: []) }
    }

    // MARK: Damaged files

    /// Expects `.badArray` naming `path` whose reason contains `part`.
    func expectBadArray(_ path: String, _ part: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try NPY.read(path: path)
            Issue.record("no error reading \(path)", sourceLocation: sourceLocation)
        } catch let AudioIOError.badArray(errorPath, reason) {
            #expect(errorPath == path, sourceLocation: sourceLocation)
            #expect(reason.contains(part), "reason: \(reason)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected .badArray, got \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func fortranOrderIsATypedError() {
        expectBadArray(AudioFixtures.path("npy_fortran.npy"), "Fortran")
    }

    @Test func bigEndianIsATypedError() {
        expectBadArray(AudioFixtures.path("npy_bigendian.npy"), "big-endian dtype '>f4'")
    }

    @Test func damagedFiles() throws {
        let scratch = try ScratchDirectory()
        let good = try AudioFixtures.bytes("npy_f4_v1.npy")
        let headerText = String(decoding: good[10..<128], as: UTF8.self)
        func variant(_ name: String, _ bytes: [UInt8]) throws -> String { try scratch.write(name, bytes) }
        func replacing(_ old: String, _ new: String) -> [UInt8] {
            Array(good[0..<10]) + Array(headerText.replacingOccurrences(of: old, with: new).utf8) + Array(good[128...])
        }

        expectBadArray(try variant("empty.npy", []), "file is empty")
        expectBadArray(try variant("magic.npy", Array("PK\u{3}\u{4}not an npy file".utf8)), "magic")
        expectBadArray(try variant("version.npy", Array(good[0..<6]) + [9, 0] + Array(good[8...])), "version 9.0")
        expectBadArray(try variant("cut-header.npy", Array(good[0..<60])), "header declares 118 bytes")
        expectBadArray(try variant("short-data.npy", Array(good.dropLast(5))), "data holds 91 bytes")
        expectBadArray(try variant("dtype.npy", replacing("'<f4'", "'<c8'")), "unsupported dtype '<c8'")
        expectBadArray(try variant("dict.npy", replacing("'shape': (", "'shape': [")), "cannot parse header")
        expectBadArray(try variant("no-shape.npy", replacing("'shape'", "'shope'")), "no 'shape'")
        expectBadArray(try variant("negative.npy", replacing("(2, 3, 4)", "(2, -3, 4)")), "negative")
        expectBadArray(try variant("nested.npy", replacing("(2, 3, 4)", "((((((2,),),),),)")), "nested too deeply")
        expectBadArray(try variant("nested2.npy", replacing("(2, 3, 4)", "((2, 3), 4)")), "non-integer")
        #expect(throws: AudioIOError.cannotOpen(path: scratch.path("none.npy"), reason: "no such file")) {
            try NPY.read(path: scratch.path("none.npy"))
        }
    }

    // MARK: Streaming writer

    @Test func streamWriterEqualsOneShotWrite() throws {
        let scratch = try ScratchDirectory()
        var rng = SplitMix64(seed: 11)
        let rows = (0..<13).map { _ in rng.uniformArray(6) }
        let path = scratch.path("stream.npy")
        let writer = try NPYStreamWriter(path: path, rowShape: [2, 3])
        #expect(try scratch.contents().count == 1)  // the hidden temporary file only
        #expect(!FileManager.default.fileExists(atPath: path))
        for row in rows.prefix(5) { try writer.append(row) }
        try writer.append(rows: Array(rows[5...].joined()))
        #expect(writer.rowCount == 13)
        try writer.finish()
        #expect(try scratch.contents() == ["stream.npy"])

        let expected = try NPYArray(shape: [13, 2, 3], values: Array(rows.joined()))
        #expect(try NPY.read(path: path) == expected)
        try NPY.write(expected, to: scratch.path("oneshot.npy"))
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: path))
                == Data(contentsOf: URL(fileURLWithPath: scratch.path("oneshot.npy"))))
    }

    @Test func streamWriterAcceptsSignalWindowsAndFloat64() throws {
        let scratch = try ScratchDirectory()
        let window = try sineSignal(channels: 2, frames: 16, sampleRate: 8000)
        let path = scratch.path("windows.npy")
        let writer = try NPYStreamWriter(path: path, rowShape: [2, 16], dtype: .float64)
        for _ in 0..<3 { try writer.append(window) }
        let wrong = try sineSignal(channels: 1, frames: 16, sampleRate: 8000)
        #expect(throws: AudioIOError.invalidParameter(name: "window", value: "[1, 16]", reason: "row shape is [2, 16]"))
        {
            try writer.append(wrong)
        }
        try writer.finish()
        let header = try NPY.readHeader(path: path)
        #expect(header.dtype == .float64)
        #expect(header.shape == [3, 2, 16])
        #expect(try NPY.read(path: path).values == Array(repeating: window.samples, count: 3).flatMap { $0 })
    }

    @Test func streamWriterTruncateDropsRowsAsIfNeverAppended() throws {
        let scratch = try ScratchDirectory()
        var rng = SplitMix64(seed: 12)
        let rows = (0..<9).map { _ in rng.uniformArray(4) }
        let path = scratch.path("rolled.npy")
        let writer = try NPYStreamWriter(path: path, rowShape: [2, 2], durability: .renameOnly)
        try writer.append(rows: Array(rows[0..<3].joined()))
        try writer.append(rows: Array(rows[3..<7].joined()))  // a file that then fails
        try writer.truncate(toRows: 3)
        #expect(writer.rowCount == 3)
        try writer.append(rows: Array(rows[7..<9].joined()))
        #expect(throws: AudioIOError.invalidParameter(name: "rows", value: "6", reason: "must be in 0...5")) {
            try writer.truncate(toRows: 6)
        }
        try writer.finish()
        let expected = try NPYArray(shape: [5, 2, 2], values: Array((rows[0..<3] + rows[7..<9]).joined()))
        #expect(try NPY.read(path: path) == expected)
        try NPY.write(expected, to: scratch.path("oneshot.npy"))
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: path))
                == Data(contentsOf: URL(fileURLWithPath: scratch.path("oneshot.npy"))))
        #expect(throws: AudioIOError.self) { try writer.truncate(toRows: 0) }
    }

    @Test func streamWriterAcrossManyBufferFlushes() throws {
        // Rows of 5,000 values (20,000 bytes) never line up with the write buffer, which 300 rows fill many times.
        let scratch = try ScratchDirectory()
        var rng = SplitMix64(seed: 13)
        let rowLength = 5000
        let rows = (0..<300).map { _ in rng.uniformArray(rowLength) }
        #expect(rows.count * rowLength * 4 > 5 * NPYStreamWriter.bufferBytes)
        let path = scratch.path("big.npy")
        let writer = try NPYStreamWriter(path: path, rowShape: [1, rowLength], durability: .renameOnly)
        try writer.append(rows: Array(rows[0..<100].joined()))
        try writer.append(rows: Array(rows[100..<260].joined()))
        // A file that fails after its rows went to disk: the cut lands before bytes flushed long ago.
        try writer.truncate(toRows: 70)
        for row in rows[260...] { try writer.append(row) }
        try writer.finish()
        let kept = Array(rows[0..<70]) + Array(rows[260...])
        let expected = try NPYArray(shape: [kept.count, 1, rowLength], values: Array(kept.joined()))
        try NPY.write(expected, to: scratch.path("oneshot.npy"))
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: path))
                == Data(contentsOf: URL(fileURLWithPath: scratch.path("oneshot.npy"))))
    }

    @Test func streamWriterWithNoRows() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.path("none.npy")
        let writer = try NPYStreamWriter(path: path, rowShape: [3])
        try writer.finish()
        #expect(try AudioFixtures.bytes("npy_empty.npy") == [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    @Test func streamWriterMisuse() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.path("x.npy")
        let writer = try NPYStreamWriter(path: path, rowShape: [4])
        #expect(throws: AudioIOError.invalidParameter(name: "row", value: "3 values", reason: "row shape [4] needs 4"))
        {
            try writer.append([1, 2, 3])
        }
        #expect(throws: AudioIOError.self) { try writer.append(rows: [1, 2, 3, 4, 5]) }
        try writer.append([1, 2, 3, 4])
        try writer.finish()
        #expect(throws: AudioIOError.self) { try writer.finish() }
        #expect(throws: AudioIOError.self) { try writer.append([1, 2, 3, 4]) }
        #expect(try NPY.read(path: path).shape == [1, 4])
        #expect(throws: AudioIOError.self) { try NPYStreamWriter(path: path, rowShape: [2], dtype: .int8) }
        #expect(throws: AudioIOError.self) { try NPYStreamWriter(path: scratch.path("no/x.npy"), rowShape: [2]) }
    }

    @Test func abandonedStreamWriterLeavesNoFile() throws {
        let scratch = try ScratchDirectory()
        do {
            let writer = try NPYStreamWriter(path: scratch.path("abandoned.npy"), rowShape: [2])
            try writer.append([1, 2])
            #expect(try scratch.contents().count == 1)
        }
        #expect(try scratch.contents().isEmpty)
    }

    // MARK: Memory-mapped reader

    @Test func mappedRowsEqualTheWholeArray() throws {
        let scratch = try ScratchDirectory()
        var rng = SplitMix64(seed: 5)
        let array = try NPYArray(shape: [300, 2, 7], values: rng.uniformArray(300 * 14))
        let path = scratch.path("shard.npy")
        try NPY.write(array, to: path)
        let mapped = try NPYMappedArray(path: path)
        #expect(mapped.rowCount == 300)
        #expect(mapped.rowShape == [2, 7])
        #expect(mapped.rowLength == 14)
        #expect(mapped.shape == [300, 2, 7])
        for index in [0, 1, 150, 299] {
            #expect(try mapped.row(index) == Array(array.values[(index * 14)..<((index + 1) * 14)]))
        }
        #expect(try mapped.rows(10..<20) == Array(array.values[140..<280]))
        #expect(try mapped.rows(0..<300) == array.values)
        #expect(try mapped.rows(5..<5).isEmpty)
        #expect(
            throws: AudioIOError.invalidParameter(
                name: "rows", value: "299..<301", reason: "must lie in 0..<300 of \(path)")
        ) {
            try mapped.rows(299..<301)
        }
        #expect(throws: AudioIOError.self) { try mapped.row(-1) }
    }

    @Test func zeroCopyFloat32Rows() throws {
        let mapped = try NPYMappedArray(path: AudioFixtures.path("npy_f4_v1.npy"))
        let sum = try mapped.withUnsafeFloat32Rows(1..<2) { rows in
            #expect(Array(rows) == Array(Self.ramp[12..<24]))
            return rows.reduce(0, +)
        }
        #expect(sum == Self.ramp[12..<24].reduce(0, +))
        #expect(throws: AudioIOError.self) { try mapped.withUnsafeFloat32Rows(1..<3) { _ in } }
        let doubles = try NPYMappedArray(path: AudioFixtures.path("npy_f8.npy"))
        let error = try #require(throws: AudioIOError.self) { try doubles.withUnsafeFloat32Rows(0..<1) { _ in } }
        guard case .badArray(_, let reason) = error else {
            Issue.record("expected .badArray, got \(error)")
            return
        }
        #expect(reason.contains("<f8"))
    }

    @Test func mappedReaderConvertsEveryDtype() throws {
        for (name, shape, values) in Self.readCases where !shape.isEmpty {
            let mapped = try NPYMappedArray(path: AudioFixtures.path(name))
            #expect(mapped.shape == shape, "\(name)")
            let all = try mapped.rows(0..<mapped.rowCount)
            assertClose(all, values, rtol: 0, atol: 0, name)
        }
    }

    @Test func mappedReaderErrors() throws {
        let scratch = try ScratchDirectory()
        #expect(
            throws: AudioIOError.badArray(
                path: AudioFixtures.path("npy_scalar.npy"), reason: "a 0-d array has no rows to map")
        ) {
            try NPYMappedArray(path: AudioFixtures.path("npy_scalar.npy"))
        }
        #expect(throws: AudioIOError.cannotOpen(path: scratch.path("none.npy"), reason: "no such file")) {
            try NPYMappedArray(path: scratch.path("none.npy"))
        }
        let empty = try scratch.write("empty.npy", [])
        #expect(throws: AudioIOError.badArray(path: empty, reason: "file is empty")) {
            try NPYMappedArray(path: empty)
        }
        let short = try scratch.write("short.npy", Array(try AudioFixtures.bytes("npy_f4_v1.npy").dropLast(4)))
        #expect(throws: AudioIOError.self) { try NPYMappedArray(path: short) }
        #expect(throws: AudioIOError.self) { try NPYMappedArray(path: AudioFixtures.path("npy_fortran.npy")) }
    }

    // MARK: Cross-check with NumPy

    @Test(
        .enabled(
            if: PythonReference.executable != nil, "needs Python with numpy + soundfile (SEQTOOL_PYTHON or ../venv)"))
    func numpyLoadsWhatWeWrite() throws {
        let scratch = try ScratchDirectory()
        var rng = SplitMix64(seed: 3)
        let cube = try NPYArray(shape: [3, 4, 5], values: rng.uniformArray(60))
        try NPY.write(cube, to: scratch.path("cube.npy"))
        try NPY.write(cube, to: scratch.path("cube_f8.npy"), dtype: .float64)
        try NPY.write(cube, to: scratch.path("cube_v2.npy"), version: .v2)
        try NPY.write(try NPYArray(shape: [], values: [-2.25]), to: scratch.path("scalar.npy"))
        let writer = try NPYStreamWriter(path: scratch.path("stream.npy"), rowShape: [4, 5])
        try writer.append(rows: cube.values)
        try writer.finish()

        try PythonReference.verify(scratch.url)
        for (name, dtype, shape, values) in [
            ("cube.npy", "<f4", [3, 4, 5], cube.values), ("cube_f8.npy", "<f8", [3, 4, 5], cube.values),
            ("cube_v2.npy", "<f4", [3, 4, 5], cube.values), ("scalar.npy", "<f4", [], [-2.25]),
            ("stream.npy", "<f4", [3, 4, 5], cube.values),
        ] as [(String, String, [Int], [Float])] {
            let report = try PythonReference.report(scratch.path(name))
            #expect(report["dtype"]?.string == dtype, "\(name)")
            #expect(report["shape"] == .array(shape.map { .number(Double($0)) }), "\(name)")
            #expect(report["fortran"] == .bool(false), "\(name)")
            assertClose(try PythonReference.values(scratch.path(name)), values, rtol: 0, atol: 0, name)
        }
    }
}
