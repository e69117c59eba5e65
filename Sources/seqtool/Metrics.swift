import Foundation

/// Accuracy, per-class precision / recall / F1, macro-F1 and the confusion matrix of a classification, as
/// `sklearn.metrics.classification_report` and `confusion_matrix` define them (a class never predicted has
/// precision 0, a class absent from the truth recall 0 — sklearn's `zero_division=0`).
struct ClassificationMetrics: Codable, Equatable, Sendable {
    var labels: [String]
    /// `confusion[true][predicted]` counts.
    var confusion: [[Int]]
    var accuracy: Double
    var macroF1: Double
    var precision: [Double]
    var recall: [Double]
    var f1: [Double]
    /// Examples per true class.
    var support: [Int]

    /// - Parameters:
    ///   - truth: class index per example, in `0..<labels.count`.
    ///   - predicted: class index per example, same count.
    init(labels: [String], truth: [Int], predicted: [Int]) {
        precondition(truth.count == predicted.count, "one prediction per example")
        let k = labels.count
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: k), count: k)
        for (t, p) in zip(truth, predicted) { confusion[t][p] += 1 }
        self.labels = labels
        self.confusion = confusion
        let correct = (0..<k).reduce(0) { $0 + confusion[$1][$1] }
        accuracy = truth.isEmpty ? 0 : Double(correct) / Double(truth.count)
        let support = confusion.map { $0.reduce(0, +) }
        let precision = (0..<k).map { c in
            let predictedC = (0..<k).reduce(0) { $0 + confusion[$1][c] }
            return predictedC == 0 ? 0 : Double(confusion[c][c]) / Double(predictedC)
        }
        let recall = (0..<k).map { c in support[c] == 0 ? 0 : Double(confusion[c][c]) / Double(support[c]) }
        let f1 = zip(precision, recall).map { p, r in p + r == 0 ? 0 : 2 * p * r / (p + r) }
        self.support = support
        self.precision = precision
        self.recall = recall
        self.f1 = f1
        macroF1 = k == 0 ? 0 : f1.reduce(0, +) / Double(k)
    }

    /// A plain-text report: the summary line, one line per class and the confusion matrix.
    func text() -> String {
        let width = max(9, labels.map(\.count).max() ?? 0)
        func pad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }
        var lines = [
            String(format: "accuracy %.4f  macro-F1 %.4f  (%d examples)", accuracy, macroF1, support.reduce(0, +)),
            "",
            pad("class", width) + "  precision     recall         f1    support",
        ]
        for (i, label) in labels.enumerated() {
            lines.append(
                pad(label, width)
                    + String(format: "  %9.4f  %9.4f  %9.4f  %9d", precision[i], recall[i], f1[i], support[i]))
        }
        lines.append("")
        lines.append("confusion matrix (rows: true class, columns: predicted)")
        let cell = max(5, (confusion.flatMap { $0 }.max() ?? 0).description.count + 1)
        lines.append(pad("", width) + labels.map { pad(String($0.prefix(cell - 1)), cell) }.joined())
        for (i, row) in confusion.enumerated() {
            lines.append(pad(labels[i], width) + row.map { pad("\($0)", cell) }.joined())
        }
        return lines.joined(separator: "\n")
    }
}

/// The precision-recall curve of scores for a binary task (`sklearn.metrics.precision_recall_curve`), and the
/// average precision `Σ (R_n − R_{n−1}) P_n` (`average_precision_score`).
struct PrecisionRecallCurve: Codable, Equatable, Sendable {
    /// One point per distinct threshold, highest threshold first (recall increasing).
    var recall: [Double]
    var precision: [Double]
    var thresholds: [Float]
    var averagePrecision: Double

    /// - Parameters:
    ///   - scores: higher = more likely positive.
    ///   - positives: the truth, same count.
    init(scores: [Float], positives: [Bool]) {
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        let totalPositives = positives.filter { $0 }.count
        var (tp, fp) = (0, 0)
        var recall: [Double] = []
        var precision: [Double] = []
        var thresholds: [Float] = []
        for (n, i) in order.enumerated() {
            if positives[i] { tp += 1 } else { fp += 1 }
            // One point per distinct score: after the last example with this score.
            if n + 1 < order.count, scores[order[n + 1]] == scores[i] { continue }
            recall.append(totalPositives == 0 ? 0 : Double(tp) / Double(totalPositives))
            precision.append(Double(tp) / Double(tp + fp))
            thresholds.append(scores[i])
        }
        var ap = 0.0
        var previous = 0.0
        for (r, p) in zip(recall, precision) {
            ap += (r - previous) * p
            previous = r
        }
        self.recall = recall
        self.precision = precision
        self.thresholds = thresholds
        self.averagePrecision = ap
    }
}

/// One line of `metrics.jsonl`.
struct EpochRecord: Codable, Equatable, Sendable {
    var epoch: Int
    var trainLoss: Float
    var validationLoss: Float?
    var validationAccuracy: Double?
    var learningRate: Float
    /// L2 norm of the loss gradient over the first training batch (clean examples) after the epoch.
    var gradientNorm: Float
    /// Training examples per second of wall-clock time in the epoch.
    var samplesPerSecond: Double
}
