/// A fully connected layer `y = W x + b` (`torch.nn.Linear`), weights `[out, in]`, bias `[out]`.
///
/// Applied to `[batch, in]` it gives `[batch, out]`; applied to `[batch, in, time]` it maps every time step
/// (`[batch, out, time]`, like `nn.Linear` on `x.transpose(1, 2)` transposed back), which is a 1×1
/// convolution — so it reuses `Conv1d`'s GEMM path.
public struct Linear: Sendable, Equatable {
    /// Input features `in`.
    public let inputFeatures: Int
    /// Output features `out`.
    public let outputFeatures: Int
    /// `[out, in]` (`weight`).
    public var weight: Tensor
    /// `[out]` (`bias`).
    public var bias: Tensor

    /// Creates a layer from explicit weights.
    ///
    /// - Throws: `TCNError.shapeMismatch` when `weight` is not 2-D or `bias` is not `[out]`.
    public init(weight: Tensor, bias: Tensor) throws {
        guard weight.shape.count == 2, weight.shape.allSatisfy({ $0 >= 1 }) else {
            throw TCNError.shapeMismatch(name: "linear weight", expected: [-1, -1], actual: weight.shape)
        }
        guard bias.shape == [weight.shape[0]] else {
            throw TCNError.shapeMismatch(name: "linear bias", expected: [weight.shape[0]], actual: bias.shape)
        }
        inputFeatures = weight.shape[1]
        outputFeatures = weight.shape[0]
        self.weight = weight
        self.bias = bias
    }

    /// Creates a seeded layer (weights by `initialization`, bias `U(±1/√in)` as torch).
    ///
    /// - Throws: `TCNError.invalidParameter` for a size < 1.
    public init(
        inputFeatures: Int, outputFeatures: Int, initialization: WeightInitialization = .torchDefault,
        random: inout TCNRandom
    ) throws {
        let conv = try Conv1d(
            inputChannels: inputFeatures, outputChannels: outputFeatures, kernelSize: 1,
            initialization: initialization, random: &random)
        try self.init(
            weight: Tensor(uncheckedShape: [outputFeatures, inputFeatures], data: conv.weight.data),
            bias: conv.bias ?? Tensor(zeros: [outputFeatures]))
    }

    /// The equivalent 1×1 convolution.
    var convolution: Conv1d {
        Conv1d(
            uncheckedWeight: Tensor(uncheckedShape: [outputFeatures, inputFeatures, 1], data: weight.data),
            bias: bias)
    }

    /// Applies the layer to `[batch, in]` or `[batch, in, time]`.
    ///
    /// - Throws: `TCNError.shapeMismatch` for any other shape.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try forward(x).output
    }

    /// The forward pass with the cache `backward` needs.
    func forward(_ x: Tensor) throws -> (output: Tensor, cache: Conv1d.Cache) {
        let conv = convolution
        if x.shape.count == 2 {
            guard x.shape[1] == inputFeatures else {
                throw TCNError.shapeMismatch(
                    name: "linear input", expected: [x.shape[0], inputFeatures], actual: x.shape)
            }
            let (y, cache) = try conv.forward(Tensor(uncheckedShape: [x.shape[0], inputFeatures, 1], data: x.data))
            return (Tensor(uncheckedShape: [x.shape[0], outputFeatures], data: y.data), cache)
        }
        return try conv.forward(x)
    }

    /// Adds `weight`/`bias` gradients under `prefix` and returns the input gradient (same shape as the input).
    func backward(_ dy: Tensor, cache: Conv1d.Cache, prefix: String, gradients: inout TensorDictionary) -> Tensor {
        var local = TensorDictionary()
        let dy3 = Tensor(uncheckedShape: [cache.batch, outputFeatures, cache.time], data: dy.data)
        let dx = convolution.backward(dy3, cache: cache, prefix: "", gradients: &local)
        if let w = local["weight"] {
            gradients.accumulate(prefix + "weight", Tensor(uncheckedShape: weight.shape, data: w.data))
        }
        if let b = local["bias"] { gradients.accumulate(prefix + "bias", b) }
        if dy.shape.count == 2 { return Tensor(uncheckedShape: [cache.batch, inputFeatures], data: dx.data) }
        return dx
    }
}
