import Foundation
import TestSupport
import Testing

@testable import AudioIO

@Suite struct IntervalLabelsTests {
    @Test func readsNABWindows() throws {
        let path = try writeTemporary(
            """
            {
                "realKnownCause/a.csv": [
                    ["2013-12-10 06:25:00.000000", "2013-12-12 05:35:00.000000"],
                    ["2013-12-15 00:00:00", 1387152000.5]
                ],
                "artificialNoAnomaly/b.csv": []
            }
            """, name: "windows.json")
        let windows = try IntervalLabels.readNABWindows(path: path)
        #expect(windows.count == 2)
        #expect(windows["artificialNoAnomaly/b.csv"] == [])
        #expect(
            windows["realKnownCause/a.csv"] == [
                LabelInterval(start: epoch(2013, 12, 10, 6, 25), end: epoch(2013, 12, 12, 5, 35)),
                LabelInterval(start: epoch(2013, 12, 15), end: 1_387_152_000.5),
            ])
        #expect(try IntervalLabels.readNABWindows(path: path, label: "x")["realKnownCause/a.csv"]?[0].label == "x")
    }

    @Test func badNABWindowsNameTheKey() throws {
        let notJSON = try writeTemporary("{\"a.csv\": [", name: "w.json")
        #expect {
            try IntervalLabels.readNABWindows(path: notJSON)
        } throws: { error in
            guard case AudioIOError.badHeader(let path, let reason) = error else { return false }
            return path == notJSON && reason.hasPrefix("not valid JSON")
        }
        let array = try writeTemporary("[1, 2]", name: "w.json")
        #expect(
            throws: AudioIOError.badHeader(
                path: array, reason: "expected a JSON object mapping data files to windows")
        ) { try IntervalLabels.readNABWindows(path: array) }
        let value = try writeTemporary("{\"k/a.csv\": 3}", name: "w.json")
        #expect(
            throws: AudioIOError.badEntry(
                path: value, key: "k/a.csv", reason: "expected an array of [start, end] windows")
        ) { try IntervalLabels.readNABWindows(path: value) }
        let single = try writeTemporary("{\"k/a.csv\": [[\"2013-12-10 06:25:00\"]]}", name: "w.json")
        #expect {
            try IntervalLabels.readNABWindows(path: single)
        } throws: { error in
            guard case AudioIOError.badEntry(let path, let key, let reason) = error else { return false }
            return path == single && key == "k/a.csv" && reason.hasPrefix("window 0: expected [start, end]")
        }
        let time = try writeTemporary(
            "{\"ok.csv\": [], \"k/a.csv\": [[\"2013-12-10 06:25:00\", \"2013-12-11 06:25:00\"], [\"2013-13-10 00:00:00\", \"2013-12-11 00:00:00\"]]}",
            name: "w.json")
        #expect(
            throws: AudioIOError.badEntry(
                path: time, key: "k/a.csv", reason: "window 1 start: cannot read time '2013-13-10 00:00:00'")
        ) { try IntervalLabels.readNABWindows(path: time) }
        let reversed = try writeTemporary("{\"k/a.csv\": [[\"2013-12-11\", \"2013-12-10\"]]}", name: "w.json")
        #expect(
            throws: AudioIOError.badEntry(
                path: reversed, key: "k/a.csv", reason: "window 0 ends (2013-12-10) before it starts (2013-12-11)")
        ) { try IntervalLabels.readNABWindows(path: reversed) }
        #expect(
            AudioIOError.badEntry(path: "w.json", key: "k/a.csv", reason: "r").description
                == "w.json: entry 'k/a.csv': r")
    }

    @Test func readsNABPointsAndKeys() throws {
        let path = try writeTemporary(
            "{\"d/a.csv\": [\"2014-02-19 10:50:00\", \"2014-02-20 00:00:00\"], \"d/b.csv\": []}", name: "p.json")
        let points = try IntervalLabels.readNABPoints(path: path)
        #expect(points == ["d/a.csv": [epoch(2014, 2, 19, 10, 50), epoch(2014, 2, 20)], "d/b.csv": []])
        let bad = try writeTemporary("{\"d/a.csv\": [\"soon\"]}", name: "p.json")
        #expect(throws: AudioIOError.badEntry(path: bad, key: "d/a.csv", reason: "time 0: cannot read time 'soon'")) {
            try IntervalLabels.readNABPoints(path: bad)
        }
        #expect(
            IntervalLabels.nabKey(forDataFile: "/x/nab/data/realKnownCause/nyc_taxi.csv")
                == "realKnownCause/nyc_taxi.csv")
    }

    @Test func readsIntervalCSVWithAndWithoutHeader() throws {
        let headed = try writeTemporary(
            "label;end;start\nwalk;2024-05-01 10:00:30;2024-05-01 10:00:00\n;1714557660;1714557630\n")
        let t0 = epoch(2024, 5, 1, 10)
        #expect(
            try IntervalLabels.readCSV(path: headed) == [
                LabelInterval(start: t0, end: t0 + 30, label: "walk"),
                LabelInterval(start: 1_714_557_630, end: 1_714_557_660, label: "anomaly"),
            ])
        let bare = try writeTemporary("0,1.5\n\n2,3\n")
        #expect(
            try IntervalLabels.readCSV(path: bare, defaultLabel: "event") == [
                LabelInterval(start: 0, end: 1.5, label: "event"), LabelInterval(start: 2, end: 3, label: "event"),
            ])
        let labelled = try writeTemporary("0,1,\"a, b\"\n2,3,c\n")
        #expect(try IntervalLabels.readCSV(path: labelled).map(\.label) == ["a, b", "c"])
    }

    @Test func badIntervalCSVNamesTheLine() throws {
        let noEnd = try writeTemporary("start,stop\n0,1\n")
        #expect(throws: AudioIOError.missingColumn(path: noEnd, column: "end", available: ["start", "stop"])) {
            try IntervalLabels.readCSV(path: noEnd)
        }
        let badTime = try writeTemporary("start,end\n0,1\n2,later\n")
        #expect(throws: AudioIOError.badRow(path: badTime, line: 3, reason: "cannot read end time 'later'")) {
            try IntervalLabels.readCSV(path: badTime)
        }
        let count = try writeTemporary("0,1\n2,3,x\n")
        #expect(throws: AudioIOError.badRow(path: count, line: 2, reason: "expected 2 fields, found 3")) {
            try IntervalLabels.readCSV(path: count)
        }
        let reversed = try writeTemporary("start,end\n5,4\n")
        #expect(throws: AudioIOError.badRow(path: reversed, line: 2, reason: "end 4.0 is before start 5.0")) {
            try IntervalLabels.readCSV(path: reversed)
        }
    }

    @Test func sampleLabelsUseInclusiveBoundsAndLaterIntervalsWin() {
        let times = (0...10).map(Double.init)
        let intervals = [
            LabelInterval(start: 2, end: 4, label: "a"), LabelInterval(start: 4, end: 6, label: "b"),
            LabelInterval(start: 9.5, end: 9.7, label: "c"),
        ]
        let labels = IntervalLabels.sampleLabels(timestamps: times, intervals: intervals, outside: "-")
        #expect(labels == ["-", "-", "a", "a", "b", "b", "b", "-", "-", "-", "-"])
        let mask = IntervalLabels.sampleMask(timestamps: times, intervals: intervals)
        #expect(mask == [false, false, true, true, true, true, true, false, false, false, false])
        #expect(IntervalLabels.sampleLabels(timestamps: [], intervals: intervals).isEmpty)
        #expect(IntervalLabels.sampleMask(timestamps: [3], intervals: []) == [false])
    }

    @Test func regularStreamsWithoutTimestamps() throws {
        // 4 Hz from t = 0: an interval of [0.5 s, 1 s] covers samples 2, 3 and 4 (bounds inclusive).
        let times = try IntervalLabels.sampleTimes(frames: 6, sampleRate: 4)
        #expect(times == [0, 0.25, 0.5, 0.75, 1, 1.25])
        let intervals = try IntervalLabels.readCSV(path: writeTemporary("start,end\n0.5,1\n"))
        #expect(
            IntervalLabels.sampleMask(timestamps: times, intervals: intervals)
                == [false, false, true, true, true, false])
        #expect(try IntervalLabels.sampleTimes(frames: 2, sampleRate: 2, start: 10) == [10, 10.5])
        #expect(try IntervalLabels.sampleTimes(frames: 0, sampleRate: 2).isEmpty)
        #expect(throws: AudioIOError.invalidParameter(name: "sampleRate", value: "0.0", reason: "must be > 0")) {
            try IntervalLabels.sampleTimes(frames: 2, sampleRate: 0)
        }
        #expect(throws: AudioIOError.invalidParameter(name: "frames", value: "-1", reason: "must be ≥ 0")) {
            try IntervalLabels.sampleTimes(frames: -1, sampleRate: 2)
        }
    }

    @Test func unsortedTimestampsGiveTheSameLabels() {
        var rng = SplitMix64(seed: 7)
        let times = (0..<500).map { _ in Double(rng.uniform(0, 100)) }.sorted()
        let intervals = (0..<20).map { i -> LabelInterval in
            let start = Double(rng.uniform(0, 95))
            return LabelInterval(start: start, end: start + Double(rng.uniform(0, 5)), label: "l\(i)")
        }
        let brute = times.map { t in intervals.last { $0.contains(t) }?.label ?? "" }
        #expect(IntervalLabels.sampleLabels(timestamps: times, intervals: intervals) == brute)
        let order = (0..<times.count).shuffled(using: &rng)
        let shuffled = IntervalLabels.sampleLabels(timestamps: order.map { times[$0] }, intervals: intervals)
        #expect(shuffled == order.map { brute[$0] })
    }
}

@Suite(.enabled(if: TestPaths.sharedData("nab/labels/combined_windows.json") != nil, "needs ../shared/data/nab"))
struct IntervalLabelsSharedDataTests {
    @Test func nabWindowsLabelTheSamplesNABLabels() throws {
        let windows = try IntervalLabels.readNABWindows(
            path: try #require(TestPaths.sharedData("nab/labels/combined_windows.json")).path)
        #expect(windows.count == 58)
        for reference in try SensorReference.load().nab {
            let dataPath = try #require(TestPaths.sharedData("nab/data/" + reference.file)).path
            let key = IntervalLabels.nabKey(forDataFile: dataPath)
            #expect(key == reference.file)
            let fileWindows = try #require(windows[key])
            #expect(fileWindows.map { [$0.start, $0.end] } == reference.windows)
            let recording = try SensorCSV.read(path: dataPath, options: .nab)
            let mask = IntervalLabels.sampleMask(timestamps: try #require(recording.timestamps), intervals: fileWindows)
            #expect(mask.count { $0 } == reference.labelledSamples, "\(key)")
        }
        let points = try IntervalLabels.readNABPoints(
            path: try #require(TestPaths.sharedData("nab/labels/combined_labels.json")).path)
        #expect(points.keys.sorted() == windows.keys.sorted())
        // NAB centres a window on each labelled point (merging overlaps), so the reference files' points lie inside.
        for reference in try SensorReference.load().nab {
            let times = try #require(points[reference.file])
            #expect(!times.isEmpty)
            #expect(
                IntervalLabels.sampleMask(timestamps: times, intervals: windows[reference.file] ?? []).allSatisfy { $0 }
            )
        }
    }
}
