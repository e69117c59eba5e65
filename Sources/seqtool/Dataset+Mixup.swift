import Foundation
import TCN

/// Mixup (Zhang et al. 2018, "mixup: Beyond Empirical Risk Minimization") of one training batch.
///
/// ```
/// λ ~ Beta(α, α), one λ per batch;  π = a seeded random permutation of the batch (torch.randperm)
/// x̃_b = λ · x_b + (1 − λ) · x_π(b)          (normalised TCN inputs, after SpecAugment masks)
/// ỹ_b = λ · onehot(y_b) + (1 − λ) · onehot(y_π(b))       → cross-entropy with probability targets,
///                                                          = λ · CE(y_b) + (1 − λ) · CE(y_π(b))
/// lengths_b = max(lengths_b, lengths_π(b))   (pooling heads read the longer valid prefix)
/// ```
/// This is the recipe of the authors' code (facebookresearch/mixup-cifar10, `mixup_data`): one λ for the batch,
/// partners from a shuffled copy of the same batch. The draws depend only on `(seed, epoch, first example of the
/// batch)`, so a resumed run mixes the same pairs with the same λ.
struct Mixup: Sendable {
    /// The Beta distribution's parameter α (> 0); 0.2–0.4 is the paper's range for speech and images.
    var alpha: Double

    /// Mixes `input` (`[B, C, T]`) and the class indices `classes` (`[B]`) into probability targets `[B, K]`.
    ///
    /// A batch of one example is returned unmixed (as one-hot targets).
    func apply(
        input: inout [Float], classes: [Int], classCount: Int, lengths: inout [Int]?, random: inout TCNRandom
    ) -> [Float] {
        let batch = classes.count
        let size = batch > 0 ? input.count / batch : 0
        let lambda = Float(random.beta(alpha, alpha))
        var partner = Array(0..<batch)
        for i in stride(from: batch - 1, to: 0, by: -1) {  // Fisher–Yates
            partner.swapAt(i, Int(random.next() % UInt64(i + 1)))
        }
        let source = input
        for b in 0..<batch {
            let p = partner[b]
            for i in 0..<size {
                input[b * size + i] = lambda * source[b * size + i] + (1 - lambda) * source[p * size + i]
            }
        }
        if let l = lengths { lengths = (0..<batch).map { max(l[$0], l[partner[$0]]) } }
        var targets = [Float](repeating: 0, count: batch * classCount)
        for b in 0..<batch {
            targets[b * classCount + classes[b]] += lambda
            targets[b * classCount + classes[partner[b]]] += 1 - lambda
        }
        return targets
    }
}

extension TCNRandom {
    /// A uniform Double in `(0, 1)` from the top 53 bits (never 0, so its logarithm is finite).
    mutating func openUnit() -> Double {
        (Double(next() >> 11) + 0.5) / Double(1 << 53)
    }

    /// A Gamma(`shape`, 1) draw: Marsaglia & Tsang (2000) for shape ≥ 1, and for shape < 1 the boost
    /// `Gamma(shape + 1) · U^(1/shape)` (as numpy's `standard_gamma`).
    mutating func gamma(_ shape: Double) -> Double {
        if shape < 1 { return gamma(shape + 1) * Foundation.pow(openUnit(), 1 / shape) }
        let d = shape - 1.0 / 3
        let c = 1 / (9 * d).squareRoot()
        while true {
            var x: Double
            var v: Double
            repeat {
                x = Double(normal())
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = openUnit()
            if u < 1 - 0.0331 * x * x * x * x || Foundation.log(u) < 0.5 * x * x + d * (1 - v + Foundation.log(v)) {
                return d * v
            }
        }
    }

    /// A Beta(`a`, `b`) draw, `X / (X + Y)` with `X ~ Gamma(a)`, `Y ~ Gamma(b)` (numpy's `beta` for a, b > 1 does
    /// the same; its Jöhnk branch for small a, b gives the same distribution).
    mutating func beta(_ a: Double, _ b: Double) -> Double {
        let x = gamma(a)
        let y = gamma(b)
        return x + y > 0 ? x / (x + y) : (openUnit() < a / (a + b) ? 1 : 0)
    }
}
