import Foundation
import TestSupport
import Testing

@testable import TCN

/// Central finite differences of a Double function at `point` (step `h`).
func numericGradient(_ point: [Double], h: Double = 1e-6, _ f: ([Double]) -> Double) -> [Double] {
    var p = point
    return (0..<point.count).map { i in
        let saved = p[i]
        p[i] = saved + h
        let up = f(p)
        p[i] = saved - h
        let down = f(p)
        p[i] = saved
        return (up - down) / (2 * h)
    }
}

/// A seeded tensor of uniform values in `[-1, 1)`.
func randomTensor(_ shape: [Int], _ rng: inout SplitMix64, low: Float = -1, high: Float = 1) -> Tensor {
    try! Tensor(shape: shape, data: rng.uniformArray(shape.reduce(1, *), low, high))
}

/// Double reference of `Conv1d` by direct summation (weight `[out, in, k]`, input `[B, in, T]`).
func referenceConv(
    x: [Double], batch: Int, time: Int, weight: [Double], bias: [Double]?, gain: [Double]?,
    inputChannels: Int, outputChannels: Int, kernelSize: Int, dilation: Int, padding: ConvolutionPadding
) -> [Double] {
    let fanIn = inputChannels * kernelSize
    var w = weight
    if let gain {
        for o in 0..<outputChannels {
            let norm = w[(o * fanIn)..<((o + 1) * fanIn)].reduce(0) { $0 + $1 * $1 }.squareRoot()
            for i in (o * fanIn)..<((o + 1) * fanIn) { w[i] = weight[i] * gain[o] / norm }
        }
    }
    let total = (kernelSize - 1) * dilation
    let left = padding == .causal ? total : total / 2
    var y = [Double](repeating: 0, count: batch * outputChannels * time)
    for b in 0..<batch {
        for o in 0..<outputChannels {
            for t in 0..<time {
                var s = bias?[o] ?? 0
                for i in 0..<inputChannels {
                    for j in 0..<kernelSize {
                        let u = t + j * dilation - left
                        if u >= 0 && u < time {
                            s += w[(o * inputChannels + i) * kernelSize + j] * x[(b * inputChannels + i) * time + u]
                        }
                    }
                }
                y[(b * outputChannels + o) * time + t] = s
            }
        }
    }
    return y
}

/// `Σ a·b` in Double.
func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

extension Array where Element == Float {
    /// The elements as Doubles.
    var doubles: [Double] { map { Double($0) } }
}
