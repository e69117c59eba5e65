import AudioIO
import Foundation

/// A Numenta Anomaly Benchmark application profile: the weights of its cost matrix (`config/profiles.json`).
///
/// `falsePositiveWeight` is a magnitude: a false positive far from any window scores `-falsePositiveWeight`
/// (A_FP = −0.11 in the standard profile), a missed window `-falseNegativeWeight` (A_FN = −1).
struct NABProfile: Sendable, Equatable {
    /// `tpWeight`: the score of a detection at the very start of a window (A_TP).
    var truePositiveWeight: Double
    /// `fpWeight`: the magnitude of the penalty of a false positive far from any window (−A_FP).
    var falsePositiveWeight: Double
    /// `fnWeight`: the magnitude of the penalty of a window without detection (−A_FN).
    var falseNegativeWeight: Double
    /// `tnWeight` (A_TN): listed by NAB's profiles, unused by its scorer (true negatives score 0).
    var trueNegativeWeight: Double

    /// NAB's `standard` profile: A_TP = 1, A_FP = −0.11, A_TN = 1, A_FN = −1.
    static let standard = NABProfile(
        truePositiveWeight: 1, falsePositiveWeight: 0.11, falseNegativeWeight: 1, trueNegativeWeight: 1)
    /// NAB's `reward_low_FP_rate` profile: A_FP = −0.22.
    static let rewardLowFalsePositives = NABProfile(
        truePositiveWeight: 1, falsePositiveWeight: 0.22, falseNegativeWeight: 1, trueNegativeWeight: 1)
    /// NAB's `reward_low_FN_rate` profile: A_FN = −2.
    static let rewardLowFalseNegatives = NABProfile(
        truePositiveWeight: 1, falsePositiveWeight: 0.11, falseNegativeWeight: 2, trueNegativeWeight: 1)
}

/// Why a file cannot be scored the way NAB scores it.
enum NABScoreError: Error, LocalizedError, CustomStringConvertible, Equatable {
    /// Timestamps and anomaly scores (or detections) differ in length.
    case lengthMismatch(timestamps: Int, scores: Int)
    /// A window's end time is not one of the file's timestamps (NAB's `timestamps.index(end)` raises).
    case windowEndNotFound(window: Int, end: Double)
    /// A detection follows a window of a single row: NAB divides by `width − 1 = 0` there.
    case singleRowWindow(window: Int, row: Int)
    /// The probation fraction is outside [0, 1].
    case badProbation(Double)

    var description: String {
        switch self {
        case .lengthMismatch(let timestamps, let scores):
            return "NAB scoring: \(timestamps) timestamps but \(scores) anomaly scores"
        case .windowEndNotFound(let window, let end):
            return "NAB scoring: window \(window) ends at \(end) s, which is not a timestamp of the file"
        case .singleRowWindow(let window, let row):
            return "NAB scoring: row \(row) follows window \(window) of one row (NAB divides by width − 1 = 0)"
        case .badProbation(let value):
            return "NAB scoring: probation fraction must be in [0, 1], got \(value)"
        }
    }

    var errorDescription: String? { description }
}

/// The NAB score of one file at one threshold, with NAB's record counts (scorable rows only).
struct NABFileScore: Sendable, Equatable {
    /// The raw score: Σ window scores (best detection, or −A_FN when none) + Σ false-positive scores.
    var score: Double
    /// The raw score of the null detector (no detection) on the same file: −A_FN × scorable windows.
    var nullScore: Double
    /// Windows with at least one row after the probation period (NAB scores only those).
    var scorableWindows: Int
    /// Every window of the file, scorable or not (NAB's perfect score counts them all).
    var windows: Int
    /// Detected rows inside windows.
    var truePositives: Int
    /// Undetected rows outside windows.
    var trueNegatives: Int
    /// Detected rows outside windows.
    var falsePositives: Int
    /// Undetected rows inside windows.
    var falseNegatives: Int
}

/// NAB's standard scorer (numenta/NAB v1.1 `nab/sweeper.py` + `nab/scorer.py`, normalisation in `nab/runner.py`),
/// reproduced step for step so its numbers match NAB's.
///
/// Per file, every row after the probation period gets a weighted score as if it were a detection:
/// ```
/// S(y) = 2 / (1 + exp(5y)) − 1     (y > 3 → −1)                        scaledSigmoid
/// in window [a, b] (rows), width w = b − a + 1:  A_TP · S(−(b − i + 1) / w) / S(−1)
/// outside, after window of right row b', width w': A_FP · S(|b' − i| / (w' − 1))   (no window before: −A_FP)
/// ```
/// A window scores its best detection, or −A_FN when none; false positives add up. The probation period is the
/// first `min(⌊0.15 n⌋, 0.15 × 5000)` rows: they are never scored, and a window inside it is not counted.
/// Over a corpus, `normalized = 100 (raw − null) / (perfect − null)`, perfect = A_TP × number of windows.
///
/// NAB quirks kept on purpose: a window is entered only at a row whose timestamp equals the window's start
/// exactly (windows are taken in file order; a start that is no timestamp blocks the later windows too), and its
/// width uses the first row holding the start and end timestamps.
enum NABScorer {
    /// NAB's probation fraction (`probationaryPercent = 0.15` in `nab/runner.py`).
    static let defaultProbation = 0.15

    /// `scaledSigmoid` of `nab/sweeper.py`: `2 / (1 + e^{5y}) − 1`, and −1 beyond `y > 3`.
    static func scaledSigmoid(_ y: Double) -> Double {
        y > 3 ? -1 : 2 * (1 / (1 + Foundation.exp(5 * y))) - 1
    }

    /// The probation length in rows: `min(⌊fraction × rows⌋, fraction × 5000)` (NAB's `_getProbationaryLength`),
    /// 750 rows for long files at the default 15 %.
    static func probationLength(rows: Int, fraction: Double = defaultProbation) -> Double {
        min((fraction * Double(rows)).rounded(.down), fraction * 5000)
    }

    /// One row as NAB's sweeper sees it: its weighted score if detected, and its window (or none, or probation).
    struct Point: Sendable, Equatable {
        /// Where the row lies.
        enum Place: Sendable, Equatable {
            /// Within the probation period: never scored.
            case probation
            /// Outside every window.
            case outside
            /// In window `index` (order of the label file).
            case window(Int)
        }

        /// The row's anomaly score (what is thresholded).
        var anomalyScore: Double
        /// The row's NAB score if it is a detection (`sweepScore`).
        var sweepScore: Double
        /// Where the row lies.
        var place: Place
    }

    /// NAB's `calcSweepScore`: the score each row would get as a detection, and its window.
    ///
    /// - Parameters:
    ///   - timestamps: the file's row times (seconds), in file order.
    ///   - anomalyScores: one score per row (NAB expects [0, 1]).
    ///   - windows: the label windows in label-file order (seconds, bounds inclusive).
    ///   - profile: the cost matrix.
    ///   - probation: the probation fraction. Default 0.15.
    /// - Throws: `NABScoreError.lengthMismatch`, `.windowEndNotFound`, `.singleRowWindow`, `.badProbation`.
    static func sweep(
        timestamps: [Double], anomalyScores: [Double], windows: [LabelInterval], profile: NABProfile,
        probation: Double = defaultProbation
    ) throws -> [Point] {
        guard timestamps.count == anomalyScores.count else {
            throw NABScoreError.lengthMismatch(timestamps: timestamps.count, scores: anomalyScores.count)
        }
        guard probation >= 0, probation <= 1 else { throw NABScoreError.badProbation(probation) }
        var firstRow: [Double: Int] = [:]
        for (i, t) in timestamps.enumerated() where firstRow[t] == nil { firstRow[t] = i }
        let maxTP = scaledSigmoid(-1)
        let probationRows = probationLength(rows: timestamps.count, fraction: probation)
        var next = 0  // the next window to enter
        var current: (index: Int, right: Int, width: Double)?
        var previous: (index: Int, right: Int, width: Double)?
        var points: [Point] = []
        points.reserveCapacity(timestamps.count)
        for (i, t) in timestamps.enumerated() {
            if next < windows.count, t == windows[next].start {
                guard let right = firstRow[windows[next].end] else {
                    throw NABScoreError.windowEndNotFound(window: next, end: windows[next].end)
                }
                let left = firstRow[t] ?? i
                current = (next, right, Double(right - left + 1))
                next += 1
            }
            let weighted: Double
            if let window = current {
                let position = -Double(window.right - i + 1) / window.width
                weighted = scaledSigmoid(position) * profile.truePositiveWeight / maxTP
            } else if let window = previous {
                guard window.width > 1 else { throw NABScoreError.singleRowWindow(window: window.index, row: i) }
                let position = Double(abs(window.right - i)) / (window.width - 1)
                weighted = scaledSigmoid(position) * profile.falsePositiveWeight
            } else {
                weighted = -1 * profile.falsePositiveWeight
            }
            let place: Point.Place =
                Double(i) >= probationRows ? (current.map { .window($0.index) } ?? .outside) : .probation
            points.append(Point(anomalyScore: anomalyScores[i], sweepScore: weighted, place: place))
            if let window = current, t == windows[window.index].end {
                previous = (window.index, i, window.width)
                current = nil
            }
        }
        return points
    }

    /// The NAB score of one file when rows with `anomalyScore ≥ threshold` are detections (NAB's
    /// `scoreDataSet`; NaN scores are never detections).
    ///
    /// The sum runs in NAB's order (rows by decreasing anomaly score, false positives first, then windows in
    /// the order their first row appears), so the result matches NAB's to the last bit (tested on all 58 files).
    /// NAB's `scoreDataSet` finds no row (and fails) for a threshold above 1.1 or below every score; here those
    /// simply mean no detection, or every row.
    /// - Throws: see `sweep`.
    static func score(
        timestamps: [Double], anomalyScores: [Double], threshold: Double, windows: [LabelInterval],
        profile: NABProfile = .standard, probation: Double = defaultProbation
    ) throws -> NABFileScore {
        let points = try sweep(
            timestamps: timestamps, anomalyScores: anomalyScores, windows: windows, profile: profile,
            probation: probation)
        return score(points: points, threshold: threshold, windows: windows.count, profile: profile)
    }

    /// The NAB score of one file for given detections (`true` = alarm at that row).
    ///
    /// - Throws: see `sweep`.
    static func score(
        timestamps: [Double], detections: [Bool], windows: [LabelInterval], profile: NABProfile = .standard,
        probation: Double = defaultProbation
    ) throws -> NABFileScore {
        try score(
            timestamps: timestamps, anomalyScores: detections.map { $0 ? 1 : 0 }, threshold: 1, windows: windows,
            profile: profile, probation: probation)
    }

    /// Scores swept points at `threshold` (NAB's `calcScoreByThreshold` row for that threshold).
    static func score(points: [Point], threshold: Double, windows: Int, profile: NABProfile) -> NABFileScore {
        let order = points.indices.filter { points[$0].place != .probation }.sorted { a, b in
            let (sa, sb) = (points[a].anomalyScore, points[b].anomalyScore)
            if sa.isNaN != sb.isNaN { return sb.isNaN }  // NaN last
            if sa.isNaN { return a < b }
            return sa > sb || (sa == sb && a < b)  // Python's stable sort by decreasing score
        }
        var windowOrder: [Int] = []
        var best: [Int: Double] = [:]
        var result = NABFileScore(
            score: 0, nullScore: 0, scorableWindows: 0, windows: windows, truePositives: 0, trueNegatives: 0,
            falsePositives: 0, falseNegatives: 0)
        for i in order {
            if case .window(let w) = points[i].place {
                if best[w] == nil {
                    best[w] = -profile.falseNegativeWeight
                    windowOrder.append(w)
                }
                result.falseNegatives += 1
            } else {
                result.trueNegatives += 1
            }
        }
        var falsePositiveSum = 0.0
        for i in order where points[i].anomalyScore >= threshold {
            let point = points[i]
            if case .window(let w) = point.place {
                result.truePositives += 1
                result.falseNegatives -= 1
                best[w] = max(best[w] ?? -profile.falseNegativeWeight, point.sweepScore)
            } else {
                result.falsePositives += 1
                result.trueNegatives -= 1
                falsePositiveSum += point.sweepScore
            }
        }
        var total = falsePositiveSum
        for w in windowOrder { total += best[w] ?? 0 }
        result.score = total
        result.scorableWindows = windowOrder.count
        result.nullScore = windowOrder.reduce(0.0) { sum, _ in sum - profile.falseNegativeWeight }
        return result
    }

    /// NAB's normalised corpus score: `100 (raw − null) / (perfect − null)`, perfect = A_TP × windows.
    ///
    /// - Parameters:
    ///   - files: the per-file scores of one detector and profile.
    ///   - profile: the profile they were scored with.
    /// - Returns: 0 for the null detector, 100 for a detector that flags every window at its first row and
    ///   nothing else; NaN when the corpus has no window.
    static func normalized(_ files: [NABFileScore], profile: NABProfile = .standard) -> Double {
        let raw = files.reduce(0.0) { $0 + $1.score }
        let null = files.reduce(0.0) { $0 + $1.nullScore }
        let perfect = Double(files.reduce(0) { $0 + $1.windows }) * profile.truePositiveWeight
        return 100 * (raw - null) / (perfect - null)
    }
}
