/// How samples outside a signal are invented when a centred window reaches past either end.
///
/// For a signal `x[0..<n]` and an index `i` outside it (`n ≥ 1`):
/// ```
/// zeros        0                                   numpy.pad 'constant', torch 'constant'
/// constant(v)  v                                   numpy.pad 'constant', constant_values=v
/// edge         x[0] for i < 0, x[n-1] for i ≥ n    numpy.pad 'edge', torch 'replicate'
/// reflect      x[j], j = i mod 2(n-1) folded       numpy.pad 'reflect', torch 'reflect'  (… x2 x1 | x0 x1 …)
/// symmetric    x[j], j = i mod 2n folded           numpy.pad 'symmetric'                (… x1 x0 | x0 x1 …)
/// ```
/// Padding wider than the signal repeats the reflection periodically, exactly as `numpy.pad` (and therefore
/// `librosa.stft(center=True)`) does; `torch.stft` instead raises an error when the reflect padding is not
/// smaller than the input. With one sample, `reflect` returns that sample everywhere (numpy's behaviour).
public enum PadMode: Sendable, Hashable {
    /// Zeros: librosa's default `pad_mode="constant"` since librosa 0.10.
    case zeros
    /// A constant value on both sides.
    case constant(Float)
    /// Mirror without repeating the edge sample: `torch.stft`'s default `pad_mode="reflect"`.
    case reflect
    /// Repeat the first and last sample.
    case edge
    /// Mirror repeating the edge sample (the same reflection Kaldi uses).
    case symmetric
}

/// Where windows start and end relative to the signal, and how many there are.
///
/// With `n` samples, window length `L` and hop `h` (both ≥ 1), window `m` starts at `first(m)` and covers
/// `first(m) ..< first(m) + L`. Every mode gives **0 windows for an empty signal**.
/// ```
/// mode               windows for n ≥ 1                          first(m)            matches
/// valid              n < L ? 0 : 1 + (n - L) / h                m·h                 librosa.util.frame,
///                                                                                   tf.signal.frame(pad_end=False),
///                                                                                   torch.stft(center=False),
///                                                                                   Kaldi snip_edges=true
/// padEnd             ceil(n / h)                                m·h                 tf.signal.frame(pad_end=True)
/// padEndToCover      n ≤ L ? 1 : 1 + ceil((n - L) / h)          m·h                 python_speech_features framesig
/// center(pad)        1 + (n + 2·(L/2) - L) / h  (0 if negative) m·h - L/2           librosa.stft(center=True),
///                                                                                   torch.stft(center=True)
/// kaldiMirror        (n + h/2) / h                              m·h + h/2 - L/2     Kaldi snip_edges=false
/// ```
/// Divisions are integer divisions rounding down. In `center`, the signal is padded by `L/2` (rounded down) on
/// each side, as `librosa.stft` and `torch.stft` pad by `n_fft // 2`; for odd `L` a window's middle sample is
/// then `first(m) + L/2 = m·h`. `kaldiMirror` reproduces kaldi-native-fbank's `FirstSampleOfFrame`, `NumFrames`
/// (with `flush = true`) and `ExtractWindow`, whose out-of-range samples are mirrored like `PadMode.symmetric`.
///
/// The two tail-padding conventions differ only in how many windows they keep: `padEnd` keeps every window that
/// *starts* inside the signal (TensorFlow), `padEndToCover` only as many as needed to *cover* the last sample
/// (python_speech_features; it returns one window for any `n ≤ L`). With `n = 0`, python_speech_features
/// returns one all-zero window, as does `librosa.stft(center=True, pad_mode="constant")` for an even `n_fft`;
/// this library returns none.
///
/// kaldi-native-fbank's online extractor never finishes when its last window starts at or past the end of the
/// signal (possible in `kaldiMirror` with `hop > length`, e.g. `length 1, hop 2`, odd `n`); here that window
/// exists, as `NumFrames` in `feature-window.cc` counts it, and is filled by mirroring like the others.
///
/// librosa 1.0.0's `stft` pads its tail through a short slice of the signal, so with `reflect`/`symmetric` and a
/// hop of about half the window or more its last window can differ from `numpy.pad` of the whole signal; this
/// library follows `numpy.pad` and `torch.stft`.
public enum BoundaryMode: Sendable, Hashable {
    /// Only windows lying entirely inside the signal ("snip edges"); no sample is invented.
    case valid
    /// Windows start every hop while they start inside the signal; the tail is filled with `value`.
    case padEnd(value: Float = 0)
    /// As few windows as cover the whole signal; the tail is filled with `value` (python_speech_features).
    case padEndToCover(value: Float = 0)
    /// Windows centred on `m·hop`, the signal padded by `length/2` on each side as `pad` says.
    case center(PadMode)
    /// Kaldi's `snip_edges=false`: windows centred on `m·hop + hop/2`, edges mirrored (`PadMode.symmetric`).
    case kaldiMirror
}

/// What a framer reads for an index outside the signal: a constant, or another sample of the signal.
enum OutsideSample: Equatable {
    case value(Float)
    case sample(Int)
}

extension BoundaryMode {
    /// The offset of window 0's first sample from sample 0 (`first(m) = m·hop + offset`).
    func firstSampleOffset(length: Int, hop: Int) -> Int {
        switch self {
        case .valid, .padEnd, .padEndToCover: return 0
        case .center: return -(length / 2)
        case .kaldiMirror: return hop / 2 - length / 2
        }
    }

    /// The number of windows for a signal of `n` samples (see the table on `BoundaryMode`).
    func frameCount(signalLength n: Int, length: Int, hop: Int) -> Int {
        guard n > 0 else { return 0 }
        switch self {
        case .valid:
            return n < length ? 0 : 1 + (n - length) / hop
        case .padEnd:
            return (n + hop - 1) / hop
        case .padEndToCover:
            return n <= length ? 1 : 1 + (n - length + hop - 1) / hop
        case .center:
            let padded = n + 2 * (length / 2)
            return padded < length ? 0 : 1 + (padded - length) / hop
        case .kaldiMirror:
            return (n + hop / 2) / hop
        }
    }

    /// What to read at index `i`, which lies outside `0..<n`, for a signal of `n ≥ 1` samples.
    ///
    /// Only the left side (`i < 0`) is asked while a stream's length is still unknown; `StreamingFramer` then
    /// passes the samples seen so far as `n` and guarantees that the answer cannot change as `n` grows.
    func outside(_ i: Int, signalLength n: Int) -> OutsideSample {
        switch self {
        case .valid:
            return .value(0)
        case .padEnd(let value), .padEndToCover(let value):
            return .value(value)
        case .kaldiMirror:
            return .sample(Self.symmetricIndex(i, n))
        case .center(let pad):
            switch pad {
            case .zeros: return .value(0)
            case .constant(let value): return .value(value)
            case .edge: return .sample(i < 0 ? 0 : n - 1)
            case .reflect: return .sample(Self.reflectIndex(i, n))
            case .symmetric: return .sample(Self.symmetricIndex(i, n))
            }
        }
    }

    /// numpy's 'reflect' index for any `i` (periodic with period `2(n-1)`; all zeros when `n = 1`).
    static func reflectIndex(_ i: Int, _ n: Int) -> Int {
        guard n > 1 else { return 0 }
        let period = 2 * (n - 1)
        let j = ((i % period) + period) % period
        return j < n ? j : period - j
    }

    /// numpy's 'symmetric' (Kaldi's mirror) index for any `i` (periodic with period `2n`).
    static func symmetricIndex(_ i: Int, _ n: Int) -> Int {
        let period = 2 * n
        let j = ((i % period) + period) % period
        return j < n ? j : period - 1 - j
    }

    /// The fewest samples a stream must have delivered before a window starting at `first < 0` can be read
    /// without knowing the stream's final length (its left padding then no longer depends on it).
    func samplesNeededForLeftPadding(first: Int) -> Int {
        guard first < 0 else { return 0 }
        switch self {
        case .valid, .padEnd, .padEndToCover: return 0
        case .kaldiMirror: return -first
        case .center(let pad):
            switch pad {
            case .zeros, .constant: return 0
            case .edge: return 1
            case .reflect: return -first + 1
            case .symmetric: return -first
            }
        }
    }
}
