import AudioIO
import Foundation
import TestSupport
import Testing

@testable import seqtool

/// NAB's scaled sigmoid in closed form: `2 / (1 + e^{5y}) − 1 = −tanh(5y / 2)`.
private func sigmoidClosedForm(_ y: Double) -> Double { -Foundation.tanh(2.5 * y) }

/// Rows at 0, 1, 2, … s and one detection per listed row.
private func detections(_ rows: Int, at alarms: [Int]) -> [Bool] {
    (0..<rows).map { alarms.contains($0) }
}

/// `[tp, tn, fp, fn]`.
private func counts(_ s: NABFileScore) -> [Int] {
    [s.truePositives, s.trueNegatives, s.falsePositives, s.falseNegatives]
}

private func times(_ rows: Int) -> [Double] { (0..<rows).map(Double.init) }

@Suite struct NABScoreTests {
    let window = [LabelInterval(start: 4, end: 6)]  // rows 4…6: width 3, right edge row 6

    @Test func scaledSigmoidMatchesTanhAndClampsBeyondThree() {
        for y in stride(from: -4.0, through: 3.0, by: 0.25) {
            #expect(abs(NABScorer.scaledSigmoid(y) - sigmoidClosedForm(y)) < 1e-15, "y = \(y)")
        }
        #expect(NABScorer.scaledSigmoid(3.0001) == -1)
        #expect(NABScorer.scaledSigmoid(0) == 0)
    }

    @Test func probationIsFifteenPercentCappedAt750Rows() {
        #expect(NABScorer.probationLength(rows: 100) == 15)
        #expect(NABScorer.probationLength(rows: 4999) == 749)
        #expect(NABScorer.probationLength(rows: 22695) == 750)
        #expect(NABScorer.probationLength(rows: 0) == 0)
    }

    @Test func detectionAtWindowStartScoresOneAndTheNullDetectorMinusOne() throws {
        let hit = try NABScorer.score(
            timestamps: times(10), detections: detections(10, at: [4]), windows: window, probation: 0)
        #expect(abs(hit.score - 1) < 1e-15)
        #expect(hit.nullScore == -1)
        #expect(
            counts(hit) == [1, 7, 0, 2])
        let none = try NABScorer.score(
            timestamps: times(10), detections: detections(10, at: []), windows: window, probation: 0)
        #expect(none.score == -1)
        #expect(NABScorer.normalized([hit]) == 100)
        #expect(NABScorer.normalized([none]) == 0)
    }

    @Test(arguments: [(5, 2.0 / 3), (6, 1.0 / 3)])
    func laterDetectionsScoreLessByTheScaledSigmoid(row: Int, relative: Double) throws {
        let result = try NABScorer.score(
            timestamps: times(10), detections: detections(10, at: [row]), windows: window, probation: 0)
        let expected = Foundation.tanh(2.5 * relative) / Foundation.tanh(2.5)
        #expect(abs(result.score - expected) < 1e-14, "row \(row): \(result.score) vs \(expected)")
    }

    @Test func aWindowCountsItsEarliestDetectionOnce() throws {
        let result = try NABScorer.score(
            timestamps: times(10), detections: detections(10, at: [5, 6]), windows: window, probation: 0)
        #expect(abs(result.score - Foundation.tanh(2.5 * 2 / 3) / Foundation.tanh(2.5)) < 1e-14)
        #expect(result.truePositives == 2)
    }

    @Test func falsePositivesCostByDistanceFromThePrecedingWindow() throws {
        // Row 1: no window before → −0.11. Row 8: |6 − 8| / (3 − 1) = 1 → 0.11 · S(1) = −0.11 tanh(2.5).
        // Row 13: 7 / 2 = 3.5 > 3 → −0.11. The window itself is missed: −1.
        let result = try NABScorer.score(
            timestamps: times(20), detections: detections(20, at: [1, 8, 13]), windows: window, probation: 0)
        let expected = -0.11 - 0.11 * Foundation.tanh(2.5) - 0.11 - 1
        #expect(abs(result.score - expected) < 1e-14, "\(result.score) vs \(expected)")
        #expect(result.falsePositives == 3)
        #expect(result.nullScore == -1)
    }

    @Test func probationRowsAndWindowsInsideThemAreNotScored() throws {
        // 20 rows → probation ⌊3⌋ = 3 rows; the window [1, 2] lies inside it: not scorable, not a miss.
        // Row 5 is a false positive at |2 − 5| / (2 − 1) = 3 → 0.11 · S(3) = −0.11 tanh(7.5).
        let result = try NABScorer.score(
            timestamps: times(20), detections: detections(20, at: [0, 2, 5]),
            windows: [LabelInterval(start: 1, end: 2)])
        #expect(abs(result.score - -0.11 * Foundation.tanh(7.5)) < 1e-15)
        #expect(result.scorableWindows == 0)
        #expect(result.windows == 1)
        #expect(result.nullScore == 0)
        #expect(result.truePositives + result.falseNegatives + result.trueNegatives + result.falsePositives == 17)
    }

    @Test func thresholdDetectsScoresAtOrAboveIt() throws {
        let scores: [Double] = [0.9, 0, 0, 0, 0.2, 0.5, 0.5, 0, 0, 0]
        let atHalf = try NABScorer.score(
            timestamps: times(10), anomalyScores: scores, threshold: 0.5, windows: window, probation: 0)
        // Rows 0 (false positive, no window before) and 5, 6 (window, best is row 5).
        #expect(abs(atHalf.score - (-0.11 + Foundation.tanh(2.5 * 2 / 3) / Foundation.tanh(2.5))) < 1e-14)
        let atTenth = try NABScorer.score(
            timestamps: times(10), anomalyScores: scores, threshold: 0.1, windows: window, probation: 0)
        #expect(abs(atTenth.score - (-0.11 + 1)) < 1e-14)
        let nanScores = scores.map { $0 == 0.9 ? Double.nan : $0 }
        let withNaN = try NABScorer.score(
            timestamps: times(10), anomalyScores: nanScores, threshold: 0.1, windows: window, probation: 0)
        #expect(abs(withNaN.score - 1) < 1e-14, "a NaN score is never an alarm")
    }

    @Test func aWindowStartingBetweenTimestampsIsNeverEnteredAndBlocksLaterOnes() throws {
        // NAB enters a window only at a row whose time equals its start; later windows wait behind it.
        let windows = [LabelInterval(start: 3.5, end: 6), LabelInterval(start: 8, end: 9)]
        let result = try NABScorer.score(
            timestamps: times(10), detections: detections(10, at: [8]), windows: windows, probation: 0)
        #expect(abs(result.score - -0.11) < 1e-15)
        #expect(result.scorableWindows == 0)
        #expect(result.windows == 2)
    }

    @Test func emptyFileScoresZero() throws {
        let result = try NABScorer.score(timestamps: [], detections: [], windows: [])
        #expect(result.score == 0)
        #expect(result.nullScore == 0)
    }

    @Test func badInputsThrowTypedErrors() {
        #expect(throws: NABScoreError.lengthMismatch(timestamps: 3, scores: 2)) {
            try NABScorer.score(timestamps: times(3), detections: [true, false], windows: [])
        }
        #expect(throws: NABScoreError.windowEndNotFound(window: 0, end: 6.5)) {
            try NABScorer.score(
                timestamps: times(10), detections: detections(10, at: []),
                windows: [LabelInterval(start: 4, end: 6.5)])
        }
        #expect(throws: NABScoreError.singleRowWindow(window: 0, row: 5)) {
            try NABScorer.score(
                timestamps: times(10), detections: detections(10, at: []),
                windows: [LabelInterval(start: 4, end: 4)], probation: 0)
        }
        #expect(throws: NABScoreError.badProbation(1.5)) {
            try NABScorer.score(timestamps: [], detections: [], windows: [], probation: 1.5)
        }
    }

    // MARK: Real NAB files against scripts/fixtures/nab_fixtures.py

    struct Reference: Decodable {
        struct Row: Decodable {
            var file: String
            var threshold: Double
            var score: Double
            var null: Double
            var windows: Int
            var scorableWindows: Int
            var tp: Int
            var tn: Int
            var fp: Int
            var fn: Int
        }
        struct CorpusRow: Decodable {
            var file: String
            var score: Double
            var null: Double
            var windows: Int
            var fp: Int
        }
        struct Corpus: Decodable {
            var threshold: Double
            var files: [CorpusRow]
            var normalized: Double
        }
        var files: [Row]
        var normalized: [String: Double]
        var corpus: Corpus
    }

    /// The fixture script's trivial detector: distance outside the probation rows' range, in spans, capped at 1.
    static func rangeDetector(_ values: ArraySlice<Float>, probationRows: Int) -> [Double] {
        let head = values.prefix(probationRows)
        let low = Double(head.min() ?? 0)
        let high = Double(head.max() ?? 0)
        let span = high > low ? high - low : 1
        return values.map { min(1, max(low - Double($0), Double($0) - high, 0) / span) }
    }

    @Test(.enabled(if: TestPaths.sharedData("nab/labels/combined_windows.json") != nil, "needs ../shared/data/nab"))
    func realFilesMatchNABReference() throws {
        let nab = try #require(TestPaths.sharedData("nab"))
        let data = try Data(contentsOf: TestPaths.fixture("seqtool/nab/nab_reference.json"))
        let reference = try JSONDecoder().decode(Reference.self, from: data)
        let labels = try IntervalLabels.readNABWindows(
            path: nab.appendingPathComponent("labels/combined_windows.json").path)
        var byThreshold: [Double: [NABFileScore]] = [:]
        var cache: [String: (times: [Double], scores: [Double])] = [:]
        for row in reference.files {
            if cache[row.file] == nil {
                let recording = try SensorCSV.read(
                    path: nab.appendingPathComponent("data/\(row.file)").path, options: .nab)
                let times = try #require(recording.timestamps)
                let values = recording.segments.flatMap { $0.signal.samples }
                let probation = Int(NABScorer.probationLength(rows: times.count))
                cache[row.file] = (times, Self.rangeDetector(values[...], probationRows: probation))
            }
            let (times, scores) = try #require(cache[row.file])
            let result = try NABScorer.score(
                timestamps: times, anomalyScores: scores, threshold: row.threshold, windows: labels[row.file] ?? [])
            let context = "\(row.file) at threshold \(row.threshold)"
            assertClose([result.score, result.nullScore], [row.score, row.null], rtol: 0, atol: 0, context)
            #expect(
                counts(result) == [row.tp, row.tn, row.fp, row.fn], "\(context)")
            #expect(result.windows == row.windows && result.scorableWindows == row.scorableWindows, "\(context)")
            byThreshold[row.threshold, default: []].append(result)
        }
        for (threshold, files) in byThreshold {
            let expected = try #require(reference.normalized["\(threshold)"])
            assertClose([NABScorer.normalized(files)], [expected], rtol: 0, atol: 0, "threshold \(threshold)")
        }
    }

    @Test(.enabled(if: TestPaths.sharedData("nab/labels/combined_windows.json") != nil, "needs ../shared/data/nab"))
    func wholeCorpusMatchesNABReference() throws {
        let nab = try #require(TestPaths.sharedData("nab"))
        let data = try Data(contentsOf: TestPaths.fixture("seqtool/nab/nab_reference.json"))
        let corpus = try JSONDecoder().decode(Reference.self, from: data).corpus
        let labels = try IntervalLabels.readNABWindows(
            path: nab.appendingPathComponent("labels/combined_windows.json").path)
        #expect(corpus.files.count == 58 && labels.count == 58)
        var results: [NABFileScore] = []
        for row in corpus.files {
            let recording = try SensorCSV.read(path: nab.appendingPathComponent("data/\(row.file)").path, options: .nab)
            let times = try #require(recording.timestamps)
            let values = recording.segments.flatMap { $0.signal.samples }
            let scores = Self.rangeDetector(
                values[...], probationRows: Int(NABScorer.probationLength(rows: times.count)))
            let result = try NABScorer.score(
                timestamps: times, anomalyScores: scores, threshold: corpus.threshold, windows: labels[row.file] ?? [])
            // Bit-equal: same operations in the same order as the reference script.
            #expect(result.score == row.score && result.nullScore == row.null, "\(row.file)")
            #expect(result.windows == row.windows && result.falsePositives == row.fp, "\(row.file)")
            results.append(result)
        }
        #expect(results.reduce(0) { $0 + $1.windows } == 116, "NAB v1.1 has 116 windows")
        #expect(NABScorer.normalized(results) == corpus.normalized)
    }
}
