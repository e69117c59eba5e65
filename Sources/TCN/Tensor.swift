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

    /// The last `time` steps of a `[batch, channels, T]` tensor (itself when `time == T`).
    func suffix(_ time: Int) -> Tensor {
        let (batch, channels, full) = (shape[0], shape[1], shape[2])
        precondition(time <= full, "suffix \(time) of \(full) steps")
        guard time < full else { return self }
        let rows = batch * channels
        let y = data.withUnsafeBufferPointer { source in
            [Float](unsafeUninitializedCapacity: rows * time) { target, initialized in
                guard let s = source.baseAddress, let d = target.baseAddress else { return }
                for row in 0..<rows { (d + row * time).initialize(from: s + row * full + full - time, count: time) }
                initialized = rows * time
            }
        }
        return Tensor(uncheckedShape: [batch, channels, time], data: y)
    }

    /// Adds `other` `[batch, channels, t]` to the last `t` steps of this `[batch, channels, T]` tensor.
    mutating func addSuffix(_ other: Tensor) {
        let (batch, channels, full) = (shape[0], shape[1], shape[2])
        let time = other.shape[2]
        precondition(other.shape == [batch, channels, time] && time <= full, "addSuffix: \(other.shape) to \(shape)")
        guard time < full else { return add(other) }
        data.withUnsafeMutableBufferPointer { target in
            other.data.withUnsafeBufferPointer { source in
                guard let d = target.baseAddress, let s = source.baseAddress else { return }
                for row in 0..<(batch * channels) { tcn_add(d + row * full + full - time, s + row * time, time) }
            }
        }
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
