import Foundation
import TestSupport
import Testing

@testable import seqtool

@Suite struct MetricsTests {
    @Test func classificationReportMatchesHandCounts() {
        // truth  0 0 1 1 2 2 ; predicted 0 1 1 1 0 2
        let m = ClassificationMetrics(
            labels: ["a", "b", "c"], truth: [0, 0, 1, 1, 2, 2], predicted: [0, 1, 1, 1, 0, 2])
        #expect(m.confusion == [[1, 1, 0], [0, 2, 0], [1, 0, 1]])
        #expect(m.support == [2, 2, 2])
        assertClose(m.precision, [0.5, 2.0 / 3, 1], rtol: 1e-12, atol: 0)
        assertClose(m.recall, [0.5, 1, 0.5], rtol: 1e-12, atol: 0)
        let f1 = [0.5, 0.8, 2.0 / 3]
        assertClose(m.f1, f1, rtol: 1e-12, atol: 0)
        #expect(abs(m.macroF1 - f1.reduce(0, +) / 3) < 1e-12)
        #expect(abs(m.accuracy - 4.0 / 6) < 1e-12)
        #expect(m.text().contains("accuracy 0.6667"))
    }

    @Test func neverPredictedClassHasZeroPrecision() {
        let m = ClassificationMetrics(labels: ["a", "b"], truth: [0, 1], predicted: [0, 0])
        assertClose(m.precision, [0.5, 0], rtol: 0, atol: 0)
        assertClose(m.f1, [2.0 / 3, 0], rtol: 1e-12, atol: 0)
    }

    @Test func precisionRecallCurveAndAveragePrecision() {
        // sklearn: average_precision_score([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.6]) = 0.8333…
        let curve = PrecisionRecallCurve(scores: [0.9, 0.8, 0.7, 0.6], positives: [true, false, true, false])
        assertClose(curve.recall, [0.5, 0.5, 1, 1], rtol: 0, atol: 1e-12)
        assertClose(curve.precision, [1, 0.5, 2.0 / 3, 0.5], rtol: 1e-12, atol: 0)
        #expect(abs(curve.averagePrecision - 5.0 / 6) < 1e-12)
        // Tied scores form one point.
        let tied = PrecisionRecallCurve(scores: [0.5, 0.5, 0.1], positives: [true, false, true])
        #expect(tied.thresholds == [0.5, 0.1])
        assertClose(tied.precision, [0.5, 2.0 / 3], rtol: 1e-12, atol: 0)
    }

    @Test func softmaxIsStableAndArgmaxTakesTheFirstTie() {
        assertClose(ModelPipeline.softmax(row: [0, 0, 0]), [1.0 / 3, 1.0 / 3, 1.0 / 3], rtol: 1e-6, atol: 0)
        assertClose(ModelPipeline.softmax(row: [1000, 0, -1000]), [1, 0, 0], rtol: 0, atol: 1e-12)
        let e = [Foundation.exp(1.0), Foundation.exp(2.0)]
        assertClose(ModelPipeline.softmax(row: [1, 2]), e.map { $0 / (e[0] + e[1]) }, rtol: 1e-6, atol: 0)
        #expect(ModelPipeline.argmax([0.2, 0.5, 0.5]) == 1)
    }
}
