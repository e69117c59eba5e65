import Foundation

/// A learning-rate schedule as a function of the step (or epoch) counter, matching `torch.optim.lr_scheduler`'s
/// closed forms. `learningRate(at: n)` is the rate after `n` calls of the torch scheduler's `step()`.
public enum LearningRateSchedule: Sendable, Equatable, Codable {
    /// `base · γ^⌊n / stepSize⌋` (`StepLR`).
    case step(base: Float, stepSize: Int, gamma: Float)
    /// `base · γⁿ` (`ExponentialLR`).
    case exponential(base: Float, gamma: Float)
    /// Linear warm-up `base · (f + (1 − f) · n / warmUp)` for `n < warmUp` (`f = warmUpStartFactor`), then
    /// cosine decay to `minimum` at `total`: `minimum + (base − minimum) · ½(1 + cos(π (n − warmUp)/(total − warmUp)))`,
    /// constant `minimum` after. Equals `SequentialLR([LinearLR(start_factor=f, total_iters=warmUp),
    /// CosineAnnealingLR(T_max=total − warmUp, eta_min=minimum)], milestones=[warmUp])`; with `warmUp = 0`,
    /// `CosineAnnealingLR(T_max=total, eta_min=minimum)`.
    case cosine(base: Float, minimum: Float, warmUp: Int, warmUpStartFactor: Float, total: Int)
    /// Triangular cyclic rate between `base` and `maximum`, `stepSize` steps up then down (`CyclicLR`,
    /// `mode="triangular"`, `step_size_down = step_size_up`).
    case cyclicTriangular(base: Float, maximum: Float, stepSize: Int)
    /// One-cycle policy (`OneCycleLR` with cosine annealing, two phases): from `maximum/divFactor` up to
    /// `maximum` over the first `percentStart · total − 1` steps, then down to
    /// `maximum/(divFactor · finalDivFactor)` at step `total − 1` (torch defaults 0.3, 25, 1e4).
    case oneCycle(maximum: Float, total: Int, percentStart: Float, divFactor: Float, finalDivFactor: Float)

    /// The learning rate after `n` scheduler steps.
    public func learningRate(at n: Int) -> Float {
        switch self {
        case .step(let base, let stepSize, let gamma):
            return base * Float(Foundation.pow(Double(gamma), Double(n / max(stepSize, 1))))
        case .exponential(let base, let gamma):
            return base * Float(Foundation.pow(Double(gamma), Double(n)))
        case .cosine(let base, let minimum, let warmUp, let factor, let total):
            if n < warmUp { return base * (factor + (1 - factor) * Float(n) / Float(warmUp)) }
            guard n < total, total > warmUp else { return minimum }
            let progress = Double(n - warmUp) / Double(total - warmUp)
            return minimum + (base - minimum) * Float(0.5 * (1 + Foundation.cos(Double.pi * progress)))
        case .cyclicTriangular(let base, let maximum, let stepSize):
            let cycle = (1 + Double(n) / Double(2 * stepSize)).rounded(.down)
            let x = abs(Double(n) / Double(stepSize) - 2 * cycle + 1)
            return base + (maximum - base) * Float(max(0, 1 - x))
        case .oneCycle(let maximum, let total, let percentStart, let divFactor, let finalDivFactor):
            let initial = Double(maximum) / Double(divFactor)
            let minimum = initial / Double(finalDivFactor)
            let phaseEnd = Double(percentStart) * Double(total) - 1
            func annealCos(_ start: Double, _ end: Double, _ pct: Double) -> Double {
                end + (start - end) / 2 * (Foundation.cos(Double.pi * pct) + 1)
            }
            let step = Double(n)
            if step <= phaseEnd {
                return Float(annealCos(initial, Double(maximum), step / phaseEnd))
            }
            let pct = (step - phaseEnd) / (Double(total - 1) - phaseEnd)
            return Float(annealCos(Double(maximum), minimum, pct))
        }
    }
}

/// Reduces the learning rate when a monitored loss stops improving (`ReduceLROnPlateau`, mode `"min"`,
/// relative threshold), with torch's defaults: factor 0.1, patience 10, threshold 1e-4, cooldown 0,
/// minimum 0, eps 1e-8.
public struct ReduceOnPlateau: Sendable, Equatable, Codable {
    /// Multiplies the rate on a plateau (in `(0, 1)`).
    public let factor: Float
    /// Epochs without improvement tolerated before reducing.
    public let patience: Int
    /// Relative improvement needed: better means `loss < best · (1 − threshold)`.
    public let threshold: Float
    /// Epochs to wait after a reduction before counting again.
    public let cooldown: Int
    /// Lower bound on the rate.
    public let minimumRate: Float
    /// The best loss seen.
    public private(set) var best: Float = .infinity
    /// Epochs since the last improvement.
    public private(set) var badEpochs = 0
    private var cooldownCounter = 0

    /// Creates the controller.
    ///
    /// - Throws: `TCNError.invalidParameter` for a factor outside `(0, 1)` or a negative count.
    public init(
        factor: Float = 0.1, patience: Int = 10, threshold: Float = 1e-4, cooldown: Int = 0, minimumRate: Float = 0
    ) throws {
        guard factor > 0, factor < 1 else {
            throw TCNError.invalidParameter(name: "factor", value: "\(factor)", reason: "must be in (0, 1)")
        }
        guard patience >= 0, cooldown >= 0 else {
            throw TCNError.invalidParameter(
                name: "patience/cooldown", value: "\(patience)/\(cooldown)", reason: "must be ≥ 0")
        }
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.cooldown = cooldown
        self.minimumRate = minimumRate
    }

    /// Records one epoch's loss and returns the rate to use next.
    public mutating func step(loss: Float, learningRate: Float) -> Float {
        if loss < best * (1 - threshold) {
            best = loss
            badEpochs = 0
        } else {
            badEpochs += 1
        }
        if cooldownCounter > 0 {
            cooldownCounter -= 1
            badEpochs = 0
        }
        guard badEpochs > patience else { return learningRate }
        cooldownCounter = cooldown
        badEpochs = 0
        let reduced = max(learningRate * factor, minimumRate)
        return learningRate - reduced > 1e-8 ? reduced : learningRate
    }
}
