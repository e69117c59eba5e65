import Foundation
import TestSupport
import Testing

@testable import seqtool

@Suite struct SKABMetricsTests {
    @Test func handMadeCaseMatchesTheDefinitions() throws {
        // 10 steps, anomalous 3…6. Flagged 2, 4, 5, 9: TP 2 (4, 5), FP 2 (2, 9), FN 2 (3, 6), TN 4.
        let labels = (0..<10).map { (3...6).contains($0) }
        let flagged = (0..<10).map { [2, 4, 5, 9].contains($0) }
        let m = try PointMetrics(labels: labels, predictions: flagged)
        #expect([m.truePositives, m.trueNegatives, m.falsePositives, m.falseNegatives] as [Int] == [2, 4, 2, 2])
        #expect(abs(m.f1 - 2.0 / (2 + 2)) < 1e-15)  // TP / (TP + (FN + FP) / 2) = 2 / 4
        #expect(abs(m.falseAlarmRate - 100 * 2.0 / 6) < 1e-12)
        #expect(abs(m.missedAlarmRate - 50) < 1e-12)
    }

    @Test func f1EqualsHarmonicMeanOfPrecisionAndRecall() throws {
        var generator = SplitMix64(seed: 7)
        let labels = (0..<200).map { _ in generator.next() % 5 == 0 }
        let flagged = (0..<200).map { _ in generator.next() % 4 == 0 }
        let m = try PointMetrics(labels: labels, predictions: flagged)
        let precision = Double(m.truePositives) / Double(m.truePositives + m.falsePositives)
        let recall = Double(m.truePositives) / Double(m.truePositives + m.falseNegatives)
        #expect(abs(m.f1 - 2 * precision * recall / (precision + recall)) < 1e-12)
    }

    @Test func perfectAndSilentDetectors() throws {
        let labels = [false, true, true, false]
        let perfect = try PointMetrics(labels: labels, predictions: labels)
        #expect(perfect.f1 == 1 && perfect.falseAlarmRate == 0 && perfect.missedAlarmRate == 0)
        let silent = try PointMetrics(labels: labels, predictions: [false, false, false, false])
        #expect(silent.f1 == 0 && silent.falseAlarmRate == 0 && silent.missedAlarmRate == 100)
    }

    @Test func countsAddUpOverFilesBeforeTheRatios() throws {
        let a = try PointMetrics(labels: [true, false], predictions: [true, true])
        let b = try PointMetrics(labels: [true, true, false], predictions: [false, false, false])
        let both = a + b
        #expect(
            [both.truePositives, both.trueNegatives, both.falsePositives, both.falseNegatives] as [Int] == [1, 1, 1, 2])
        #expect(abs(both.missedAlarmRate - 100 * 2.0 / 3) < 1e-12)
    }

    @Test func emptyAndDegenerateInputs() throws {
        let empty = try PointMetrics(labels: [], predictions: [])
        #expect(empty.f1.isNaN && empty.falseAlarmRate.isNaN && empty.missedAlarmRate.isNaN)
        let normalOnly = try PointMetrics(labels: [false, false], predictions: [false, true])
        #expect(normalOnly.falseAlarmRate == 50)
        #expect(normalOnly.missedAlarmRate.isNaN, "no anomalous step: MAR undefined")
        #expect(throws: DetectError.self) { try PointMetrics(labels: [true], predictions: []) }
    }
}
