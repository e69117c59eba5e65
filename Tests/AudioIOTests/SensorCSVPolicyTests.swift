import Foundation
import TestSupport
import Testing

@testable import AudioIO

/// The gap, missing-value and order policies of `SensorCSV.read`, each on a hand-made file.
@Suite struct SensorCSVPolicyTests {
    /// 1 Hz with a 3 s step before line 5 (two samples missing).
    static let gapped = "timestamp,x,y,label\n0,0,10,a\n1,1,11,a\n2,2,12,b\n5,5,15,c\n6,6,16,c\n"

    @Test func gapIsAnErrorByDefault() throws {
        let path = try writeTemporary(Self.gapped)
        #expect(throws: AudioIOError.gap(path: path, line: 5, seconds: 3, expected: 1)) {
            try SensorCSV.read(path: path)
        }
    }

    @Test func gapsAreReportedWhateverThePolicy() throws {
        let path = try writeTemporary(Self.gapped)
        for policy: SensorCSVOptions.GapPolicy in [.keep, .split, .fill(.nan)] {
            let r = try SensorCSV.read(path: path, options: SensorCSVOptions(gapPolicy: policy))
            #expect(r.gaps == [SensorGap(line: 5, start: 2, end: 5, missingSamples: 2)], "\(policy)")
            #expect(r.gaps[0].duration == 3)
            #expect(r.inferredRate == 1 && r.sampleRate == 1)
        }
        let keep = try SensorCSV.read(path: path, options: SensorCSVOptions(gapPolicy: .keep))
        #expect(keep.segments.count == 1 && keep.frames == 5)
        #expect(keep.jitter == SensorJitter(rms: 0, max: 0, steps: 3))
    }

    @Test func splitReturnsOneSegmentPerRegularRun() throws {
        let path = try writeTemporary(Self.gapped)
        let r = try SensorCSV.read(path: path, options: SensorCSVOptions(gapPolicy: .split))
        #expect(r.segments.count == 2)
        #expect(r.segments[0].signal.samples == [0, 1, 2, 10, 11, 12])
        #expect(r.segments[0].startTime == 0 && r.segments[0].range == 0..<3)
        #expect(r.segments[1].signal.samples == [5, 6, 15, 16])
        #expect(r.segments[1].startTime == 5 && r.segments[1].range == 3..<5)
        #expect(r.timestamps == [0, 1, 2, 5, 6])
        #expect(r.labels == ["a", "a", "b", "c", "c"])
    }

    @Test func fillInsertsSamplesAtThePeriod() throws {
        let path = try writeTemporary(Self.gapped)
        let expected: [(SensorCSVOptions.FillMethod, [Float], [Float])] = [
            (.linear, [0, 1, 2, 3, 4, 5, 6], [10, 11, 12, 13, 14, 15, 16]),
            (.previous, [0, 1, 2, 2, 2, 5, 6], [10, 11, 12, 12, 12, 15, 16]),
            (.zero, [0, 1, 2, 0, 0, 5, 6], [10, 11, 12, 0, 0, 15, 16]),
            (.nan, [0, 1, 2, .nan, .nan, 5, 6], [10, 11, 12, .nan, .nan, 15, 16]),
        ]
        for (method, x, y) in expected {
            let r = try SensorCSV.read(path: path, options: SensorCSVOptions(gapPolicy: .fill(method)))
            #expect(r.segments.count == 1, "\(method)")
            assertClose(r.segments[0].signal.samples, x + y, rtol: 0, atol: 0, "\(method)")
            #expect(r.timestamps == [0, 1, 2, 3, 4, 5, 6], "\(method)")
            #expect(r.labels == ["a", "a", "b", "b", "b", "c", "c"], "\(method)")
            #expect(r.segments[0].range == 0..<7)
        }
    }

    @Test func fillRoundsTheMissingCountAndRespectsGapFactor() throws {
        // Steps 1, 1, 2.6, 1: round(2.6) - 1 = 2 samples at +1 s and +2 s; the last real step is then 0.6 s.
        let path = try writeTemporary("timestamp,x\n0,0\n1,1\n2,2\n4.6,4.6\n5.6,5.6\n")
        let r = try SensorCSV.read(path: path, options: SensorCSVOptions(gapPolicy: .fill(.linear)))
        #expect(r.timestamps == [0, 1, 2, 3, 4, 4.6, 5.6])
        assertClose(r.segments[0].signal.samples, [0, 1, 2, 3, 4, 4.6, 5.6])
        // With gapFactor 3 the 2.6 s step is no gap.
        let loose = try SensorCSV.read(path: path, options: SensorCSVOptions(gapFactor: 3))
        #expect(loose.gaps.isEmpty && loose.frames == 5)
    }

    /// x: 1, "", 3, NaN, 5 — y: 1, 2, 3, 4, null (first missing cell: line 3, column x).
    static let holes = "timestamp,x,y\n0,1,1\n1,,2\n2,3,3\n3,NaN,4\n4,5,null\n"

    @Test func missingValueIsAnErrorByDefault() throws {
        let path = try writeTemporary(Self.holes)
        #expect(throws: AudioIOError.missingValue(path: path, line: 3, column: "x")) { try SensorCSV.read(path: path) }
    }

    @Test func missingValuePolicies() throws {
        let path = try writeTemporary(Self.holes)
        let expected: [(SensorCSVOptions.MissingValuePolicy, [Float])] = [
            (.interpolate, [1, 2, 3, 4, 5, 1, 2, 3, 4, 4]),
            (.zero, [1, 0, 3, 0, 5, 1, 2, 3, 4, 0]),
            (.previous, [1, 1, 3, 3, 5, 1, 2, 3, 4, 4]),
            (.keepNaN, [1, .nan, 3, .nan, 5, 1, 2, 3, 4, .nan]),
        ]
        for (policy, samples) in expected {
            let r = try SensorCSV.read(path: path, options: SensorCSVOptions(missingValues: policy))
            assertClose(r.segments[0].signal.samples, samples, rtol: 0, atol: 0, "\(policy)")
            #expect(r.timestamps == [0, 1, 2, 3, 4] && r.droppedLines.isEmpty, "\(policy)")
        }
        let dropped = try SensorCSV.read(path: path, options: SensorCSVOptions(missingValues: .dropRow))
        #expect(dropped.segments[0].signal.samples == [1, 3, 1, 3])
        #expect(dropped.timestamps == [0, 2] && dropped.droppedLines == [3, 5, 6])
        #expect(dropped.sampleRate == 0.5)
    }

    @Test func interpolationIsLinearInTimeAndFillsEdges() throws {
        // Times 0, 1, 3: the hole at t = 1 lies a third of the way from 0 to 6 → 2 (by row index it would be 3).
        let path = try writeTemporary("timestamp,x\n0,0\n1,\n3,6\n4,\n")
        let r = try SensorCSV.read(
            path: path, options: SensorCSVOptions(gapPolicy: .keep, missingValues: .interpolate))
        #expect(r.segments[0].signal.samples == [0, 2, 6, 6])
        let leading = try writeTemporary("x\nNA\nN/A\n7\n8\n")
        for policy: SensorCSVOptions.MissingValuePolicy in [.previous, .interpolate] {
            let l = try SensorCSV.read(path: leading, options: SensorCSVOptions(sampleRate: 1, missingValues: policy))
            #expect(l.segments[0].signal.samples == [7, 7, 7, 8], "\(policy)")
        }
        let allMissing = try writeTemporary("timestamp,x,y\n0,1,\n1,2,\n")
        #expect(throws: AudioIOError.missingValue(path: allMissing, line: 2, column: "y")) {
            try SensorCSV.read(path: allMissing, options: SensorCSVOptions(missingValues: .interpolate))
        }
    }

    @Test func missingValuesAreFilledWithinEachSplitSegment() throws {
        let path = try writeTemporary("timestamp,x\n0,1\n1,\n5,\n6,9\n")
        let r = try SensorCSV.read(
            path: path, options: SensorCSVOptions(gapPolicy: .split, missingValues: .interpolate))
        #expect(r.segments.map(\.signal.samples) == [[1, 1], [9, 9]])
    }

    @Test func duplicateAndBackwardTimestampsAreErrors() throws {
        let duplicate = try writeTemporary("timestamp,x\n0,1\n1,2\n1,3\n2,4\n")
        #expect(throws: AudioIOError.duplicateTimestamp(path: duplicate, line: 4, previousLine: 3)) {
            try SensorCSV.read(path: duplicate)
        }
        let backward = try writeTemporary(
            "timestamp,x\n2024-05-01 10:00:00,1\n2024-05-01 10:00:01,2\n\n2024-05-01 09:59:59,3\n")
        #expect(throws: AudioIOError.nonMonotonicTimestamp(path: backward, line: 5, previousLine: 3)) {
            try SensorCSV.read(path: backward)
        }
    }

    @Test func orderPolicies() throws {
        let path = try writeTemporary("timestamp,x\n0,0\n1,1\n2,2\n1.5,9\n2,9\n3,3\n")
        let dropped = try SensorCSV.read(path: path, options: SensorCSVOptions(unorderedTimestamps: .dropRow))
        #expect(dropped.timestamps == [0, 1, 2, 3])
        #expect(dropped.segments[0].signal.samples == [0, 1, 2, 3])
        #expect(dropped.unorderedLines == [5, 6])
        let kept = try SensorCSV.read(path: path, options: SensorCSVOptions(unorderedTimestamps: .keep))
        #expect(kept.timestamps == [0, 1, 2, 1.5, 2, 3])
        #expect(kept.unorderedLines == [5])
        #expect(kept.inferredRate == 1)
        let same = try writeTemporary("timestamp,x\n5,0\n5,1\n")
        #expect(
            throws: AudioIOError.badHeader(path: same, reason: "all 2 timestamps are equal: cannot infer a sample rate")
        ) {
            try SensorCSV.read(path: same, options: SensorCSVOptions(unorderedTimestamps: .keep))
        }
    }

    @Test func errorMessagesNameFileAndLine() {
        #expect(
            AudioIOError.gap(path: "a.csv", line: 5, seconds: 3, expected: 1).description
                == "a.csv:5: gap of 3.0 s where the sample period is 1.0 s")
        #expect(
            AudioIOError.duplicateTimestamp(path: "a.csv", line: 4, previousLine: 3).description
                == "a.csv:4: timestamp equals the one on line 3")
        #expect(
            AudioIOError.nonMonotonicTimestamp(path: "a.csv", line: 5, previousLine: 3).localizedDescription
                == "a.csv:5: timestamp is earlier than the one on line 3")
    }
}
