import ArgumentParser

/// The `seqtool` command: windowing, features and TCN training over audio and sensor streams.
@main
struct Seqtool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seqtool",
        abstract: "Cut audio and sensor streams into windows, compute features, train TCNs.",
        discussion: """
            Stages: info (what is in a file) · crop (files → windows as .npy or WAV, with a manifest) · features \
            (log-mel / MFCC per library preset) · train (a TCN from a config) · evaluate · predict · detect (anomalies \
            in a sensor stream).
            Run `seqtool help <command>` for each command's options.
            """,
        version: "0.1.0",
        subcommands: [
            Info.self, Crop.self, FeaturesCommand.self, Train.self, Evaluate.self, Predict.self, Detect.self,
        ]
    )
}
