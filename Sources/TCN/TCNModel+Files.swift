import Foundation

extension TCNModel {
    /// Saves the model as a directory holding `config.json` (the versioned configuration) and
    /// `weights.safetensors` (the full `state_dict`, byte-compatible with `safetensors.torch.save_file`).
    ///
    /// Each file is written to a temporary name and renamed, so an interrupted save never leaves a partial file.
    /// - Throws: `TCNError.ioFailure` when the directory cannot be created or written.
    public func save(to directory: URL) throws {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw TCNError.ioFailure(path: directory.path, reason: error.localizedDescription)
        }
        try writeAtomically(
            configuration.jsonData(), to: directory.appendingPathComponent("config.json"))
        try SafeTensors.write(stateDict, to: directory.appendingPathComponent("weights.safetensors"))
    }

    /// Loads a model directory written by `save(to:)` or by a PyTorch script (`config.json` +
    /// `weights.safetensors` from `save_file(model.state_dict())`).
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
