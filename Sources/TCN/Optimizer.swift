import CTCNKernels
import Foundation

/// A first-order optimiser updating `state_dict`-keyed parameters in place, with PyTorch's update rules
/// (`torch.optim`, single-tensor CPU path).
public protocol Optimizer: Sendable {
    /// The learning rate used by the next `update` (schedules set it between steps).
    var learningRate: Float { get set }
    /// Applies one step to every parameter that has a gradient.
    mutating func update(_ parameters: inout TensorDictionary, gradients: TensorDictionary)
    /// The optimiser's per-parameter state (`"<parameter>#<slot>"` keys) and step count, for checkpoints.
    var state: TensorDictionary { get set }
}

extension Optimizer {
    /// Applies one step to a model's parameters.
    public mutating func update(_ model: inout TCNModel, gradients: TensorDictionary) {
        var p = model.parameters
        update(&p, gradients: gradients)
        model.update(from: p)
    }
}

/// Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay (`torch.optim.SGD`):
///
/// ```
/// g = ∇ + weightDecay · p
/// b = g (first step)  or  momentum · b + (1 − dampening) · g
/// g = g + momentum · b (nesterov)  or  b (momentum > 0)
/// p ← p − lr · g
/// ```
public struct SGD: Optimizer {
    /// Step size (no torch default; required).
    public var learningRate: Float
    /// Momentum factor (default 0).
    public let momentum: Float
    /// Dampening of the momentum update (default 0).
    public let dampening: Float
    /// L2 penalty added to the gradient (default 0).
    public let weightDecay: Float
    /// Nesterov momentum (default `false`; needs `momentum > 0` and `dampening == 0`, as torch).
    public let nesterov: Bool
    /// Momentum buffers (`"<parameter>#momentum_buffer"`).
    public var state: TensorDictionary = [:]

    /// Creates the optimiser.
    ///
    /// - Throws: `TCNError.invalidParameter` for a negative rate, momentum or decay, or Nesterov without
    ///   momentum or with dampening.
    public init(
        learningRate: Float, momentum: Float = 0, dampening: Float = 0, weightDecay: Float = 0,
        nesterov: Bool = false
    ) throws {
        try checkNonNegative(["learningRate": learningRate, "momentum": momentum, "weightDecay": weightDecay])
        guard !nesterov || (momentum > 0 && dampening == 0) else {
            throw TCNError.invalidParameter(
                name: "nesterov", value: "true", reason: "needs momentum > 0 and dampening = 0")
        }
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
    }

    /// Applies one step.
    public mutating func update(_ parameters: inout TensorDictionary, gradients: TensorDictionary) {
        for key in parameters.keys.sorted() {
            guard let grad = gradients[key], var p = parameters[key] else { continue }
            var g = grad.data
            if weightDecay != 0 { for i in g.indices { g[i] += weightDecay * p.data[i] } }
            if momentum != 0 {
                let slot = key + "#momentum_buffer"
                var b: [Float]
                if let old = state[slot]?.data {
                    b = old
                    for i in b.indices { b[i] = momentum * b[i] + (1 - dampening) * g[i] }
                } else {
                    b = g
                }
                state[slot] = Tensor(uncheckedShape: p.shape, data: b)
                if nesterov { for i in g.indices { g[i] += momentum * b[i] } } else { g = b }
            }
            for i in g.indices { p.data[i] -= learningRate * g[i] }
            parameters[key] = p
        }
    }
}

/// Adam (`torch.optim.Adam`, L2 decay added to the gradient) and AdamW (`torch.optim.AdamW`, decoupled decay):
///
/// ```
/// p ← p · (1 − lr · weightDecay)      (AdamW)      g = ∇ + weightDecay · p     (Adam)
/// m = β₁ m + (1 − β₁) g;   v = β₂ v + (1 − β₂) g²;   t += 1
/// p ← p − lr / (1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + eps)
/// ```
public struct Adam: Optimizer {
    /// Step size (default 1e-3, as torch).
    public var learningRate: Float
    /// Decay rates `(β₁, β₂)` of the moment estimates (default (0.9, 0.999)).
    public let betas: (Float, Float)
    /// Added to the denominator (default 1e-8).
    public let epsilon: Float
    /// Weight decay: L2 for Adam (default 0), decoupled for AdamW (default 0.01, as torch's AdamW).
    public let weightDecay: Float
    /// `true` for AdamW's decoupled decay.
    public let decoupledWeightDecay: Bool
    /// Steps taken (shared by all parameters; every parameter has a gradient in a TCN).
    public var step: Int = 0
    /// Moments (`"<parameter>#exp_avg"`, `"<parameter>#exp_avg_sq"`) and `"#step"`.
    public var state: TensorDictionary {
        get { moments.merging(["#step": Tensor(uncheckedShape: [], data: [Float(step)])]) { a, _ in a } }
        set {
            step = Int(newValue["#step"]?.data.first ?? 0)
            moments = newValue.filter { $0.key != "#step" }
        }
    }
    private var moments: TensorDictionary = [:]

    /// Creates Adam (`decoupledWeightDecay: false`) or AdamW (`true`).
    ///
    /// - Throws: `TCNError.invalidParameter` for a negative rate/decay or betas outside `[0, 1)`.
    public init(
        learningRate: Float = 1e-3, betas: (Float, Float) = (0.9, 0.999), epsilon: Float = 1e-8,
        weightDecay: Float = 0, decoupledWeightDecay: Bool = false
    ) throws {
        try checkNonNegative(["learningRate": learningRate, "weightDecay": weightDecay, "epsilon": epsilon])
        guard (0..<1).contains(betas.0), (0..<1).contains(betas.1) else {
            throw TCNError.invalidParameter(name: "betas", value: "\(betas)", reason: "each must be in [0, 1)")
        }
        self.learningRate = learningRate
        self.betas = betas
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decoupledWeightDecay = decoupledWeightDecay
    }

    /// AdamW with torch's defaults (`lr = 1e-3`, `weight_decay = 0.01`).
    ///
    /// - Throws: as `init`.
    public static func adamW(learningRate: Float = 1e-3, weightDecay: Float = 0.01) throws -> Adam {
        try Adam(learningRate: learningRate, weightDecay: weightDecay, decoupledWeightDecay: true)
    }

    /// Applies one step.
    public mutating func update(_ parameters: inout TensorDictionary, gradients: TensorDictionary) {
        step += 1
        let (b1, b2) = betas
        let correction1 = 1 - Float(Foundation.pow(Double(b1), Double(step)))
        let correction2Root = (1 - Float(Foundation.pow(Double(b2), Double(step)))).squareRoot()
        let stepSize = learningRate / correction1
        for key in parameters.keys.sorted() {
            guard let grad = gradients[key], var p = parameters[key] else { continue }
            var g = grad.data
            if decoupledWeightDecay {
                if weightDecay != 0 { for i in p.data.indices { p.data[i] *= 1 - learningRate * weightDecay } }
            } else if weightDecay != 0 {
                for i in g.indices { g[i] += weightDecay * p.data[i] }
            }
            // Taken out of the dictionary so they are updated in place, not copied.
            var m = moments.removeValue(forKey: key + "#exp_avg")?.data ?? [Float](repeating: 0, count: g.count)
            var v = moments.removeValue(forKey: key + "#exp_avg_sq")?.data ?? [Float](repeating: 0, count: g.count)
            // Shapes agree: checkpoints are checked on load (`Trainer(resumingFrom:)`), gradients come from the model.
            precondition(m.count == g.count && v.count == g.count && p.data.count == g.count, "Adam state of \(key)")
            // m += (g − m)(1 − β₁); v = β₂v + (1 − β₂)g²; p −= stepSize · m / (√v / √(1 − β₂ᵗ) + ε), vectorised.
            g.withUnsafeBufferPointer { gp in
                m.withUnsafeMutableBufferPointer { mp in
                    v.withUnsafeMutableBufferPointer { vp in
                        p.data.withUnsafeMutableBufferPointer { pp in
                            guard let g = gp.baseAddress, let m = mp.baseAddress, let v = vp.baseAddress,
                                let p = pp.baseAddress
                            else { return }
                            tcn_adam(p, m, v, g, gp.count, 1 - b1, b2, 1 - b2, correction2Root, epsilon, stepSize)
                        }
                    }
                }
            }
            moments[key + "#exp_avg"] = Tensor(uncheckedShape: p.shape, data: m)
            moments[key + "#exp_avg_sq"] = Tensor(uncheckedShape: p.shape, data: v)
            parameters[key] = p
        }
    }
}

/// RMSprop (`torch.optim.RMSprop`, not centred):
///
/// ```
/// g = ∇ + weightDecay · p;   s = α s + (1 − α) g²;   d = g / (√s + eps)
/// b = momentum · b + d; p ← p − lr · b   (momentum > 0)      p ← p − lr · d   (otherwise)
/// ```
public struct RMSprop: Optimizer {
    /// Step size (default 0.01, as torch).
    public var learningRate: Float
    /// Smoothing constant α (default 0.99).
    public let alpha: Float
    /// Added to the denominator (default 1e-8).
    public let epsilon: Float
    /// L2 penalty (default 0).
    public let weightDecay: Float
    /// Momentum (default 0).
    public let momentum: Float
    /// `"<parameter>#square_avg"` and `"<parameter>#momentum_buffer"`.
    public var state: TensorDictionary = [:]

    /// Creates the optimiser.
    ///
    /// - Throws: `TCNError.invalidParameter` for a negative value.
    public init(
        learningRate: Float = 0.01, alpha: Float = 0.99, epsilon: Float = 1e-8, weightDecay: Float = 0,
        momentum: Float = 0
    ) throws {
        try checkNonNegative([
            "learningRate": learningRate, "alpha": alpha, "epsilon": epsilon, "weightDecay": weightDecay,
            "momentum": momentum,
        ])
        self.learningRate = learningRate
        self.alpha = alpha
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.momentum = momentum
    }

    /// Applies one step.
    public mutating func update(_ parameters: inout TensorDictionary, gradients: TensorDictionary) {
        for key in parameters.keys.sorted() {
            guard let grad = gradients[key], var p = parameters[key] else { continue }
            var g = grad.data
            if weightDecay != 0 { for i in g.indices { g[i] += weightDecay * p.data[i] } }
            var s = state[key + "#square_avg"]?.data ?? [Float](repeating: 0, count: g.count)
            var b = state[key + "#momentum_buffer"]?.data ?? [Float](repeating: 0, count: g.count)
            for i in g.indices {
                s[i] = alpha * s[i] + (1 - alpha) * g[i] * g[i]
                let d = g[i] / (s[i].squareRoot() + epsilon)
                if momentum > 0 {
                    b[i] = momentum * b[i] + d
                    p.data[i] -= learningRate * b[i]
                } else {
                    p.data[i] -= learningRate * d
                }
            }
            state[key + "#square_avg"] = Tensor(uncheckedShape: p.shape, data: s)
            if momentum > 0 { state[key + "#momentum_buffer"] = Tensor(uncheckedShape: p.shape, data: b) }
            parameters[key] = p
        }
    }
}

private func checkNonNegative(_ values: [String: Float]) throws {
    for (name, value) in values.sorted(by: { $0.key < $1.key }) where !(value >= 0) {
        throw TCNError.invalidParameter(name: name, value: "\(value)", reason: "must be ≥ 0")
    }
}

/// Gradient clipping as `torch.nn.utils.clip_grad_norm_` and `clip_grad_value_`.
public enum GradientClipping {
    /// Scales all gradients by `min(1, maxNorm / (‖g‖₂ + 1e-6))`, `‖g‖₂` over every element of every gradient.
    ///
    /// - Returns: the total norm before clipping (as torch).
    @discardableResult
    public static func clipNorm(_ gradients: inout TensorDictionary, maxNorm: Float) -> Float {
        var total: Float = 0
        for key in gradients.keys.sorted() {
            guard let g = gradients[key] else { continue }
            var s: Float = 0
            for v in g.data { s += v * v }
            total += s
        }
        let norm = total.squareRoot()
        let coefficient = min(1, maxNorm / (norm + 1e-6))
        for key in gradients.keys {
            gradients[key]?.data.withUnsafeMutableBufferPointer { p in
                for i in 0..<p.count { p[i] *= coefficient }
            }
        }
        return norm
    }

    /// Clamps every gradient element to `[−clipValue, clipValue]`.
    public static func clipValue(_ gradients: inout TensorDictionary, clipValue: Float) {
        for key in gradients.keys {
            gradients[key]?.data.withUnsafeMutableBufferPointer { p in
                for i in 0..<p.count { p[i] = min(max(p[i], -clipValue), clipValue) }
            }
        }
    }
}
