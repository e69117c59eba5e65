import CTCNKernels

/// A dense, contiguous, row-major Float32 array with a shape.
///
/// Activations use the layout `[batch, channels, time]` throughout the TCN module (as `torch.nn.Conv1d`);
/// convolution weights are `[out, in, kernel]`, linear weights `[out, in]`, biases `[out]`.
/// The element at `[b, c, t]` of a `[B, C, T]` tensor is `data[(b * C + c) * T + t]`.
public struct Tensor: Sendable, Equatable {
    /// The extent of each dimension; the product equals `data.count`.
    public private(set) var shape: [Int]
    /// The elements, row-major (last dimension fastest).
    public var data: [Float]

    /// Creates a tensor from row-major elements.
    ///
    /// - Throws: `TCNError.shapeMismatch` when `data.count` is not the product of `shape` or a dimension is
    ///   negative.
    public init(shape: [Int], data: [Float]) throws {
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == data.count else {
            throw TCNError.shapeMismatch(name: "tensor data", expected: shape, actual: [data.count])
        }
        self.shape = shape
        self.data = data
    }

    /// Creates a tensor filled with `value` (default zero).
    public init(zeros shape: [Int], value: Float = 0) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.data = [Float](repeating: value, count: shape.reduce(1, *))
    }

    /// Internal unchecked initialiser for results whose shape is right by construction.
    init(uncheckedShape shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count, "shape \(shape) does not hold \(data.count) elements")
        self.shape = shape
        self.data = data
    }

    /// The number of elements.
    public var count: Int { data.count }

    /// A copy with a new shape of the same element count.
    ///
    /// - Throws: `TCNError.shapeMismatch` when the counts differ.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        try Tensor(shape: newShape, data: data)
    }

    /// Checks that this tensor is `[batch, channels, time]` with the given channel count; returns `(B, C, T)`.
    func batchChannelsTime(name: String, channels: Int) throws -> (Int, Int, Int) {
        guard shape.count == 3, shape[1] == channels else {
            throw TCNError.shapeMismatch(
                name: name, expected: [shape.first ?? -1, channels, shape.last ?? -1], actual: shape)
        }
        return (shape[0], shape[1], shape[2])
    }
}

/// Named tensors keyed as in a PyTorch `state_dict` (`network.0.conv1.weight_v`), used for parameters,
/// gradients, buffers and optimiser state.
public typealias TensorDictionary = [String: Tensor]

extension Tensor {
    /// `self += other` element-wise (shapes must match; internal invariant), in parallel for large tensors.
    mutating func add(_ other: Tensor) {
        precondition(shape == other.shape, "add: \(shape) vs \(other.shape)")
        data.withUnsafeMutableBufferPointer { d in
            other.data.withUnsafeBufferPointer { o in
                guard let dBase = d.baseAddress, let oBase = o.baseAddress else { return }
                TCNThreads.forEachRange(d.count, grain: TCNThreads.elementGrain) { r in
                    tcn_add(dBase + r.lowerBound, oBase + r.lowerBound, r.count)
                }
            }
        }
    }

    /// The last `time` steps of a `[batch, channels, T]` tensor taken `stride` steps apart, ending at its last step:
    /// `y[b, c, j] = x[b, c, T − 1 − stride · (time − 1 − j)]` (itself when `time == T` and `stride == 1`).
    func suffix(_ time: Int, stride: Int = 1) -> Tensor {
        let (batch, channels, full) = (shape[0], shape[1], shape[2])
        let stride = time <= 1 ? 1 : stride
        precondition(stride >= 1 && (time == 0 || stride * (time - 1) < full), "suffix \(time)×\(stride) of \(full)")
        guard time < full || stride > 1 else { return self }
        let rows = batch * channels
        let first = full - 1 - stride * max(0, time - 1)
        let y = data.withUnsafeBufferPointer { source in
            [Float](unsafeUninitializedCapacity: rows * time) { target, initialized in
                guard let s = source.baseAddress, let d = target.baseAddress else { return }
                for row in 0..<rows {
                    let from = s + row * full + first
                    let to = d + row * time
                    if stride == 1 {
                        to.initialize(from: from, count: time)
                    } else {
                        for t in 0..<time { (to + t).initialize(to: from[t * stride]) }
                    }
                }
                initialized = rows * time
            }
        }
        return Tensor(uncheckedShape: [batch, channels, time], data: y)
    }

    /// Adds `other` `[batch, channels, t]` to the steps `suffix(t, stride:)` reads of this `[batch, channels, T]`
    /// tensor (its last `t` steps `stride` apart).
    mutating func addSuffix(_ other: Tensor, stride: Int = 1) {
        let (batch, channels, full) = (shape[0], shape[1], shape[2])
        let time = other.shape[2]
        let stride = time <= 1 ? 1 : stride
        precondition(
            other.shape == [batch, channels, time] && stride >= 1 && (time == 0 || stride * (time - 1) < full),
            "addSuffix: \(other.shape)×\(stride) to \(shape)")
        guard time < full || stride > 1 else { return add(other) }
        let first = full - 1 - stride * max(0, time - 1)
        data.withUnsafeMutableBufferPointer { target in
            other.data.withUnsafeBufferPointer { source in
                guard let d = target.baseAddress, let s = source.baseAddress else { return }
                for row in 0..<(batch * channels) {
                    let to = d + row * full + first
                    let from = s + row * time
                    if stride == 1 {
                        tcn_add(to, from, time)
                    } else {
                        for t in 0..<time { to[t * stride] += from[t] }
                    }
                }
            }
        }
    }
}

/// The sequence steps a receptive-field-pruned tensor holds along time: its last `count` steps taken `stride` apart,
/// ending at the sequence's last step — step `j` is `T − 1 − stride · (count − 1 − j)` (`stride` 1: a plain suffix;
/// a single step may have `stride` 0, "any").
///
/// A causal filter with `k` taps `d` apart needs, for outputs on a grid of stride `s`, inputs on the grid of stride
/// `gcd(s, d)`: with the usual 2^i dilations, the top blocks of a last-step head need only every 2^i-th step.
struct TimeGrid: Equatable, Sendable {
    /// Steps between neighbours (≥ 1; 0 only for a single step).
    var stride: Int
    /// Steps held.
    var count: Int

    /// Every step of a `time`-step sequence.
    static func full(_ time: Int) -> TimeGrid { TimeGrid(stride: 1, count: time) }

    /// This grid's stride in steps of `outer`, a grid holding all of its steps (1 for a single step).
    func stride(within outer: TimeGrid) -> Int {
        guard count > 1 else { return 1 }
        precondition(outer.stride >= 1 && stride % outer.stride == 0, "grid \(self) not within \(outer)")
        return stride / outer.stride
    }

    /// The input steps a causal filter of `kernelSize` taps `dilation` apart reads for this grid's outputs, in a
    /// sequence of `time` steps (steps before the sequence are padding, not held).
    func inputGrid(kernelSize: Int, dilation: Int, time: Int) -> TimeGrid {
        guard kernelSize > 1 else { return self }
        var (a, b) = (stride, dilation)
        while b != 0 { (a, b) = (b, a % b) }
        let reach = stride * max(0, count - 1) + dilation * (kernelSize - 1)
        return TimeGrid(stride: a, count: min(reach / a + 1, max(0, time - 1) / a + 1))
    }
}

extension Dictionary where Key == String, Value == Tensor {
    /// Adds `gradient` to the entry `key`, creating it when absent.
    mutating func accumulate(_ key: String, _ gradient: Tensor) {
        if self[key] == nil {
            self[key] = gradient
        } else {
            self[key]?.add(gradient)
        }
    }
}
