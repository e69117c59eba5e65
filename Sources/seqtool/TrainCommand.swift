import ArgumentParser
import Foundation
import TCN

/// `seqtool train --config FILE.json [--out DIR] [--resume] [--quiet] [--state-dict-naming NAMING]`.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a TCN from one config: data, split, windows, features, augmentation, model, optimiser.",
        discussion: """
            The config (JSON, "version": 1) names the data (a folder of clips with labels from folder names or a \
            file-name regex; UEA .ts train/test files; the manifest.csv of a `crop` run; sensor CSVs for task \
            "anomaly"), the split (by file, by a \
            group regex such as the speaker, or given), windowing, features (a Spectral preset or raw samples), \
            augmentation, the TCN and the optimiser. Unknown keys, wrong types and impossible combinations are \
            errors naming the key (exit 64). Relative paths are relative to the config file.

            The output folder holds the model (config.json, weights.safetensors, pipeline.json with the \
            normalisation and labels, labels.txt), metrics.jsonl (one line per epoch), report.md and SVG pictures \
            (loss and accuracy curves, the test confusion matrix). A checkpoint is kept in DIR/checkpoint while \
            training runs: after an interruption (even kill -9) `--resume` continues to the same final weights.
            """)

    @Option(name: .long, help: "The job config (JSON).")
    var config: String

    @Option(name: .long, help: "Output folder (default: the config's name without .json, in the current folder).")
    var out: String?

    @Flag(name: .long, help: "Continue an interrupted run in --out from its last checkpoint.")
    var resume = false

    @Flag(name: .long, help: "No progress bar or log lines (results still go to standard output).")
    var quiet = false

    @Option(
        name: .long,
        help: """
            Key names of weights.safetensors: locuslab (locuslab/TCN's, default) or pytorch-tcn (the pytorch-tcn \
            package's TCN, loadable with strict=True; its skip connections need "skipSource": "residualBranch").
            """)
    var stateDictNaming: ModelNaming = .locuslab

    func validate() throws {
        guard FileManager.default.fileExists(atPath: config) else {
            throw ValidationError("--config \(config): no such file")
        }
    }

    /// The output folder.
    var outFolder: URL {
        let name = ((config as NSString).lastPathComponent as NSString).deletingPathExtension
        return URL(fileURLWithPath: out ?? name)
    }

    func run() throws {
        TCNThreads.releaseIdleBLASThreads()  // the model runs OpenBLAS on one thread
        try withJobExitCodes {
            var job = try TrainingJob(configPath: config, out: outFolder, resume: resume, quiet: quiet)
            // Refused before anything is written.
            if stateDictNaming == .pytorchTCN, let reason = job.config.model.backbone.pytorchTCNIncompatibility {
                throw ValidationError("--state-dict-naming pytorch-tcn with \(config): \(reason)")
            }
            job.naming = stateDictNaming.naming
            let outcome = try job.run()
            print(outcome.summary)
        }
    }
}

/// `--state-dict-naming`: the key names of a saved model.
enum ModelNaming: String, ExpressibleByArgument, CaseIterable {
    case locuslab
    case pytorchTCN = "pytorch-tcn"

    /// The TCN module's naming.
    var naming: StateDictNaming {
        switch self {
        case .locuslab: return .locuslab
        case .pytorchTCN: return .pytorchTCN
        }
    }
}

/// Runs `body`, turning configuration errors into exit 64 and other job errors into exit 1, each with a
/// one-line message on standard error.
func withJobExitCodes(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as JobError {
        printError("Error: \(error.description)")
        throw ExitCode(error.isConfigurationError ? 64 : 1)
    }
}
