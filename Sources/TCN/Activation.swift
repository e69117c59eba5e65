import CTCNKernels
import Foundation

/// An element-wise non-linearity, named as in `torch.nn` (`nn.ReLU`, `nn.GELU`, `nn.Tanh`, `nn.ELU`,
/// `nn.LeakyReLU`), applied to tensors of any shape (in the TCN, `[batch, channels, time]`).
public enum Activation: String, Sendable, Codable, CaseIterable {
    /// `max(x, 0)`; NaN stays NaN and the derivative at 0 is taken as 0, as `torch.relu`.
    case relu
    /// `x · Φ(x) = x/2 · (1 + erf(x/√2))`, the exact (erf) form that is `nn.GELU()`'s default.
    case gelu
    /// `tanh(x)`.
    case tanh
    /// `x` for `x > 0`, else `α(eˣ − 1)` with `α = 1` (`nn.ELU()` default).
    case elu
    /// `x` for `x > 0`, else `0.01 · x` (`nn.LeakyReLU()` default slope).
    case leakyRelu
    /// The identity (no activation).
    case identity

    /// Applies the activation to one value.
    @inline(__always)
    public func apply(_ x: Float) -> Float {
        switch self {
        case .relu: return x < 0 ? 0 : x
        case .gelu: return 0.5 * x * (1 + Foundation.erf(x * 0.707_106_77))
        case .tanh: return Foundation.tanh(x)
        case .elu: return x > 0 ? x : Foundation.expm1(x)
        case .leakyRelu: return x > 0 ? x : 0.01 * x
        case .identity: return x
        }
    }

    /// The derivative at input `x` (with output `y = apply(x)` given to avoid recomputation).
    @inline(__always)
    func derivative(x: Float, y: Float) -> Float {
        switch self {
        case .relu: return x > 0 ? 1 : 0
        case .gelu:
            let cdf = 0.5 * (1 + Foundation.erf(x * 0.707_106_77))
            let pdf = Foundation.exp(-0.5 * x * x) * 0.398_942_3
            return cdf + x * pdf
        case .tanh: return 1 - y * y
        case .elu: return x > 0 ? 1 : y + 1
        case .leakyRelu: return x > 0 ? 1 : 0.01
        case .identity: return 1
        }
    }

    /// Whether `backward` needs the forward input. For every other activation the derivative is a function of
    /// the output alone (ReLU, leaky ReLU, ELU: the output's sign is the input's; tanh: `1 − y²`), so the output
    /// may stand in for the input and the pre-activation need not be kept.
    var derivativeNeedsInput: Bool { self == .gelu }

    /// Applies the activation in place to `count` values.
    @inline(__always)
    func apply(inPlace p: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .identity: return
        case .relu: tcn_relu(p, count)
        default: for i in 0..<count { p[i] = apply(p[i]) }
        }
    }

    /// `g[i] *= f′(x[i])` for `count` values, given the forward input `x` and output `y`.
    @inline(__always)
    func scale(
        gradient g: UnsafeMutablePointer<Float>, input x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
        count: Int
    ) {
        switch self {
        case .identity: return
        case .relu: tcn_relu_gradient(g, x, count)
        default: for i in 0..<count { g[i] *= derivative(x: x[i], y: y[i]) }
        }
    }

    /// Applies the activation element-wise.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        if self == .identity { return x }
        let y = x.data.withUnsafeBufferPointer { xp in
            [Float](unsafeUninitializedCapacity: xp.count) { p, initialized in
                guard let xBase = xp.baseAddress, let pBase = p.baseAddress else { return }
                TCNThreads.forEachRange(xp.count, grain: TCNThreads.elementGrain) { r in
                    switch self {
                    case .relu: tcn_relu_copy(xBase + r.lowerBound, pBase + r.lowerBound, r.count)
                    default: for i in r { pBase[i] = apply(xBase[i]) }
                    }
                }
                initialized = xp.count
            }
        }
        return Tensor(uncheckedShape: x.shape, data: y)
    }

    /// The input gradient `dy · f'(x)` given the forward input `x` and output `y`.
    func backward(_ dy: Tensor, input x: Tensor, output y: Tensor) -> Tensor {
        if self == .identity { return dy }
        let dx = dy.data.withUnsafeBufferPointer { g in
            x.data.withUnsafeBufferPointer { xp in
                y.data.withUnsafeBufferPointer { yp in
                    [Float](unsafeUninitializedCapacity: g.count) { d, initialized in
                        guard let gBase = g.baseAddress, let xBase = xp.baseAddress, let yBase = yp.baseAddress,
                            let dBase = d.baseAddress
                        else { return }
                        TCNThreads.forEachRange(g.count, grain: TCNThreads.elementGrain) { r in
                            switch self {
                            case .relu:
                                tcn_relu_gradient_copy(
                                    gBase + r.lowerBound, xBase + r.lowerBound, dBase + r.lowerBound, r.count)
                            default: for i in r { dBase[i] = gBase[i] * derivative(x: xBase[i], y: yBase[i]) }
                            }
                        }
                        initialized = g.count
                    }
                }
            }
        }
        return Tensor(uncheckedShape: dy.shape, data: dx)
    }
}
