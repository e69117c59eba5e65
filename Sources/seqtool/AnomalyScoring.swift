import Foundation
import TCN

/// Why `seqtool detect` or its scoring cannot go on.
enum DetectError: Error, LocalizedError, CustomStringConvertible, Equatable {
    /// Two sequences that must pair up differ in length.
    case lengthMismatch(what: String, expected: Int, actual: Int)
    /// The model folder is not an anomaly model.
    case notAnomalyModel(folder: String, task: String)
    /// The stream lacks channels the model reads.
    case missingChannels(source: String, missing: [String], available: [String])
    /// A row of the stream cannot be read.
    case badRow(source: String, line: Int, reason: String)
    /// The stream's sample rate differs from the model's.
    case sampleRate(source: String, found: Double, expected: Double)
    /// A parameter is out of range.
    case invalidParameter(name: String, value: String, reason: String)

    var description: String {
        switch self {
        case .lengthMismatch(let what, let expected, let actual):
            return "\(what): expected \(expected) values, got \(actual)"
        case .notAnomalyModel(let folder, let task):
            return "\(folder): pipeline.json has task \"\(task)\"; detect needs an anomaly model (task \"anomaly\")"
        case .missingChannels(let source, let missing, let available):
            return
                "\(source): no column \(missing.map { "'\($0)'" }.joined(separator: ", ")) that the model reads "
                + "(columns: \(available.joined(separator: ", ")))"
        case .badRow(let source, let line, let reason):
            return "\(source) line \(line): \(reason)"
        case .sampleRate(let source, let found, let expected):
            return "\(source): sample rate \(found) Hz, the model was trained at \(expected) Hz"
        case .invalidParameter(let name, let value, let reason):
            return "\(name) = \(value): \(reason)"
        }
    }

    var errorDescription: String? { description }
}

/// How a per-step TCN trained on normal data turns a stream into one anomaly score per step.
///
/// The input is standardised with the pipeline's `normalization` (`z = (x − mean) / std` per channel). The model's
/// output at step t is `ŷ_t [C]`:
/// ```
/// forecast (horizon h):   e_t = z_t − ŷ_{t−h}        (the prediction made h steps earlier)
/// reconstruction:         e_t = z_t − ŷ_t
/// score_t = (1/C) Σ_c |e_{t,c}| / σ_c                σ_c = anomaly.channelStd[c] (1 when absent)
/// ```
/// σ_c is the standard deviation of channel c's training error, so every channel weighs the same whatever its
/// noise, and the score is in units of training-error spread for any channel count. `seqtool train` calibrates
/// the threshold with these same functions (`calibrateAnomaly`), so a model's learned threshold applies unchanged. Steps without a prediction yet (the first h after a start or a gap) score 0.
enum AnomalyScoring {
    /// The error `e [C]` at every step of every window, offline (training and calibration).
    ///
    /// - Parameters:
    ///   - inputs: standardised windows `[n, C, T]`.
    ///   - outputs: the model's per-step outputs `[n, C, T]`.
    ///   - mode: forecast or reconstruction.
    ///   - horizon: steps ahead (forecast).
    ///   - skip: leading steps of each window left out (the warm-up that sees zero padding).
    /// - Returns: per kept step, its `C` errors, flattened `[steps, C]`.
    /// - Throws: `DetectError.lengthMismatch` for tensors of other shapes.
    static func windowErrors(
        inputs: Tensor, outputs: Tensor, mode: ModelPipeline.Anomaly.Mode, horizon: Int, skip: Int = 0
    ) throws -> [Float] {
        guard inputs.shape.count == 3, inputs.shape == outputs.shape else {
            throw DetectError.lengthMismatch(
                what: "model outputs \(outputs.shape) vs inputs \(inputs.shape)", expected: inputs.count,
                actual: outputs.count)
        }
        let (n, channels, steps) = (inputs.shape[0], inputs.shape[1], inputs.shape[2])
        let shift = mode == .forecast ? horizon : 0
        var errors: [Float] = []
        for w in 0..<n {
            for t in max(skip, shift)..<max(steps, max(skip, shift)) {
                for c in 0..<channels {
                    let base = (w * channels + c) * steps
                    errors.append(inputs.data[base + t] - outputs.data[base + t - shift])
                }
            }
        }
        return errors
    }

    /// Per channel, the standard deviation (population, around the mean) of the errors `[steps, C]`: the σ_c of
    /// the score, as `seqtool train` computes it. A channel whose spread is ≤ 1e-6 gets 1 (no scaling) instead of
    /// a division by (nearly) zero.
    static func channelStd(errors: [Float], channels: Int) -> [Float] {
        guard channels > 0 else { return [] }
        let steps = errors.count / channels
        var sums = [Double](repeating: 0, count: channels)
        for i in 0..<(steps * channels) { sums[i % channels] += Double(errors[i]) }
        let means = sums.map { steps > 0 ? $0 / Double(steps) : 0 }
        var squares = [Double](repeating: 0, count: channels)
        for i in 0..<(steps * channels) {
            let d = Double(errors[i]) - means[i % channels]
            squares[i % channels] += d * d
        }
        return squares.map { q in
            let std = steps > 0 ? (q / Double(steps)).squareRoot() : 0
            return std > 1e-6 ? Float(std) : 1
        }
    }

    /// The score of one step from its errors `e [C]`: `mean_c |e_c| / σ_c`.
    static func score<E: Collection<Float>>(errors: E, channelStd: [Float]) -> Float {
        var sum: Float = 0
        var count = 0
        for (c, e) in errors.enumerated() {
            sum += abs(e) / (c < channelStd.count ? channelStd[c] : 1)
            count += 1
        }
        return count > 0 ? sum / Float(count) : 0
    }

    /// Scores of every step of `errors [steps, C]`.
    static func scores(errors: [Float], channels: Int, channelStd: [Float]) -> [Float] {
        guard channels > 0 else { return [] }
        return stride(from: 0, to: errors.count - channels + 1, by: channels).map {
            score(errors: errors[$0..<($0 + channels)], channelStd: channelStd)
        }
    }
}

/// Learns the alarm threshold from the scores of normal (training) data.
///
/// The default is the 0.995 quantile (`numpy.quantile(scores, 0.995)`, linear interpolation): on data like the
/// training data about 0.5 % of steps exceed it, and, unlike the maximum, one glitch in the "normal" training
/// data cannot raise it without bound. `quantile: 1` gives the maximum (no training step would alarm).
enum AnomalyThreshold {
    /// The default quantile, the same as `seqtool train`'s `anomaly.thresholdQuantile` default.
    static let defaultQuantile = 0.995

    /// The `q` quantile of the finite scores (NumPy's default linear interpolation between order statistics).
    ///
    /// - Throws: `DetectError.invalidParameter` for `q` outside [0, 1] or no finite score.
    static func quantile(_ scores: [Float], _ q: Double = defaultQuantile) throws -> Float {
        guard q >= 0, q <= 1 else {
            throw DetectError.invalidParameter(name: "quantile", value: "\(q)", reason: "must be in [0, 1]")
        }
        let sorted = scores.filter(\.isFinite).sorted()
        guard let first = sorted.first else {
            throw DetectError.invalidParameter(name: "scores", value: "\(scores.count) values", reason: "none finite")
        }
        let position = q * Double(sorted.count - 1)
        let low = Int(position.rounded(.down))
        let high = min(low + 1, sorted.count - 1)
        let fraction = position - Double(low)
        guard sorted.count > 1 else { return first }
        return Float(Double(sorted[low]) + (Double(sorted[high]) - Double(sorted[low])) * fraction)
    }
}

/// A run of steps whose score exceeds the threshold (runs closer than the merge gap joined).
struct FlaggedInterval: Sendable, Equatable {
    /// First flagged step (index in the stream).
    var start: Int
    /// Last flagged step (inclusive).
    var end: Int
    /// The step of the highest score.
    var peakStep: Int
    /// The highest score in the interval.
    var peak: Float
    /// The times (seconds) of `start`, `end` and `peakStep`; the step numbers when no time was given.
    var startTime: Double
    var endTime: Double
    var peakTime: Double

    init(start: Int, end: Int, peakStep: Int, peak: Float, times: (Double, Double, Double)? = nil) {
        self.start = start
        self.end = end
        self.peakStep = peakStep
        self.peak = peak
        (startTime, endTime, peakTime) = times ?? (Double(start), Double(end), Double(peakStep))
    }
}

/// Turns per-step scores into flagged intervals as they arrive, holding one open interval (bounded memory).
///
/// A step is flagged when `score > threshold` (strictly: with the training maximum as threshold, no training
/// step alarms). Two flagged runs separated by at most `mergeGap` unflagged steps form one interval, so a
/// fluctuating score around the threshold reports one event instead of many.
struct IntervalTracker: Sendable {
    /// The alarm threshold.
    let threshold: Float
    /// Unflagged steps allowed inside one interval (≥ 0).
    let mergeGap: Int
    private var open: FlaggedInterval?

    /// - Throws: `DetectError.invalidParameter` for a negative gap or a NaN threshold.
    init(threshold: Float, mergeGap: Int) throws {
        guard mergeGap >= 0 else {
            throw DetectError.invalidParameter(name: "mergeGap", value: "\(mergeGap)", reason: "must be ≥ 0")
        }
        guard !threshold.isNaN else {
            throw DetectError.invalidParameter(name: "threshold", value: "nan", reason: "must be a number")
        }
        self.threshold = threshold
        self.mergeGap = mergeGap
    }

    /// Feeds step `step`'s score (steps in increasing order) and its time (default: the step number); returns
    /// the interval it closes, if any.
    mutating func push(step: Int, score: Float, time: Double? = nil) -> FlaggedInterval? {
        let time = time ?? Double(step)
        let flagged = score > threshold
        var closed: FlaggedInterval?
        // Unflagged steps since the open interval's end, counting this one when it is unflagged: once they
        // exceed the gap, no later step can join the interval.
        if let current = open, step - current.end - (flagged ? 1 : 0) > mergeGap {
            closed = current
            open = nil
        }
        guard flagged else { return closed }
        if var current = open {
            current.end = step
            current.endTime = time
            if score > current.peak {
                current.peak = score
                current.peakStep = step
                current.peakTime = time
            }
            open = current
        } else {
            open = FlaggedInterval(start: step, end: step, peakStep: step, peak: score, times: (time, time, time))
        }
        return closed
    }

    /// Closes the open interval at the end of the stream.
    mutating func finish() -> FlaggedInterval? {
        defer { open = nil }
        return open
    }

    /// Every interval of `scores` (offline), steps numbered from 0.
    ///
    /// - Throws: as `init`.
    static func intervals(scores: [Float], threshold: Float, mergeGap: Int) throws -> [FlaggedInterval] {
        var tracker = try IntervalTracker(threshold: threshold, mergeGap: mergeGap)
        var result = scores.enumerated().compactMap { tracker.push(step: $0, score: $1) }
        if let last = tracker.finish() { result.append(last) }
        return result
    }
}

/// Per-step anomaly scores of one stream, computed step by step with `TCNStream` (memory bounded by the model's
/// receptive field and the forecast horizon, whatever the stream's length).
struct StreamingAnomalyScorer {
    let normalization: ModelPipeline.Normalization
    let anomaly: ModelPipeline.Anomaly
    private let model: TCNModel
    private var stream: TCNStream
    /// The last `horizon` predictions `[C]`, oldest first (forecast mode).
    private var pending: [[Float]] = []

    /// - Throws: `TCNError` for a non-causal model; `DetectError.notAnomalyModel` without anomaly settings.
    init(pipeline: ModelPipeline, model: TCNModel, folder: String = "model") throws {
        guard let anomaly = pipeline.anomaly else {
            throw DetectError.notAnomalyModel(folder: folder, task: pipeline.task.rawValue)
        }
        self.normalization = pipeline.normalization
        self.anomaly = anomaly
        self.model = model
        stream = try TCNStream(model: model, streams: 1)
    }

    /// Starts afresh (after a gap): zero context, no pending prediction.
    mutating func reset() throws {
        try stream.reset(stream: 0)
        pending.removeAll()
    }

    /// Scores `n` new steps given planar, un-normalised samples `[C, n]`.
    ///
    /// - Throws: `TCNError.shapeMismatch` when `samples.count` is not a multiple of the model's channels.
    mutating func push(_ samples: [Float], steps n: Int) throws -> [Float] {
        let channels = normalization.mean.count
        var z = try Tensor(shape: [1, channels, n], data: samples)
        normalization.apply(&z)
        let y = try stream.process(z)
        var scores = [Float](repeating: 0, count: n)
        var errors = [Float](repeating: 0, count: channels)
        for t in 0..<n {
            let prediction = (0..<channels).map { y.data[$0 * n + t] }
            let target = (0..<channels).map { z.data[$0 * n + t] }
            switch anomaly.mode {
            case .reconstruction:
                for c in 0..<channels { errors[c] = target[c] - prediction[c] }
                scores[t] = AnomalyScoring.score(errors: errors, channelStd: anomaly.channelStd)
            case .forecast:
                if pending.count == anomaly.horizon {
                    let old = pending.removeFirst()
                    for c in 0..<channels { errors[c] = target[c] - old[c] }
                    scores[t] = AnomalyScoring.score(errors: errors, channelStd: anomaly.channelStd)
                }
                pending.append(prediction)
            }
        }
        return scores
    }
}
