import Foundation
import TCN
import TestSupport
import Testing

@testable import seqtool

/// A small causal per-step TCN with `channels` inputs and outputs.
func tinyAnomalyModel(channels: Int, seed: UInt64 = 3) throws -> TCNModel {
    let configuration = TCNConfiguration(
        backbone: BackboneConfiguration(inputChannels: channels, channels: [8, 8], kernelSize: 3),
        head: HeadConfiguration(kind: .perStep, outputs: channels, loss: .mse))
    var model = try TCNModel(configuration: configuration, seed: seed)
    model.receptiveFieldPolicy = .ignore
    return model
}

/// An anomaly pipeline for raw sensor samples with the given settings.
func anomalyPipeline(
    channels: Int, mode: ModelPipeline.Anomaly.Mode, horizon: Int, mean: [Float]? = nil, std: [Float]? = nil,
    channelStd: [Float] = [], threshold: Float? = nil, sampleRate: Double = 0.1
) -> ModelPipeline {
    ModelPipeline(
        task: .anomaly,
        input: .init(
            kind: .sensor, sampleRate: sampleRate, channels: channels,
            channelNames: (0..<channels).map { "ch\($0)" }),
        window: .init(length: 64, hop: 32, boundary: "valid"), features: .init(preset: "raw"),
        normalization: .init(
            mean: mean ?? [Float](repeating: 0, count: channels), std: std ?? [Float](repeating: 1, count: channels)),
        anomaly: .init(mode: mode, horizon: horizon, threshold: threshold, channelStd: channelStd))
}

@Suite struct AnomalyScoringTests {
    @Test(arguments: [(0.0, 1.0), (0.5, 3.0), (0.9, 4.6), (0.995, 4.98), (1.0, 5.0)])
    func quantileInterpolatesLinearlyLikeNumPy(q: Double, expected: Double) throws {
        // numpy.quantile([5, 1, 4, 2, 3], q): position q · 4 between the sorted values.
        let value = try AnomalyThreshold.quantile([5, 1, 4, 2, 3, .nan], q)
        #expect(abs(Double(value) - expected) < 1e-6, "q = \(q)")
    }

    @Test func quantileEdgeCases() throws {
        #expect(try AnomalyThreshold.quantile([7], 0.3) == 7)
        #expect(throws: DetectError.self) { try AnomalyThreshold.quantile([], 0.5) }
        #expect(throws: DetectError.self) { try AnomalyThreshold.quantile([.nan], 0.5) }
        #expect(throws: DetectError.self) { try AnomalyThreshold.quantile([1, 2], 1.5) }
    }

    @Test func channelStdIsThePopulationStdAndZeroBecomesOne() {
        // [steps, C] = [[3, 0], [4, 0], [8, 0]]: channel 0 mean 5, variance (4 + 1 + 9) / 3.
        let std = AnomalyScoring.channelStd(errors: [3, 0, 4, 0, 8, 0], channels: 2)
        assertClose(std, [Float((14.0 / 3).squareRoot()), 1])
        #expect(AnomalyScoring.channelStd(errors: [], channels: 3) == [1, 1, 1])
    }

    @Test func scoreIsTheMeanOfScaledAbsoluteErrors() {
        #expect(AnomalyScoring.score(errors: [3, -4], channelStd: [1, 1]) == 3.5)
        #expect(AnomalyScoring.score(errors: [3, 8], channelStd: [1, 2]) == 3.5)
        #expect(AnomalyScoring.score(errors: [-2], channelStd: []) == 2)
        assertClose(AnomalyScoring.scores(errors: [3, 4, 0, -1], channels: 2, channelStd: [1, 1]), [3.5, 0.5])
    }

    @Test func forecastErrorsCompareEachStepWithThePredictionHStepsEarlier() throws {
        let inputs = try Tensor(shape: [1, 1, 4], data: [1, 2, 3, 4])
        let outputs = try Tensor(shape: [1, 1, 4], data: [2, 3, 5, 0])
        let forecast = try AnomalyScoring.windowErrors(inputs: inputs, outputs: outputs, mode: .forecast, horizon: 1)
        #expect(forecast == [0, 0, -1])
        let twoAhead = try AnomalyScoring.windowErrors(inputs: inputs, outputs: outputs, mode: .forecast, horizon: 2)
        #expect(twoAhead == [1, 1])
        let reconstruction = try AnomalyScoring.windowErrors(
            inputs: inputs, outputs: outputs, mode: .reconstruction, horizon: 0, skip: 1)
        #expect(reconstruction == [-1, -2, 4])
        let tooLong = try AnomalyScoring.windowErrors(inputs: inputs, outputs: outputs, mode: .forecast, horizon: 9)
        #expect(tooLong.isEmpty)
    }

    @Test func intervalsMergeRunsSeparatedByAtMostTheGap() throws {
        let scores: [Float] = [0, 2, 0, 2, 0, 0, 0, 3, 1, 0]
        let merged = try IntervalTracker.intervals(scores: scores, threshold: 1, mergeGap: 1)
        #expect(
            merged == [
                FlaggedInterval(start: 1, end: 3, peakStep: 1, peak: 2),
                FlaggedInterval(start: 7, end: 7, peakStep: 7, peak: 3),
            ])
        let separate = try IntervalTracker.intervals(scores: scores, threshold: 1, mergeGap: 0)
        #expect(separate.map(\.start) == [1, 3, 7])
        let all = try IntervalTracker.intervals(scores: scores, threshold: 1, mergeGap: 3)
        #expect(all == [FlaggedInterval(start: 1, end: 7, peakStep: 7, peak: 3)])
        #expect(try IntervalTracker.intervals(scores: [], threshold: 1, mergeGap: 2).isEmpty)
        #expect(try IntervalTracker.intervals(scores: [5], threshold: 1, mergeGap: 2).count == 1)
        #expect(throws: DetectError.self) { try IntervalTracker(threshold: 1, mergeGap: -1) }
        #expect(throws: DetectError.self) { try IntervalTracker(threshold: .nan, mergeGap: 0) }
    }

    @Test func intervalsMatchABruteForceGroupingOnRandomScores() throws {
        var random = SplitMix64(seed: 11)
        for trial in 0..<200 {
            let count = Int(random.next() % 40)
            let scores = (0..<count).map { _ in random.uniform(0, 1) }
            let gap = Int(random.next() % 4)
            let flagged = scores.indices.filter { scores[$0] > 0.7 }
            var groups: [[Int]] = []
            for i in flagged {
                if let last = groups.last?.last, i - last - 1 <= gap {
                    groups[groups.count - 1].append(i)
                } else {
                    groups.append([i])
                }
            }
            let intervals = try IntervalTracker.intervals(scores: scores, threshold: 0.7, mergeGap: gap)
            #expect(intervals.map(\.start) == groups.map { $0[0] }, "trial \(trial)")
            #expect(intervals.map(\.end) == groups.map { $0[$0.count - 1] }, "trial \(trial)")
            #expect(intervals.map(\.peak) == groups.map { g in g.map { scores[$0] }.max() ?? 0 }, "trial \(trial)")
        }
    }

    @Test(arguments: [ModelPipeline.Anomaly.Mode.forecast, .reconstruction])
    func streamingScoresEqualOfflineScoresForAnyChunking(mode: ModelPipeline.Anomaly.Mode) throws {
        let channels = 3
        let steps = 50
        let horizon = mode == .forecast ? 2 : 0
        let model = try tinyAnomalyModel(channels: channels)
        let pipeline = anomalyPipeline(
            channels: channels, mode: mode, horizon: horizon, mean: [1, -1, 0.5], std: [2, 0.5, 1],
            channelStd: [0.5, 1, 2])
        var random = SplitMix64(seed: 5)
        let raw = (0..<(channels * steps)).map { _ in random.normal() }
        // Offline: the whole sequence at once.
        var z = try Tensor(shape: [1, channels, steps], data: raw)
        pipeline.normalization.apply(&z)
        let y = try model(z)
        let errors = try AnomalyScoring.windowErrors(inputs: z, outputs: y, mode: mode, horizon: horizon)
        let offline =
            [Float](repeating: 0, count: horizon)
            + AnomalyScoring.scores(errors: errors, channels: channels, channelStd: [0.5, 1, 2])
        // Streaming: random chunks.
        var scorer = try StreamingAnomalyScorer(pipeline: pipeline, model: model)
        var streamed: [Float] = []
        var t = 0
        while t < steps {
            let n = min(steps - t, 1 + Int(random.next() % 7))
            var chunk: [Float] = []
            for c in 0..<channels { chunk += raw[(c * steps + t)..<(c * steps + t + n)] }
            streamed += try scorer.push(chunk, steps: n)
            t += n
        }
        assertClose(streamed, offline, rtol: 1e-4, atol: 1e-5)
    }
}
