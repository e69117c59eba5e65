import Foundation

extension TCNModel {
    /// Saves the model as a directory holding `config.json` (the versioned configuration) and
    /// `weights.safetensors` (the full `state_dict`, byte-compatible with `safetensors.torch.save_file`).
    ///
    /// Each file is written to a temporary name and renamed, so an interrupted save never leaves a partial file.
    /// - Parameter naming: the weights' key names: `.locuslab` (default; what locuslab/TCN and our earlier files
    ///   use) or `.pytorchTCN`, which `pytorch_tcn.TCN(…).load_state_dict(…, strict=True)` accepts (see
    ///   `StateDictNaming`). `init(contentsOf:)` reads either.
    /// - Throws: `TCNError.ioFailure` when the directory cannot be created or written; `TCNError.invalidParameter`
    ///   for `.pytorchTCN` with skip connections (see `stateDict(naming:)`), before anything is written.
    public func save(to directory: URL, naming: StateDictNaming = .locuslab) throws {
        let weights = try stateDict(naming: naming)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw TCNError.ioFailure(path: directory.path, reason: error.localizedDescription)
        }
        try writeAtomically(
            configuration.jsonData(), to: directory.appendingPathComponent("config.json"))
        try SafeTensors.write(weights, to: directory.appendingPathComponent("weights.safetensors"))
    }

    /// Loads a model directory written by `save(to:naming:)` or by a PyTorch script (`config.json` +
    /// `weights.safetensors` from `save_file(model.state_dict())` of a locuslab-style model or of a
    /// `pytorch_tcn.TCN`; the naming is detected, see `load(stateDict:source:strict:)`).
    ///
    /// - Throws: `TCNError.ioFailure` for a missing file; `TCNError.badFile` / `.unsupportedVersion` for a bad
    ///   configuration; `TCNError.missingKey`, `.unexpectedKey`, `.keyShapeMismatch` (naming the key and the
    ///   expected and actual shapes) when the weights do not fit the configuration.
    public init(contentsOf directory: URL) throws {
        let configURL = directory.appendingPathComponent("config.json")
        let json: Data
        do {
            json = try Data(contentsOf: configURL)
        } catch {
            throw TCNError.ioFailure(path: configURL.path, reason: error.localizedDescription)
        }
        let configuration = try TCNConfiguration(json: json, path: configURL.path)
        try self.init(configuration: configuration, seed: 0)
        let weightsURL = directory.appendingPathComponent("weights.safetensors")
        try load(stateDict: SafeTensors.read(weightsURL).tensors, source: weightsURL.path)
    }
}

/// How a weights file spells its `state_dict` keys: locuslab/TCN's (our default) or pytorch-tcn's.
///
/// | our key (`.locuslab`)                  | pytorch-tcn 1.2 key (`.pytorchTCN`)                          |
/// |----------------------------------------|--------------------------------------------------------------|
/// | `network.{i}.conv{1,2}.weight_g`       | `network.{i}.conv{1,2}.parametrizations.weight.original0`    |
/// | `network.{i}.conv{1,2}.weight_v`       | `network.{i}.conv{1,2}.parametrizations.weight.original1`    |
/// | —                                      | `network.{i}.conv{1,2}.padder.buffer` `[1, in, (k−1)·d]`     |
/// | `linear.weight` `[outputs, C]`         | `projection_out.weight` `[outputs, C, 1]` (`.perStep` head)  |
/// | `linear.bias`                          | `projection_out.bias` (`.perStep` head)                      |
///
/// Every other key (`….bias`, `….downsample.*`, `….norm{1,2}.*`, `downsample_skip_connection.{i}.*`) is the same
/// in both. pytorch-tcn weight-normalises with `torch.nn.utils.parametrizations.weight_norm` (`original0` is
/// `weight_g` `[out, 1, 1]`, `original1` is `weight_v` `[out, in, k]`), and every `TemporalConv1d` registers the
/// persistent streaming buffer `padder.buffer` (its left context for `inference=True`), which carries no weights:
/// we write zeros (a reset stream, as `TCN.reset_buffers()`) and ignore its values on load. pytorch-tcn's `TCN`
/// has no pooled head: with a `.lastStep`/`.meanPool` head the keys stay `linear.*`, as in a subclass of
/// `pytorch_tcn.TCN` (built with `output_projection=None`) that adds `self.linear = nn.Linear(C, outputs)` and
/// pools the features itself.
///
/// What pytorch-tcn 1.2.3's `TCN` computes, against us (checked by `PytorchTCNTests` on the package itself):
/// - Same: the block `conv1 → norm1 → act → dropout → conv2 → norm2 → act → dropout`, `+ (downsample(x) or x)`,
///   `act`; causal left padding `(k−1)·d`; non-causal `⌊(k−1)·d / 2⌋` left, the rest right (our `.same`);
///   `nn.BatchNorm1d`, `nn.LayerNorm` over channels, weight norm over `in × k` per output channel; elementwise
///   `nn.Dropout`; `output_projection` a 1×1 conv at every step (our `.perStep` head).
/// - Skip connections (`use_skip_connections=True`) differ: pytorch-tcn sums each block's residual branch (after
///   `dropout2`, before the residual add and final activation) for blocks `0..<L−1`, plus the last block's output,
///   then applies `act` — our `skipSource: .residualBranch`; with our default `.blockOutput` (every block's output)
///   such weights are refused (`TCNError.invalidParameter`).
/// - `dilation_reset=R` is our `dilationReset = ⌊log2(2R)⌋` (see `BackboneConfiguration.dilationReset`).
/// - Not supported, refused by key or shape checks: embeddings (`embedding_projection_{1,2}` keys), `use_gate`
///   (GLU: `conv1` is `2·out` wide). Not visible in a `state_dict`, so not detected: `output_activation` (applied
///   after `projection_out`; we have none), activations we lack (`sigmoid`, `selu`, `softmax`, `log_softmax`,
///   custom modules), `input_shape="NLC"` (transpose the input to `[batch, channels, time]`).
/// - Defaults differ: pytorch-tcn `kernel_size=4`, `dropout=0.1` (ours 2 and 0, locuslab's). Its
///   `kernel_initializer="xavier_uniform"` with the activation's gain (√2 for ReLU, GELU and ELU) reaches plain
///   convolutions, `downsample` and skip projections, but with `weight_norm` it writes into a recomputed tensor and
///   is lost: those convolutions keep `nn.Conv1d`'s default (our `.torchDefault`) and `weight_g = ‖weight_v‖`.
/// - Dropout draws differ (our `TCNRandom`, not torch's generator), so training with dropout matches in
///   distribution, not bit for bit; `padder.buffer` is pytorch-tcn's batch-1 streaming state (`TCNStream` is ours).
public enum StateDictNaming: String, Sendable, Codable, CaseIterable {
    /// locuslab/TCN's keys (`torch.nn.utils.weight_norm`'s `weight_g`/`weight_v`, head `linear.*`), our default.
    case locuslab
    /// pytorch-tcn 1.2's `TCN` keys (`parametrizations.weight.original0/1`, `padder.buffer`, `projection_out.*`).
    case pytorchTCN

    /// The naming a `state_dict` uses: `.pytorchTCN` when any key is one only pytorch-tcn writes
    /// (`….parametrizations.weight.original0/1`, `….padder.buffer`, `projection_out.*`), else `.locuslab`.
    public static func detect(_ keys: some Sequence<String>) -> StateDictNaming {
        keys.contains { key in
            key.hasPrefix("projection_out.") || key.hasSuffix(".padder.buffer")
                || key.contains(".parametrizations.weight.original")
        }
            ? .pytorchTCN : .locuslab
    }
}

extension TCNModel {
    /// The full `state_dict` in a naming (`stateDict` is `.locuslab`).
    ///
    /// With `.pytorchTCN` the keys, shapes and buffers are those of `pytorch_tcn.TCN(…).state_dict()` for the
    /// same architecture (see `StateDictNaming`), so `model.load_state_dict(load_file(path), strict=True)` accepts
    /// the file and the model gives our outputs.
    /// - Throws: `TCNError.invalidParameter` for `.pytorchTCN` with skip connections from block outputs, which
    ///   pytorch-tcn computes differently (`SkipSource.residualBranch` is its rule).
    public func stateDict(naming: StateDictNaming) throws -> TensorDictionary {
        guard naming == .pytorchTCN else { return stateDict }
        if let reason = pytorchTCNIncompatibility {
            throw TCNError.invalidParameter(name: "backbone.skipConnections", value: "true", reason: reason)
        }
        return renamed(stateDict, to: naming).merging(streamingBuffers) { a, _ in a }
    }

    /// Our parameter keys (`stateDict`, gradients) renamed and reshaped to a naming; keys without a counterpart
    /// in `naming` keep their name. Adds no buffers.
    public func renamed(_ tensors: TensorDictionary, to naming: StateDictNaming) -> TensorDictionary {
        guard naming == .pytorchTCN else { return tensors }
        var out = TensorDictionary()
        for (key, tensor) in tensors {
            if key.hasSuffix(".weight_g") {
                out[key.dropLast("weight_g".count) + "parametrizations.weight.original0"] = tensor
            } else if key.hasSuffix(".weight_v") {
                out[key.dropLast("weight_v".count) + "parametrizations.weight.original1"] = tensor
            } else if configuration.head.kind == .perStep, key == "linear.weight" {
                out["projection_out.weight"] = Tensor(uncheckedShape: tensor.shape + [1], data: tensor.data)
            } else if configuration.head.kind == .perStep, key == "linear.bias" {
                out["projection_out.bias"] = tensor
            } else {
                out[key] = tensor
            }
        }
        return out
    }

    /// The inverse of `renamed(_:to:)` for a file's tensors whose shapes were checked; drops `padder.buffer`s.
    func ourNames(_ tensors: TensorDictionary, from naming: StateDictNaming) -> TensorDictionary {
        guard naming == .pytorchTCN else { return tensors }
        var out = TensorDictionary()
        for (key, tensor) in tensors where !key.hasSuffix(".padder.buffer") {
            if key.hasSuffix(".parametrizations.weight.original0") {
                out[key.dropLast("parametrizations.weight.original0".count) + "weight_g"] = tensor
            } else if key.hasSuffix(".parametrizations.weight.original1") {
                out[key.dropLast("parametrizations.weight.original1".count) + "weight_v"] = tensor
            } else if key == "projection_out.weight" {
                out["linear.weight"] = Tensor(uncheckedShape: Array(tensor.shape.dropLast()), data: tensor.data)
            } else if key == "projection_out.bias" {
                out["linear.bias"] = tensor
            } else {
                out[key] = tensor
            }
        }
        return out
    }

    /// pytorch-tcn's streaming buffers, zero: `network.{i}.conv{1,2}.padder.buffer` `[1, in, (k−1)·d]`.
    var streamingBuffers: TensorDictionary {
        var d = TensorDictionary()
        for (i, block) in blocks.enumerated() {
            for (name, conv) in [("conv1", block.conv1), ("conv2", block.conv2)] {
                d["network.\(i).\(name).padder.buffer"] = Tensor(
                    zeros: [1, conv.inputChannels, (conv.kernelSize - 1) * conv.dilation])
            }
        }
        return d
    }

    /// Why pytorch-tcn would compute something else from our weights (`BackboneConfiguration.pytorchTCNIncompatibility`).
    var pytorchTCNIncompatibility: String? { configuration.backbone.pytorchTCNIncompatibility }
}

extension BackboneConfiguration {
    /// Why `pytorch_tcn.TCN` with this backbone's weights would compute something else than this backbone, or
    /// `nil` when it computes the same outputs (then `StateDictNaming.pytorchTCN` can write and read its weights).
    ///
    /// pytorch-tcn's skip connections differ from ours: it sums, for blocks `0..<L−1`, the block's residual
    /// *branch* `dropout(act(norm(conv2(…))))` taken before the residual add and final activation (projected by
    /// `downsample_skip_connection.{i}` when narrower or wider), plus the *output* of the last block, then applies
    /// the activation — our `SkipSource.residualBranch`. With `.blockOutput` we sum every block's output (after
    /// its residual add and final activation): same keys and shapes, different function — so such weights are
    /// refused rather than loaded into a model that silently disagrees.
    public var pytorchTCNIncompatibility: String? {
        guard skipConnections, skipSource != .residualBranch else { return nil }
        return "pytorch-tcn's skip connections sum each block's residual branch (before the residual add and final "
            + "activation) and only the last block's output; this model sums every block's output, so these weights "
            + "would compute a different function (set backbone.skipSource to \"residualBranch\")"
    }
}
