import Foundation

/// A versioned, JSON-serialisable description of a TCN: backbone + head. The same configuration (and seed)
/// always builds the same model, and `config.json` in a model directory reloads it.
///
/// ```json
/// {"version": 1,
///  "backbone": {"inputChannels": 1, "channels": [25, 25], "kernelSize": 7, "normalization": "weightNorm", …},
///  "head": {"kind": "lastStep", "outputs": 10, "loss": "crossEntropy"}}
/// ```
public struct TCNConfiguration: Sendable, Equatable, Codable {
    /// The format version this library writes (and the only one it reads).
    public static let currentVersion = 1

    /// The format version of this configuration.
    public var version: Int
    /// The stack of temporal blocks.
    public var backbone: BackboneConfiguration
    /// What maps the backbone's `[batch, channels, time]` features to outputs, and the loss.
    public var head: HeadConfiguration

    /// Creates a configuration at the current version.
    public init(backbone: BackboneConfiguration, head: HeadConfiguration) {
        version = Self.currentVersion
        self.backbone = backbone
        self.head = head
    }

    /// Parses JSON, checking the version.
    ///
    /// - Parameter path: names the source in errors.
    /// - Throws: `TCNError.badFile` for malformed JSON or missing fields, `TCNError.unsupportedVersion` for a
    ///   version other than `currentVersion`.
    public init(json: Data, path: String = "config.json") throws {
        struct Versioned: Decodable { var version: Int }
        let version: Int
        do {
            version = try JSONDecoder().decode(Versioned.self, from: json).version
        } catch {
            throw TCNError.badFile(path: path, reason: "not a TCN configuration: \(error)")
        }
        guard version == Self.currentVersion else {
            throw TCNError.unsupportedVersion(path: path, version: version, supported: [Self.currentVersion])
        }
        do {
            self = try JSONDecoder().decode(Self.self, from: json)
        } catch {
            throw TCNError.badFile(path: path, reason: "invalid configuration: \(error)")
        }
    }

    /// The configuration as pretty-printed JSON with sorted keys (stable bytes for the same configuration).
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// Checks every field's range.
    ///
    /// - Throws: `TCNError.invalidParameter` naming the first bad field.
    public func validate() throws {
        try backbone.validate()
        try head.validate()
    }
}

/// What each block adds to the skip sum when `BackboneConfiguration.skipConnections` is on.
public enum SkipSource: String, Sendable, Codable, CaseIterable {
    /// Every block's output (after the residual add and final activation).
    case blockOutput
    /// As pytorch-tcn (`use_skip_connections=True`) and WaveNet: every block but the last contributes its residual
    /// branch — the second convolution's activation after dropout, before the residual add — and the last block its
    /// output.
    case residualBranch
}

/// The temporal-block stack: widths, kernel, dilation schedule, normalisation, activation, dropout, skips.
///
/// Defaults follow locuslab/TCN (`TemporalConvNet`): kernel 2, dilation `2^i`, weight norm, ReLU, causal.
public struct BackboneConfiguration: Sendable, Equatable, Codable {
    /// Input channels `C_in` of `[batch, C_in, time]`.
    public var inputChannels: Int
    /// Output channels of each block (`num_channels` in locuslab/TCN); the block count is `channels.count`.
    public var channels: [Int]
    /// Kernel size of every convolution (default 2, as locuslab/TCN).
    public var kernelSize: Int
    /// Explicit dilation per block, or `nil` for `2^i` (default `nil`).
    public var dilations: [Int]?
    /// With `dilations == nil`, restart the `2^i` schedule every `dilationReset` blocks (`2^(i mod r)`); `nil`
    /// for no reset (default). pytorch-tcn's `dilation_reset=R` names the largest dilation instead: it cycles every
    /// `⌊log2(2R)⌋` blocks, so `TCN(dilation_reset=R)` is `dilationReset = ⌊log2(2R)⌋` here (R = 4 → 3: 1, 2, 4, 1…).
    public var dilationReset: Int?
    /// `.causal` (default) or `.same` (non-causal).
    public var padding: ConvolutionPadding
    /// Normalisation after each convolution (default `.weightNorm`, as locuslab/TCN).
    public var normalization: Normalization
    /// Activation after each normalised convolution (default `.relu`).
    public var activation: Activation
    /// Activation after the residual add; `nil` means the same as `activation` (default; locuslab uses ReLU).
    public var finalActivation: Activation?
    /// Dropout probability after each activation (default 0).
    public var dropout: Float
    /// Elementwise (`nn.Dropout`, default) or channel (`nn.Dropout1d`) dropout.
    public var dropoutMode: Dropout.Mode
    /// Sum a skip signal from every block (through a 1×1 conv `downsample_skip_connection.i` when its width
    /// differs from the last block's) and apply the final activation, instead of using only the last block
    /// (default `false`). Which signal: `skipSource`.
    public var skipConnections: Bool
    /// What each block contributes to the skip sum (default `.blockOutput`).
    public var skipSource: SkipSource
    /// How convolution weights are drawn by a seeded build (default `.normal001`, what locuslab/TCN intends).
    /// pytorch-tcn's default (`xavier_uniform` with the activation's gain) only reaches its convolutions without
    /// weight norm; its weight-normalised ones keep `nn.Conv1d`'s default, our `.torchDefault` (`StateDictNaming`).
    public var initialization: WeightInitialization

    /// Creates a backbone configuration; see each property for its default.
    public init(
        inputChannels: Int, channels: [Int], kernelSize: Int = 2, dilations: [Int]? = nil,
        dilationReset: Int? = nil, padding: ConvolutionPadding = .causal,
        normalization: Normalization = .weightNorm, activation: Activation = .relu,
        finalActivation: Activation? = nil, dropout: Float = 0, dropoutMode: Dropout.Mode = .elementwise,
        skipConnections: Bool = false, initialization: WeightInitialization = .normal001,
        skipSource: SkipSource = .blockOutput
    ) {
        self.inputChannels = inputChannels
        self.channels = channels
        self.kernelSize = kernelSize
        self.dilations = dilations
        self.dilationReset = dilationReset
        self.padding = padding
        self.normalization = normalization
        self.activation = activation
        self.finalActivation = finalActivation
        self.dropout = dropout
        self.dropoutMode = dropoutMode
        self.skipConnections = skipConnections
        self.skipSource = skipSource
        self.initialization = initialization
    }

    private enum CodingKeys: String, CodingKey {
        case inputChannels, channels, kernelSize, dilations, dilationReset, padding, normalization, activation
        case finalActivation, dropout, dropoutMode, skipConnections, skipSource, initialization
    }

    /// Decodes JSON; only `inputChannels` and `channels` are required, other fields take their defaults.
    ///
    /// - Throws: `DecodingError` for a missing required field or a value of the wrong type.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = BackboneConfiguration(inputChannels: 1, channels: [1])
        inputChannels = try c.decode(Int.self, forKey: .inputChannels)
        channels = try c.decode([Int].self, forKey: .channels)
        kernelSize = try c.decodeIfPresent(Int.self, forKey: .kernelSize) ?? defaults.kernelSize
        dilations = try c.decodeIfPresent([Int].self, forKey: .dilations)
        dilationReset = try c.decodeIfPresent(Int.self, forKey: .dilationReset)
        padding = try c.decodeIfPresent(ConvolutionPadding.self, forKey: .padding) ?? defaults.padding
        normalization = try c.decodeIfPresent(Normalization.self, forKey: .normalization) ?? defaults.normalization
        activation = try c.decodeIfPresent(Activation.self, forKey: .activation) ?? defaults.activation
        finalActivation = try c.decodeIfPresent(Activation.self, forKey: .finalActivation)
        dropout = try c.decodeIfPresent(Float.self, forKey: .dropout) ?? defaults.dropout
        dropoutMode = try c.decodeIfPresent(Dropout.Mode.self, forKey: .dropoutMode) ?? defaults.dropoutMode
        skipConnections = try c.decodeIfPresent(Bool.self, forKey: .skipConnections) ?? defaults.skipConnections
        skipSource = try c.decodeIfPresent(SkipSource.self, forKey: .skipSource) ?? defaults.skipSource
        initialization =
            try c.decodeIfPresent(WeightInitialization.self, forKey: .initialization) ?? defaults.initialization
    }

    /// Encodes JSON; `skipSource` is written only when it is not the default, so files of models without it read
    /// the same as before it existed.
    ///
    /// - Throws: `EncodingError` from the encoder.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(inputChannels, forKey: .inputChannels)
        try c.encode(channels, forKey: .channels)
        try c.encode(kernelSize, forKey: .kernelSize)
        try c.encodeIfPresent(dilations, forKey: .dilations)
        try c.encodeIfPresent(dilationReset, forKey: .dilationReset)
        try c.encode(padding, forKey: .padding)
        try c.encode(normalization, forKey: .normalization)
        try c.encode(activation, forKey: .activation)
        try c.encodeIfPresent(finalActivation, forKey: .finalActivation)
        try c.encode(dropout, forKey: .dropout)
        try c.encode(dropoutMode, forKey: .dropoutMode)
        try c.encode(skipConnections, forKey: .skipConnections)
        if skipSource != .blockOutput { try c.encode(skipSource, forKey: .skipSource) }
        try c.encode(initialization, forKey: .initialization)
    }

    /// The dilation of block `i`: `dilations[i]`, or `2^(i mod dilationReset)`, or `2^i`.
    public func dilation(ofBlock i: Int) -> Int {
        if let dilations { return dilations[i] }
        if let dilationReset { return 1 << (i % dilationReset) }
        return 1 << i
    }

    /// Time steps of input that reach one output step: `1 + Σ_blocks 2·(kernelSize − 1)·dilation`
    /// (two convolutions per block). For `.same` padding the field is centred instead of trailing.
    public var receptiveField: Int {
        1 + channels.indices.reduce(0) { $0 + 2 * (kernelSize - 1) * dilation(ofBlock: $1) }
    }

    /// Checks every field's range.
    ///
    /// - Throws: `TCNError.invalidParameter` naming the first bad field.
    public func validate() throws {
        func bad(_ name: String, _ value: Any, _ reason: String) -> TCNError {
            .invalidParameter(name: name, value: "\(value)", reason: reason)
        }
        guard inputChannels >= 1 else { throw bad("backbone.inputChannels", inputChannels, "must be ≥ 1") }
        guard !channels.isEmpty, channels.allSatisfy({ $0 >= 1 }) else {
            throw bad("backbone.channels", channels, "need at least one block, every width ≥ 1")
        }
        guard kernelSize >= 1 else { throw bad("backbone.kernelSize", kernelSize, "must be ≥ 1") }
        if let dilations, dilations.count != channels.count || dilations.contains(where: { $0 < 1 }) {
            throw bad("backbone.dilations", dilations, "need one dilation ≥ 1 per block (\(channels.count))")
        }
        if let dilationReset, dilationReset < 1 || dilationReset > 30 {
            throw bad("backbone.dilationReset", dilationReset, "must be in 1...30")
        }
        guard dilations != nil || dilationReset != nil || channels.count <= 30 else {
            throw bad("backbone.channels", channels.count, "2^i dilations overflow beyond 30 blocks")
        }
        guard dropout >= 0, dropout < 1 else { throw bad("backbone.dropout", dropout, "must be in [0, 1)") }
    }
}

/// What the model outputs and which loss trains it.
public struct HeadConfiguration: Sendable, Equatable, Codable {
    /// How the backbone's `[batch, C, time]` features become outputs.
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// `linear(features[:, :, last])` → `[batch, outputs]` (locuslab/TCN sequence classification); with
        /// per-sample lengths, the last valid step of each sample.
        case lastStep
        /// `linear(mean_t features)` → `[batch, outputs]` (over valid steps with lengths).
        case meanPool
        /// `linear` at every step → `[batch, outputs, time]` (forecasting, reconstruction, tagging).
        case perStep
    }

    /// The loss the head trains with (reduction: mean over valid elements, as torch's `reduction="mean"`).
    public enum Loss: String, Sendable, Codable, CaseIterable {
        /// Softmax cross-entropy over the `outputs` classes (`F.cross_entropy`); targets are class indices.
        case crossEntropy
        /// Mean squared error (`F.mse_loss`).
        case mse
        /// Mean absolute error (`F.l1_loss`; derivative 0 at 0, as torch).
        case mae
        /// Huber loss with `huberDelta` (`F.huber_loss`).
        case huber
    }

    /// Pooling/mapping of the features.
    public var kind: Kind
    /// Outputs per sample (classes or regression targets), the `linear` layer's width.
    public var outputs: Int
    /// The training loss.
    public var loss: Loss
    /// δ for `.huber` (default 1.0, as torch).
    public var huberDelta: Float
    /// For `.perStep`: exclude the first `receptiveField − 1` steps (which see zero padding) from the loss
    /// (default `false`).
    public var maskWarmUp: Bool

    /// Creates a head configuration; see each property for its default.
    public init(kind: Kind, outputs: Int, loss: Loss, huberDelta: Float = 1, maskWarmUp: Bool = false) {
        self.kind = kind
        self.outputs = outputs
        self.loss = loss
        self.huberDelta = huberDelta
        self.maskWarmUp = maskWarmUp
    }

    private enum CodingKeys: String, CodingKey {
        case kind, outputs, loss, huberDelta, maskWarmUp
    }

    /// Decodes JSON; `kind`, `outputs` and `loss` are required, other fields take their defaults.
    ///
    /// - Throws: `DecodingError` for a missing required field or a value of the wrong type.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(Kind.self, forKey: .kind)
        outputs = try c.decode(Int.self, forKey: .outputs)
        loss = try c.decode(Loss.self, forKey: .loss)
        huberDelta = try c.decodeIfPresent(Float.self, forKey: .huberDelta) ?? 1
        maskWarmUp = try c.decodeIfPresent(Bool.self, forKey: .maskWarmUp) ?? false
    }

    /// Checks every field's range.
    ///
    /// - Throws: `TCNError.invalidParameter` naming the first bad field.
    public func validate() throws {
        guard outputs >= 1 else {
            throw TCNError.invalidParameter(name: "head.outputs", value: "\(outputs)", reason: "must be ≥ 1")
        }
        guard huberDelta > 0 else {
            throw TCNError.invalidParameter(name: "head.huberDelta", value: "\(huberDelta)", reason: "must be > 0")
        }
    }
}
