import Foundation

/// SKAB's point-wise ("binary") anomaly metrics: F1, false-alarm rate and missed-alarm rate over every step.
///
/// As `chp_score(true, prediction, metric="binary")` in waico/SKAB `core/metrics.py` (true labels given per step):
/// ```
/// F1  = TP / (TP + (FN + FP) / 2)
/// FAR = 100 · FP / (FP + TN)        % of normal steps flagged
/// MAR = 100 · FN / (FN + TP)        % of anomalous steps missed
/// ```
/// Counts add up over files before the ratios are taken (SKAB sums its per-dataset confusion matrices). SKAB
/// rounds to 2 decimals when it prints; these are unrounded. A ratio whose denominator is 0 is NaN (no anomalous
/// step for MAR, no normal step for FAR).
struct PointMetrics: Sendable, Equatable {
    /// Anomalous steps flagged.
    var truePositives = 0
    /// Normal steps not flagged.
    var trueNegatives = 0
    /// Normal steps flagged.
    var falsePositives = 0
    /// Anomalous steps not flagged.
    var falseNegatives = 0

    /// An empty tally.
    init() {}

    /// Counts one file's steps.
    ///
    /// - Parameters:
    ///   - labels: per step, `true` when the step is anomalous.
    ///   - predictions: per step, `true` when the detector flags it; same count as `labels`.
    /// - Throws: `DetectError.lengthMismatch` when the counts differ.
    init(labels: [Bool], predictions: [Bool]) throws {
        guard labels.count == predictions.count else {
            throw DetectError.lengthMismatch(
                what: "labels and predictions", expected: labels.count,
                actual: predictions.count)
        }
        for (label, flagged) in zip(labels, predictions) { add(label: label, flagged: flagged) }
    }

    /// Counts one step.
    mutating func add(label: Bool, flagged: Bool) {
        switch (label, flagged) {
        case (true, true): truePositives += 1
        case (false, false): trueNegatives += 1
        case (false, true): falsePositives += 1
        case (true, false): falseNegatives += 1
        }
    }

    /// The tally of two sets of files together.
    static func + (a: PointMetrics, b: PointMetrics) -> PointMetrics {
        var sum = a
        sum.truePositives += b.truePositives
        sum.trueNegatives += b.trueNegatives
        sum.falsePositives += b.falsePositives
        sum.falseNegatives += b.falseNegatives
        return sum
    }

    /// `TP / (TP + (FN + FP) / 2)` in [0, 1], SKAB's F1 (equal to 2PR / (P + R)).
    var f1: Double { ratio(Double(truePositives), Double(truePositives) + Double(falseNegatives + falsePositives) / 2) }

    /// False-alarm rate in percent: `100 · FP / (FP + TN)`.
    var falseAlarmRate: Double { 100 * ratio(Double(falsePositives), Double(falsePositives + trueNegatives)) }

    /// Missed-alarm rate in percent: `100 · FN / (FN + TP)`.
    var missedAlarmRate: Double { 100 * ratio(Double(falseNegatives), Double(falseNegatives + truePositives)) }

    private func ratio(_ numerator: Double, _ denominator: Double) -> Double {
        denominator == 0 ? .nan : numerator / denominator
    }
}
