import ArgumentParser
import AudioIO
import Foundation
import TCN
import Windowing

/// `seqtool crop`: files → overlapping windows as `.npy` arrays (or WAV clips) plus a manifest CSV.
struct Crop: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Cut audio and sensor files into overlapping windows: .npy arrays or WAV clips, plus a manifest.",
        discussion: """
            Windows go into float32 arrays of shape [windows, channels, samples] (numpy.load reads them): \
            `arrays/shard-00000.npy`, … holding the windows of --files-per-shard consecutive input files (256 by \
            default; 1 gives one array per file, named after it), or WAV clips with `--format wav`. \
            `manifest.csv` lists every window: array, row, source file, label, segment, first sample, start and \
            centre time, padding. Outputs are written under temporary names and renamed when complete, so \
            rerunning after an interruption only does the shards that are missing (--force redoes all).

            Sensor CSV windows are labelled from the file's `label` column or from --label-intervals (NAB \
            combined_windows.json, or a start,end,label CSV), reduced per window by --label-reduce.

            Boundary modes (frames for n samples, window L, hop h):
              valid          1 + (n - L) / h, only windows inside the signal (Kaldi snip-edges, librosa.util.frame)
              pad-end        ceil(n / h), the tail padded with zeros (tf.signal.frame pad_end=True)
              pad-cover      1 + ceil((n - L) / h), as few as cover the signal (python_speech_features)
              center[-MODE]  1 + n / h for even L, centred on k·h; MODE zeros (default), reflect, edge, symmetric
              kaldi          (n + h/2) / h, Kaldi snip_edges=false with mirrored edges
            """
    )

    @Argument(help: "Audio files, sensor CSV files, folders (searched recursively) or glob patterns.")
    var inputs: [String]

    @Option(help: "Output folder (created if missing).")
    var out: String

    @Option(help: "Window length: time ('1s', '250ms', '10min') or samples ('16000').")
    var window = TimeSpan(seconds: 1)

    @Option(help: "Overlap between consecutive windows: '50%' or '0.5'. Default 0 (unless --hop is given).")
    var overlap: Overlap?

    @Option(help: "Hop between window starts, instead of --overlap: time ('0.5s') or samples ('8000').")
    var hop: TimeSpan?

    @Option(help: "valid, pad-end, pad-cover, center, center-reflect, center-edge, center-symmetric or kaldi.")
    var boundary: BoundaryArgument = .valid

    @Option(help: "npy (one array per file) or wav (one clip per window).")
    var format: OutputFormat = .npy

    @Option(help: "Where labels come from: none, folder (the file's folder name) or regex (see --label-regex).")
    var labelFrom: LabelFrom?

    @Option(help: "Regex on the file name whose first group is the label, e.g. '^(\\d)_' for FSDD.")
    var labelRegex: String?

    @Option(help: "Input files whose windows share one output array (and one resume step); 1 = one array per file.")
    var filesPerShard = 256

    @Option(help: "Sensor CSV: anomaly intervals (NAB combined_windows.json, or a start,end,label CSV).")
    var labelIntervals: String?

    @Option(help: "Sensor CSV: sample labels → window label: majority, any, all, last, center or fraction:T.")
    var labelReduce: LabelReduceArgument = .init(reduction: .majority)

    @Option(help: "Sensor CSV: the label outside every interval, and the fallback of any, all and fraction.")
    var labelBackground = "normal"

    @Option(help: "Sensor CSV: channels to read, comma-separated header names (default: every numeric column).")
    var channels: String?

    @Option(help: "Sensor CSV: sample rate in Hz, required when the file has no timestamp column.")
    var sampleRate: Double?

    @Option(help: "Sensor CSV gaps: error, split (windows never span a gap), fill (linear), or keep.")
    var gaps: GapArgument = .split

    @Option(help: "Sensor CSV missing cells: error, interpolate, previous, zero, drop or keep (NaN).")
    var missing: MissingArgument = .error

    @Flag(help: "Accept truncated audio files (read what is there, with a warning) instead of failing.")
    var allowTruncated = false

    @Flag(
        inversion: .prefixedNo,
        help: """
            Flush every output to disk before writing manifest.csv, so the outputs survive a power failure. \
            --no-sync skips it, as numpy.save does: outputs are still never partial, but a power failure may lose \
            the latest ones.
            """)
    var sync = true

    @OptionGroup var batch: RunOptions

    func validate() throws {
        guard filesPerShard >= 1 else { throw ValidationError("--files-per-shard must be ≥ 1, got \(filesPerShard)") }
        if let labelIntervals, !FileManager.default.fileExists(atPath: labelIntervals) {
            throw ValidationError("--label-intervals \(labelIntervals): no such file")
        }
        if overlap != nil && hop != nil { throw ValidationError("give --overlap or --hop, not both") }
        if labelFrom == .regex && labelRegex == nil {
            throw ValidationError("--label-from regex needs --label-regex PATTERN")
        }
        if let labelFrom, labelFrom != .regex, labelRegex != nil {
            throw ValidationError("--label-regex goes with --label-from regex, not --label-from \(labelFrom.rawValue)")
        }
        if let sampleRate, !(sampleRate > 0 && sampleRate.isFinite) {
            throw ValidationError("--sample-rate must be > 0, got \(sampleRate)")
        }
    }

    var labelSource: LabelSource {
        switch labelFrom {
        case .none?: return .none
        case .folder?: return .folder
        case .regex?: return labelRegex.map { .regex($0) } ?? .none
        case nil: return labelRegex.map { .regex($0) } ?? .none
        }
    }

    func run() throws {
        let started = Date()
        TCNThreads.releaseIdleBLASThreads()  // cropping never calls BLAS
        let files = try InputExpander.expand(inputs, labels: labelSource)
        let job = CropJob(
            outFolder: URL(fileURLWithPath: out), window: window, overlap: overlap?.fraction, hop: hop,
            boundary: boundary.mode, format: format, csvOptions: csvOptions(), labelling: try labelling(),
            allowTruncated: allowTruncated, stopOnError: batch.stopOnError,
            durable: sync ? AtomicFile.BackgroundSync() : nil)
        let names = CropJob.outputNames(for: files)
        let shards = CropJob.plan(names: names, filesPerShard: filesPerShard)
        let createdFolders = CropJob.missingAncestors(of: job.outFolder)
        let finished = try job.prepareFolders(force: batch.force)
        let progress = ProgressReporter(total: files.count, label: "files", quiet: batch.quiet)
        let results = ParallelRunner.run(count: shards.count, jobs: batch.jobs, stopOnError: batch.stopOnError) { s in
            try job.crop(
                shard: shards[s], files: files, names: names, finished: finished.contains(shards[s].name),
                progress: progress.advance)
        }
        var summary = CropSummary()
        var outcomes: [ShardOutcome] = []
        for result in results {
            switch result {
            case .success(let outcome)?:
                summary.add(outcome)
                outcomes.append(outcome)
                for failure in outcome.failed { printError("skipped \(failure.path): \(failure.message)") }
            case .failure(let error)?:
                throw CropFailure(message: "\(error)")
            case nil:
                break  // not started: another shard failed with --on-error fail
            }
        }
        try job.writeManifest(outcomes: outcomes, createdFolders: createdFolders)
        summary.elapsed = Date().timeIntervalSince(started)
        if !batch.quiet { printError(summary.description) }
    }

    /// The sensor labelling options, with the interval file read once for every shard.
    func labelling() throws -> SensorLabelling {
        var intervals: [String: [AudioIO.LabelInterval]]?
        if let labelIntervals {
            if labelIntervals.lowercased().hasSuffix(".json") {
                intervals = try IntervalLabels.readNABWindows(path: labelIntervals)
            } else {
                intervals = ["*": try IntervalLabels.readCSV(path: labelIntervals)]
            }
        }
        return SensorLabelling(
            intervals: intervals, intervalsPath: labelIntervals, reduction: labelReduce.reduction,
            background: labelBackground)
    }

    func csvOptions() -> SensorCSVOptions {
        var options = SensorCSVOptions()
        options.channels = channels?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        options.sampleRate = sampleRate
        options.gapPolicy = gaps.policy
        options.missingValues = missing.policy
        return options
    }
}

/// A runtime failure of `crop` that has already been described (exit 1).
struct CropFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// The boundary modes as they are spelled on the command line.
enum BoundaryArgument: String, ExpressibleByArgument, CaseIterable {
    case valid
    case padEnd = "pad-end"
    case padCover = "pad-cover"
    case center
    case centerReflect = "center-reflect"
    case centerEdge = "center-edge"
    case centerSymmetric = "center-symmetric"
    case kaldi

    var mode: BoundaryMode {
        switch self {
        case .valid: return .valid
        case .padEnd: return .padEnd()
        case .padCover: return .padEndToCover()
        case .center: return .center(.zeros)
        case .centerReflect: return .center(.reflect)
        case .centerEdge: return .center(.edge)
        case .centerSymmetric: return .center(.symmetric)
        case .kaldi: return .kaldiMirror
        }
    }
}

/// `--format`.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case npy, wav
}

/// `--label-from`.
enum LabelFrom: String, ExpressibleByArgument, CaseIterable {
    case none, folder, regex
}

/// `--gaps`.
enum GapArgument: String, ExpressibleByArgument, CaseIterable {
    case error, split, fill, keep

    var policy: SensorCSVOptions.GapPolicy {
        switch self {
        case .error: return .error
        case .split: return .split
        case .fill: return .fill(.linear)
        case .keep: return .keep
        }
    }
}

/// `--missing`.
enum MissingArgument: String, ExpressibleByArgument, CaseIterable {
    case error, interpolate, previous, zero, drop, keep

    var policy: SensorCSVOptions.MissingValuePolicy {
        switch self {
        case .error: return .error
        case .interpolate: return .interpolate
        case .previous: return .previous
        case .zero: return .zero
        case .drop: return .dropRow
        case .keep: return .keepNaN
        }
    }
}

/// `--label-reduce`: `majority`, `any`, `all`, `last`, `center` or `fraction:T` with T in (0, 1].
struct LabelReduceArgument: ExpressibleByArgument {
    let reduction: LabelReduction

    init(reduction: LabelReduction) { self.reduction = reduction }

    init?(argument: String) {
        switch argument.lowercased() {
        case "majority": reduction = .majority
        case "any": reduction = .any
        case "all": reduction = .all
        case "last": reduction = .last
        case "center", "centre": reduction = .center
        default:
            let parts = argument.split(separator: ":")
            guard parts.count == 2, parts[0] == "fraction", let t = Double(parts[1]), t > 0, t <= 1 else {
                return nil
            }
            reduction = .fraction(t)
        }
    }
}

/// What `crop` did, for the closing summary.
struct CropSummary: CustomStringConvertible {
    var files = 0
    var reusedFiles = 0
    var failed = 0
    var windows = 0
    var seconds = 0.0
    var elapsed = 0.0

    mutating func add(_ outcome: ShardOutcome) {
        files += outcome.files
        if outcome.reused { reusedFiles += outcome.files }
        failed += outcome.failed.count
        windows += outcome.windows
        seconds += outcome.seconds
    }

    var description: String {
        var parts = [
            files == 1 ? "1 file" : "\(files) files", "\(windows) windows", String(format: "%.1f s of signal", seconds),
        ]
        if reusedFiles > 0 { parts.append("\(reusedFiles) already done") }
        if failed > 0 { parts.append("\(failed) failed") }
        let rate = elapsed > 0 ? seconds / elapsed : 0
        parts.append(
            String(
                format: "%.2f s elapsed (%.0f× real time, %.0f files/s)", elapsed, rate,
                Double(files - reusedFiles) / max(elapsed, 1e-9)))
        return "crop: " + parts.joined(separator: ", ")
    }
}
