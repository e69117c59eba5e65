import Foundation
import TestSupport
import Testing

@testable import AudioIO

/// Writes `text` to a fresh temporary file and returns its path.
func writeTemporary(_ text: String, name: String = "sensor.csv") throws -> String {
    let url = try TestPaths.temporaryDirectory("sensor").appendingPathComponent(name)
    try Data(text.utf8).write(to: url)
    return url.path
}

/// Seconds since the epoch of a UTC calendar time, computed by Foundation's Gregorian calendar (the reference
/// the hand-written parser is checked against).
func epoch(_ y: Int, _ mo: Int, _ d: Int, _ h: Int = 0, _ mi: Int = 0, _ s: Int = 0) -> Double {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    let components = DateComponents(year: y, month: mo, day: d, hour: h, minute: mi, second: s)
    return calendar.date(from: components)!.timeIntervalSince1970
}

@Suite struct SensorCSVTests {
    let t0 = epoch(2024, 5, 1, 10, 0, 0)

    @Test func readsTimestampsChannelsAndLabels() throws {
        let path = try writeTemporary(
            """
            timestamp,acc_x,acc_y,label
            2024-05-01 10:00:00,1.5,-2,walk
            2024-05-01 10:00:01,2.5,-3,walk
            2024-05-01 10:00:02,3.5,-4,run

            """)
        let r = try SensorCSV.read(path: path)
        #expect(r.channelNames == ["acc_x", "acc_y"])
        #expect(r.segments.count == 1)
        let signal = r.segments[0].signal
        #expect(signal.channels == 2 && signal.frames == 3)
        #expect(signal.samples == [1.5, 2.5, 3.5, -2, -3, -4])
        #expect(signal.sampleRate == 1)
        #expect(r.inferredRate == 1)
        #expect(r.timestamps == [t0, t0 + 1, t0 + 2])
        #expect(r.segments[0].startTime == t0)
        #expect(r.segments[0].startDate == Date(timeIntervalSince1970: t0))
        #expect(r.labels == ["walk", "walk", "run"])
        #expect(r.gaps.isEmpty && r.unorderedLines.isEmpty && r.droppedLines.isEmpty)
        #expect(r.jitter == SensorJitter(rms: 0, max: 0, steps: 2))
    }

    @Test func semicolonAndTabDelimitersAreDetected() throws {
        let semicolon = try writeTemporary("time;a;b\n0;1;2\n0.5;3;4\n")
        let r = try SensorCSV.read(path: semicolon)
        #expect(r.segments[0].signal.samples == [1, 3, 2, 4])
        #expect(r.sampleRate == 2)
        let tab = try writeTemporary("date\ta\n0\t1\n0.25\t3\n")
        #expect(try SensorCSV.read(path: tab).segments[0].signal.samples == [1, 3])
        let forced = try writeTemporary("time;a\n0;1\n1;2\n")
        #expect(throws: AudioIOError.missingColumn(path: forced, column: "timestamp", available: ["time;a"])) {
            try SensorCSV.read(path: forced, options: SensorCSVOptions(delimiter: .comma))
        }
    }

    @Test func everyTimestampFormat() throws {
        let cases: [(String, Double)] = [
            ("2013-12-02 21:15:00", epoch(2013, 12, 2, 21, 15)),
            ("2013-12-02T21:15:00", epoch(2013, 12, 2, 21, 15)),
            ("2013-12-02t21:15", epoch(2013, 12, 2, 21, 15)),
            ("2013-12-02", epoch(2013, 12, 2)),
            ("2013-12-02 21:15:00.250", epoch(2013, 12, 2, 21, 15) + 0.25),
            ("2013-12-02T21:15:00.000001Z", epoch(2013, 12, 2, 21, 15) + 0.000001),
            ("2013-12-02T23:15:00+02:00", epoch(2013, 12, 2, 21, 15)),
            ("2013-12-02T15:45:00-0530", epoch(2013, 12, 2, 21, 15)),
            ("2013-12-03T00:15:00+03", epoch(2013, 12, 2, 21, 15)),
            ("2024-02-29 00:00:00", epoch(2024, 2, 29)),
            ("1969-12-31 23:59:59", -1),
            ("1386018900", epoch(2013, 12, 2, 21, 15)),
            ("1386018900.5", epoch(2013, 12, 2, 21, 15) + 0.5),
            ("  2013-12-02 21:15:00  ", epoch(2013, 12, 2, 21, 15)),
        ]
        for (text, expected) in cases {
            let parsed = try #require(SensorTimestamp.parse(text), "\(text)")
            #expect(abs(parsed - expected) <= 1e-6, "\(text): \(parsed) != \(expected)")
        }
        // Fractions near the epoch, where a Double resolves far below a microsecond: exact to the last bit.
        #expect(SensorTimestamp.parse("1970-01-01T00:00:00.123456789") == 0.123456789)
        #expect(SensorTimestamp.parse("1970-01-01 00:00:01.5+00:00") == 1.5)
        #expect(SensorTimestamp.parse("1970-01-01 00:00:00.1234567890123456789") == 0.123456789012345)
        let bad = [
            "2013-13-02", "2013-02-29", "2013-12-02 24:00:00", "2013-12-02 21:61", "2013-12-02 21:15:00.",
            "2013-12-02X21:15", "2013/12/02", "2013-12-02 21:15:00+2", "yesterday", "", "inf",
        ]
        for text in bad { #expect(SensorTimestamp.parse(text) == nil, "\(text)") }
    }

    @Test func manyChannelsRoundTripExactly() throws {
        // 12 channels × 300 rows of seeded values printed in Swift's shortest round-trip form, 50 Hz epoch times.
        var rng = SplitMix64(seed: 2024)
        let channels = 12
        let frames = 300
        let values = (0..<(channels * frames)).map { _ in rng.normal() * 1000 }
        var text = "timestamp," + (0..<channels).map { "c\($0)" }.joined(separator: ",") + "\n"
        for f in 0..<frames {
            let row = (0..<channels).map { "\(values[$0 * frames + f])" }
            text += "\(1_700_000_000 + Double(f) / 50)," + row.joined(separator: ",") + "\n"
        }
        let r = try SensorCSV.read(path: writeTemporary(text))
        #expect(r.segments[0].signal.channels == channels && r.segments[0].signal.frames == frames)
        #expect(r.segments[0].signal.samples == values)
        #expect(r.channelNames == (0..<channels).map { "c\($0)" })
        #expect(abs(r.sampleRate - 50) < 1e-4 && r.gaps.isEmpty)
    }

    @Test func directoryIsNotAFile() throws {
        let directory = try TestPaths.temporaryDirectory("sensor").path
        #expect(throws: AudioIOError.cannotOpen(path: directory, reason: "is a directory")) {
            try SensorCSV.read(path: directory)
        }
    }

    @Test func isoTimestampsInAFile() throws {
        let path = try writeTemporary(
            """
            Timestamp,v
            2024-05-01T10:00:00.000Z,1
            2024-05-01T12:00:00.010+02:00,2
            2024-05-01T10:00:00.020Z,3

            """)
        let r = try SensorCSV.read(path: path)
        assertClose(try #require(r.timestamps), [t0, t0 + 0.01, t0 + 0.02], rtol: 0, atol: 1e-6)
        // Epoch seconds near 1.7e9 resolve 0.24 µs, so a 10 ms step is known to about 1e-5 relative.
        #expect(abs(r.sampleRate - 100) < 1e-3)
    }

    @Test func noTimestampColumnUsesTheGivenRate() throws {
        let path = try writeTemporary("x,y\n1,2\n3,4\n5,6\n")
        let r = try SensorCSV.read(path: path, options: SensorCSVOptions(sampleRate: 50))
        #expect(r.timestamps == nil && r.inferredRate == nil && r.jitter == nil)
        #expect(r.segments[0].signal.samples == [1, 3, 5, 2, 4, 6])
        #expect(r.segments[0].signal.sampleRate == 50 && r.segments[0].startTime == nil)
        #expect(throws: AudioIOError.missingColumn(path: path, column: "timestamp", available: ["x", "y"])) {
            try SensorCSV.read(path: path)
        }
        // A column named like a timestamp is an ordinary channel when timestamps are switched off.
        let timed = try writeTemporary("time,x\n0,1\n1,2\n")
        let off = try SensorCSV.read(path: timed, options: SensorCSVOptions(timestampColumn: .none, sampleRate: 2))
        #expect(off.channelNames == ["time", "x"])
    }

    @Test func channelSelectionByName() throws {
        let path = try writeTemporary("timestamp,id,a,b,c\n0,dev1,1,2,3\n1,dev1,4,5,6\n")
        let all = try SensorCSV.read(path: path)
        #expect(all.channelNames == ["a", "b", "c"])
        let chosen = try SensorCSV.read(path: path, options: SensorCSVOptions(channels: ["c", "a"]))
        #expect(chosen.channelNames == ["c", "a"])
        #expect(chosen.segments[0].signal.samples == [3, 6, 1, 4])
        #expect(
            throws: AudioIOError.missingColumn(path: path, column: "z", available: ["timestamp", "id", "a", "b", "c"])
        ) {
            try SensorCSV.read(path: path, options: SensorCSVOptions(channels: ["z"]))
        }
        #expect(throws: AudioIOError.badRow(path: path, line: 2, reason: "non-numeric value 'dev1' in column 'id'")) {
            try SensorCSV.read(path: path, options: SensorCSVOptions(channels: ["id"]))
        }
        let labelled = try SensorCSV.read(path: path, options: SensorCSVOptions(labelColumn: .named("id")))
        #expect(labelled.labels == ["dev1", "dev1"])
        #expect(
            throws: AudioIOError.missingColumn(
                path: path, column: "kind", available: ["timestamp", "id", "a", "b", "c"])
        ) {
            try SensorCSV.read(path: path, options: SensorCSVOptions(labelColumn: .named("kind")))
        }
    }

    @Test func quotesCRLFByteOrderMarkAndBlankLines() throws {
        let text = "\u{FEFF}\"timestamp\",\"x\",label\r\n0,\"1.5\",\"a,\"\"b\"\"\"\r\n\r\n1, 2 ,c\r\n"
        let path = try writeTemporary(text)
        let r = try SensorCSV.read(path: path)
        #expect(r.segments[0].signal.samples == [1.5, 2])
        #expect(r.labels == ["a,\"b\"", "c"])
        let bad = try writeTemporary("timestamp,x\n0,1\n\n1,\"2\n")
        #expect(throws: AudioIOError.badRow(path: bad, line: 4, reason: "unterminated quote")) {
            try SensorCSV.read(path: bad)
        }
    }

    @Test func badRowsNameTheirLine() throws {
        let count = try writeTemporary("timestamp,x,y\n0,1,2\n1,3\n")
        #expect(
            throws: AudioIOError.badRow(path: count, line: 3, reason: "expected 3 fields as in the header, found 2")
        ) {
            try SensorCSV.read(path: count)
        }
        let text = try writeTemporary("timestamp,x\n0,1\n1,2\n2,abc\n")
        #expect(throws: AudioIOError.badRow(path: text, line: 4, reason: "non-numeric value 'abc' in column 'x'")) {
            try SensorCSV.read(path: text)
        }
        let time = try writeTemporary("timestamp,x\n2024-05-01 10:00:00,1\n2024-05-01 25:00:00,2\n")
        #expect(
            throws: AudioIOError.badRow(
                path: time, line: 3, reason: "cannot read timestamp '2024-05-01 25:00:00' in column 'timestamp'")
        ) { try SensorCSV.read(path: time) }
        let noTime = try writeTemporary("timestamp,x\n0,1\n,2\n")
        #expect(throws: AudioIOError.missingValue(path: noTime, line: 3, column: "timestamp")) {
            try SensorCSV.read(path: noTime, options: SensorCSVOptions(missingValues: .zero))
        }
    }

    @Test func badHeadersAndFiles() throws {
        let blank = try writeTemporary("\nx\n1\n")
        #expect(throws: AudioIOError.badHeader(path: blank, reason: "line 1 is blank: a header row is required")) {
            try SensorCSV.read(path: blank, options: SensorCSVOptions(sampleRate: 1))
        }
        let duplicate = try writeTemporary("timestamp,x,x\n0,1,2\n")
        #expect(throws: AudioIOError.badHeader(path: duplicate, reason: "line 1: duplicate column name 'x'")) {
            try SensorCSV.read(path: duplicate)
        }
        let unnamed = try writeTemporary("timestamp,,x\n0,1,2\n")
        #expect(throws: AudioIOError.badHeader(path: unnamed, reason: "line 1: column 2 has no name")) {
            try SensorCSV.read(path: unnamed)
        }
        let textOnly = try writeTemporary("timestamp,name\n0,a\n1,b\n")
        #expect(
            throws: AudioIOError.badHeader(
                path: textOnly, reason: "no numeric channel column (columns: timestamp, name)")
        ) {
            try SensorCSV.read(path: textOnly)
        }
        let empty = try writeTemporary("")
        #expect(throws: AudioIOError.empty(path: empty)) { try SensorCSV.read(path: empty) }
        let missing = empty + ".absent"
        #expect(throws: AudioIOError.cannotOpen(path: missing, reason: "no such file")) {
            try SensorCSV.read(path: missing)
        }
    }

    @Test func fewRowsNeedAGivenRate() throws {
        let one = try writeTemporary("timestamp,x\n100,7\n")
        #expect(
            throws: AudioIOError.badHeader(
                path: one,
                reason: "1 data row: too few timestamps to infer a sample rate; give SensorCSVOptions.sampleRate")
        ) { try SensorCSV.read(path: one) }
        let r = try SensorCSV.read(path: one, options: SensorCSVOptions(sampleRate: 10))
        #expect(r.segments[0].signal.samples == [7] && r.segments[0].startTime == 100 && r.inferredRate == nil)
        let none = try writeTemporary("timestamp,x\n")
        let empty = try SensorCSV.read(path: none, options: SensorCSVOptions(sampleRate: 10))
        #expect(empty.frames == 0 && empty.segments[0].signal.channels == 1 && empty.timestamps == [])
    }

    @Test func givenRateIsCheckedAgainstTimestamps() throws {
        let path = try writeTemporary("timestamp,x\n0,1\n0.01,2\n0.02,3\n")
        let ok = try SensorCSV.read(path: path, options: SensorCSVOptions(sampleRate: 100.5))
        #expect(ok.sampleRate == 100.5)
        #expect(abs(try #require(ok.inferredRate) - 100) < 1e-9)
        #expect(throws: AudioIOError.self) { try SensorCSV.read(path: path, options: SensorCSVOptions(sampleRate: 50)) }
        #expect(
            throws: AudioIOError.invalidParameter(
                name: "gapFactor", value: "1.0", reason: "must be a finite number > 1")
        ) {
            try SensorCSV.read(path: path, options: SensorCSVOptions(gapFactor: 1))
        }
        #expect(
            throws: AudioIOError.invalidParameter(
                name: "sampleRate", value: "nil", reason: "required when timestampColumn is .none")
        ) {
            try SensorCSV.read(path: path, options: SensorCSVOptions(timestampColumn: .none))
        }
    }

    @Test func jitterIsMeasuredAgainstTheMedianPeriod() throws {
        // Steps 1.0, 1.1, 0.9, 1.0, 1.2 s: median 1.0; deviations 0, .1, .1, 0, .2.
        let path = try writeTemporary("timestamp,x\n0,0\n1,0\n2.1,0\n3,0\n4,0\n5.2,0\n")
        let r = try SensorCSV.read(path: path)
        #expect(r.inferredRate == 1)
        let jitter = try #require(r.jitter)
        #expect(jitter.steps == 5)
        #expect(abs(jitter.max - 0.2) < 1e-12)
        #expect(abs(jitter.rms - (0.06 / 5).squareRoot()) < 1e-12)
        #expect(r.gaps.isEmpty)
    }
}
