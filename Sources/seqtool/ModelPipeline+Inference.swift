import Foundation
import TCN
import Windowing

extension ModelPipeline {
    /// Row-wise softmax of `[batch, classes]` logits.
    static func softmax(_ logits: Tensor) -> [[Float]] {
        let (n, k) = (logits.shape[0], logits.shape[1])
        return (0..<n).map { b in softmax(row: logits.data[(b * k)..<((b + 1) * k)]) }
    }

    /// Softmax of one row of logits, max-subtracted (as `torch.softmax`).
    static func softmax(row: ArraySlice<Float>) -> [Float] {
        let top = row.max() ?? 0
        let e = row.map { Foundation.exp($0 - top) }
        let sum = e.reduce(0, +)
        return e.map { $0 / sum }
    }

    /// Class probabilities of every example of `source`, `[count][classes]`, in batches of `batchSize`.
    ///
    /// - Throws: data-source and model errors.
    static func probabilities(
        model: TCNModel, source: any TCNDataSource, batchSize: Int = 64
    ) throws -> [[Float]] {
        var result: [[Float]] = []
        var lo = 0
        while lo < source.count {
            let hi = min(source.count, lo + batchSize)
            let batch = try source.batch(Array(lo..<hi))
            result += softmax(try model(batch.input, lengths: batch.lengths))
            lo = hi
        }
        return result
    }

    /// The valid TCN steps of each window for pooling heads, or `nil` when every step counts.
    ///
    /// Only raw-sample windows padded at the end (`pad-end`, `pad-cover`, UEA series shorter than the longest)
    /// have a valid prefix, `length − padRight` steps; a `meanPool` / `lastStep` head then ignores the padding.
    /// Spectral frames and centred windows keep every step (training and inference agree either way).
    func validSteps(_ provenance: [WindowProvenance]) -> [Int]? {
        guard features.isRaw, task == .classification, provenance.contains(where: { $0.padRight > 0 }),
            provenance.allSatisfy({ $0.padLeft == 0 })
        else { return nil }
        return provenance.map { max(1, $0.length - $0.padRight) }
    }

    /// Per file, the mean of its windows' probabilities.
    static func fileProbabilities(windowProbabilities: [[Float]], set: WindowSet) -> [[Float]] {
        let k = windowProbabilities.first?.count ?? 0
        var sums = [[Float]](repeating: [Float](repeating: 0, count: k), count: set.files.count)
        var counts = [Int](repeating: 0, count: set.files.count)
        for (w, p) in windowProbabilities.enumerated() {
            let f = set.fileIndex[w]
            for c in 0..<k { sums[f][c] += p[c] }
            counts[f] += 1
        }
        return zip(sums, counts).map { s, n in s.map { $0 / Float(max(n, 1)) } }
    }

    /// Index of the largest value (the first on ties).
    static func argmax(_ values: [Float]) -> Int {
        var best = 0
        for (i, v) in values.enumerated() where v > values[best] { best = i }
        return best
    }
}
