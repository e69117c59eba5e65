import Foundation
import Spectral
import TCN
import Windowing

/// The raw windows of a set of files, `[count, channels, length]`, with the class and file of each window.
struct WindowSet: Sendable {
    var samples: [Float]
    var count: Int
    /// Samples per window (`channels · length`).
    var size: Int
    /// Class index per window (classification), else empty.
    var classes: [Int]
    /// Index into `files` per window.
    var fileIndex: [Int]
    /// The files' paths.
    var files: [String]
    /// Class index per file (classification), else empty.
    var fileClasses: [Int]
    /// Where each window lies in its file.
    var provenance: [WindowProvenance]

    /// Sensor segments skipped because they are shorter than one window (a gap left too few rows between).
    var skippedSegments: [String] = []
    /// Anomaly task: windows left out because a row in them is labelled anomalous (the model learns normal data).
    var droppedAnomalous = 0

    /// Whether a sensor row's label means normal: empty, `normal`, `0` or `false` (any case). Any other label
    /// (`anomaly`, `1`, `fault`, …) marks the row anomalous.
    static func isNormal(_ label: String) -> Bool {
        ["", "normal", "0", "false"].contains(label.lowercased())
    }

    /// Windows every file with `pipeline`; `labels` maps class names to indices.
    ///
    /// For the anomaly task (`pipeline.task == .anomaly`) the files are the segments a sensor stream's gaps cut it
    /// into: a segment shorter than one window is skipped and listed in `skippedSegments`, and when the stream has
    /// a label column, windows holding a row labelled anomalous are left out (`droppedAnomalous`), so the model
    /// learns normal data only. For classification, a clip that gives no window is an error, since it would
    /// silently drop a labelled example.
    /// - Throws: `JobError.badData` naming a clip that gives no window, or when no file gives any window.
    init(files: [LoadedFile], pipeline: ModelPipeline, labels: [String]) throws {
        samples = []
        count = 0
        size = pipeline.input.channels * pipeline.window.length
        classes = []
        fileIndex = []
        self.files = files.map(\.path)
        fileClasses = []
        provenance = []
        let index = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        for (f, file) in files.enumerated() {
            if pipeline.task == .anomaly, file.signal.frames < pipeline.window.length {
                skippedSegments.append(file.path)
                continue
            }
            var frames = try pipeline.windows(of: file.signal, source: file.path)
            if pipeline.task == .anomaly, let rows = file.sampleLabels {
                let keep = frames.provenance.indices.filter { w in
                    rows[frames.provenance[w].signalRange].allSatisfy(Self.isNormal)
                }
                droppedAnomalous += frames.count - keep.count
                if keep.count < frames.count {
                    let size = frames.channels * frames.length
                    frames = try FrameBatch(
                        count: keep.count, channels: frames.channels, length: frames.length,
                        samples: keep.flatMap { frames.samples[($0 * size)..<(($0 + 1) * size)] },
                        provenance: keep.map { frames.provenance[$0] })
                }
            }
            samples += frames.samples
            count += frames.count
            fileIndex += [Int](repeating: f, count: frames.count)
            provenance += frames.provenance
            if let label = file.label, let c = index[label] {
                classes += [Int](repeating: c, count: frames.count)
                fileClasses.append(c)
            }
        }
        if !files.isEmpty, count == 0 {
            throw JobError.badData(
                source: files[0].path,
                reason: "no segment holds a whole \(pipeline.window.length)-sample window (\(files.count) segments)")
        }
    }

    /// Window `i`'s samples, planar `[channels, length]`.
    func window(_ i: Int) -> ArraySlice<Float> { samples[(i * size)..<((i + 1) * size)] }
}

/// The current epoch, shared between the training loop and the data source so augmentation draws depend only on
/// `(seed, epoch, example)` — a resumed run sees the same perturbations as an uninterrupted one.
final class EpochCounter: @unchecked Sendable {  // `value` is guarded by `lock`
    private let lock = NSLock()
    private var value = 0

    var epoch: Int {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}

/// What the model learns to output for a window.
enum TargetKind: Sendable {
    /// The window's class index (`[batch]`).
    case classes
    /// The input `horizon` steps ahead at every step (`[batch, C, T]`, the last `horizon` steps masked).
    case forecast(horizon: Int)
    /// The input itself at every step.
    case reconstruction
}

/// Training or evaluation examples for `Trainer`: windows → (augmentation) → features → normalisation →
/// (SpecAugment masks) → (mixup of the batch and/or label smoothing, with probability targets `[batch, classes]`).
struct WindowDataSource: TCNDataSource {
    let windows: WindowSet
    let pipeline: ModelPipeline
    let extractor: FeatureExtractor?
    let channels: Int
    let steps: Int
    let target: TargetKind
    /// `nil` for clean examples (validation, test, evaluation).
    let augmentation: AugmentationSpec?
    /// Label smoothing ε of class targets (training only; 0 = class indices unless mixup needs probabilities).
    let labelSmoothing: Float
    let shiftSamples: Int
    let seed: UInt64
    let epoch: EpochCounter
    /// Normalised inputs of every window when no waveform augmentation needs them recomputed.
    private let cache: [Float]?
    /// Valid steps per window for pooling heads (`ModelPipeline.validSteps`), or `nil`.
    let lengths: [Int]?

    /// - Throws: `JobError.badData` for a window whose features fail.
    init(
        windows: WindowSet, pipeline: ModelPipeline, target: TargetKind, augmentation: AugmentationSpec? = nil,
        labelSmoothing: Float = 0, seed: UInt64 = 0, epoch: EpochCounter = EpochCounter()
    ) throws {
        self.windows = windows
        self.pipeline = pipeline
        self.extractor = try pipeline.extractor()
        self.channels = try pipeline.tcnChannels()
        self.steps = try pipeline.tcnSteps()
        self.target = target
        self.augmentation = augmentation
        self.labelSmoothing = labelSmoothing
        self.shiftSamples = augmentation?.timeShift?.span.samples(at: pipeline.input.sampleRate) ?? 0
        self.seed = seed
        self.epoch = epoch
        self.lengths = pipeline.validSteps(windows.provenance)
        if augmentation?.hasWaveformChanges ?? false {
            cache = nil
        } else {
            var all: [Float] = []
            all.reserveCapacity(windows.count * channels * steps)
            for i in 0..<windows.count {
                all += try Self.clean(windows, i, pipeline: pipeline, extractor: extractor)
            }
            cache = all
        }
    }

    var count: Int { windows.count }

    private static func clean(
        _ set: WindowSet, _ i: Int, pipeline: ModelPipeline, extractor: FeatureExtractor?
    ) throws -> [Float] {
        var x = try Tensor(
            shape: [1, try pipeline.tcnChannels(), try pipeline.tcnSteps()],
            data: pipeline.tcnInput(window: set.window(i), extractor: extractor, source: set.files[set.fileIndex[i]]))
        pipeline.normalization.apply(&x)
        return x.data
    }

    /// The normalised (and, for training, augmented) input of example `i`, `[channels, steps]`.
    func input(_ i: Int) throws -> [Float] {
        guard let augmentation else { return try cached(i) }
        var random = TCNRandom(seed: Self.mix(seed, UInt64(epoch.epoch), UInt64(i)))
        var x: [Float]
        if augmentation.hasWaveformChanges {
            var w = Array(windows.window(i))
            perturb(&w, augmentation, &random)
            var t = try Tensor(
                shape: [1, channels, steps],
                data: pipeline.tcnInput(
                    window: w[...], extractor: extractor, source: windows.files[windows.fileIndex[i]]))
            pipeline.normalization.apply(&t)
            x = t.data
        } else {
            x = try cached(i)
        }
        mask(&x, augmentation, &random)
        return x
    }

    private func cached(_ i: Int) throws -> [Float] {
        let n = channels * steps
        if let cache { return Array(cache[(i * n)..<((i + 1) * n)]) }
        return try Self.clean(windows, i, pipeline: pipeline, extractor: extractor)
    }

    /// Time shift (zero filled), gain and Gaussian noise on planar `[channels, length]` samples.
    private func perturb(_ w: inout [Float], _ a: AugmentationSpec, _ random: inout TCNRandom) {
        let length = pipeline.window.length
        if shiftSamples > 0 {
            let shift = Int(random.next() % UInt64(2 * shiftSamples + 1)) - shiftSamples
            let source = w
            for c in 0..<pipeline.input.channels {
                for t in 0..<length {
                    let from = t - shift
                    w[c * length + t] = from >= 0 && from < length ? source[c * length + from] : 0
                }
            }
        }
        if a.gainDb > 0 {
            let gain = Float(Foundation.pow(10, Double(random.uniform(-a.gainDb, a.gainDb)) / 20))
            for i in w.indices { w[i] *= gain }
        }
        if a.noise > 0 {
            for i in w.indices { w[i] += a.noise * random.normal() }
        }
    }

    /// SpecAugment (Park et al. 2019): zero (= the training mean) `timeMasks` runs of steps and
    /// `frequencyMasks` runs of feature bins (the same bins in every audio channel).
    private func mask(_ x: inout [Float], _ a: AugmentationSpec, _ random: inout TCNRandom) {
        for _ in 0..<a.timeMasks {
            let width = Int(random.next() % UInt64(a.timeMaskWidth + 1))
            guard width > 0, width < steps else { continue }
            let start = Int(random.next() % UInt64(steps - width + 1))
            for c in 0..<channels {
                for t in start..<(start + width) { x[c * steps + t] = 0 }
            }
        }
        let dims = channels / max(pipeline.input.channels, 1)
        for _ in 0..<a.frequencyMasks {
            let width = Int(random.next() % UInt64(a.frequencyMaskWidth + 1))
            guard width > 0, width < dims else { continue }
            let start = Int(random.next() % UInt64(dims - width + 1))
            for c in 0..<pipeline.input.channels {
                for d in start..<(start + width) {
                    let row = (c * dims + d) * steps
                    for t in 0..<steps { x[row + t] = 0 }
                }
            }
        }
    }

    func batch(_ indices: [Int]) throws -> TCNBatch {
        var data: [Float] = []
        data.reserveCapacity(indices.count * channels * steps)
        for i in indices { data += try input(i) }
        let input = try Tensor(shape: [indices.count, channels, steps], data: data)
        switch target {
        case .classes:
            let alpha = augmentation?.mixup ?? 0
            if alpha > 0 || labelSmoothing > 0, let classCount = pipeline.labels?.count, !indices.isEmpty {
                var mixed = data
                var mixedLengths = lengths.map { l in indices.map { l[$0] } }
                let classes = indices.map { windows.classes[$0] }
                var targets = [Float](repeating: 0, count: indices.count * classCount)
                if alpha > 0 {
                    var random = TCNRandom(
                        seed: Self.mix(seed ^ Self.mixupSalt, UInt64(epoch.epoch), UInt64(indices[0])))
                    targets = Mixup(alpha: alpha).apply(
                        input: &mixed, classes: classes, classCount: classCount, lengths: &mixedLengths,
                        random: &random)
                } else {
                    for (b, c) in classes.enumerated() { targets[b * classCount + c] = 1 }
                }
                let floor = labelSmoothing / Float(classCount)
                for i in targets.indices { targets[i] = (1 - labelSmoothing) * targets[i] + floor }
                return TCNBatch(
                    input: try Tensor(shape: input.shape, data: mixed),
                    targets: try Tensor(shape: [indices.count, classCount], data: targets), lengths: mixedLengths)
            }
            return TCNBatch(
                input: input,
                targets: try Tensor(shape: [indices.count], data: indices.map { Float(windows.classes[$0]) }),
                lengths: lengths.map { l in indices.map { l[$0] } })
        case .reconstruction:
            return TCNBatch(input: input, targets: input)
        case .forecast(let h):
            var targets = [Float](repeating: 0, count: input.count)
            for row in 0..<(indices.count * channels) where h < steps {
                for t in 0..<(steps - h) { targets[row * steps + t] = data[row * steps + t + h] }
            }
            return TCNBatch(
                input: input, targets: try Tensor(shape: input.shape, data: targets),
                lengths: [Int](repeating: max(1, steps - h), count: indices.count))
        }
    }

    /// Keeps a batch's mixup draws apart from its first example's own augmentation draws (ASCII "mixup").
    static let mixupSalt: UInt64 = 0x6D_6978_7570

    /// A 64-bit mix of three values (SplitMix64's finaliser), the seed of one example's draws.
    static func mix(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> UInt64 {
        var z = a &+ 0x9E37_79B9_7F4A_7C15 &* (b &+ 1) &+ 0xD1B5_4A32_D192_ED03 &* (c &+ 1)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
