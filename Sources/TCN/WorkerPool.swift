import Foundation
import Synchronization

/// The process-wide pool of persistent worker threads behind `TCNThreads.forEach`.
///
/// Why not `DispatchQueue.concurrentPerform`: a training step of TCNBench A runs ~27 parallel regions of tens to
/// hundreds of microseconds each, and libdispatch parks its threads between them, so every region paid a
/// kernel wake-up and hand-off (profiled: ~11 % of the step on the 2-core test machine, a KVM guest where waking an
/// idle vCPU costs an inter-processor interrupt and a VM exit). Here `TCNThreads.current − 1` threads live for the
/// whole process and, after each job, *spin* on the job word for `spinWindow` (100 µs) before they *park* on a
/// condition variable: back-to-back regions find them awake (a hand-off is a cache-line transfer, well under a
/// microsecond), while an idle process costs no CPU once the window has passed.
///
/// A job is `count` items split into `shares` shares; share `s` is items `s, s + shares, s + 2·shares, …` (the
/// assignment `TCNThreads.forEach` has always used, so results do not depend on the pool). The caller always runs
/// share 0; the others are *claimed* through one atomic word by whichever thread comes first — a worker, or the
/// caller itself once its own share is done — so a worker that is still waking up never delays the caller: it finds
/// nothing left to claim. Which thread runs a share never changes what the share computes.
///
/// One job runs at a time. A call that finds the pool busy — a `forEach` nested inside a body, or a second thread
/// calling while a job is in flight — runs its items serially on its own thread, so nothing can deadlock (nested
/// calls gain nothing from more threads anyway: the outer loop already keeps them busy).
///
/// `@unchecked Sendable`: the job's `body` and `count` are plain stored properties shared across threads. The
/// caller writes them before publishing the job word (a releasing store) and a worker reads them only after
/// claiming a share of that job (an acquiring compare-exchange); the caller clears `body` only after every claimed
/// share has reported done (`finished`, acquire/release), and it is the only writer while it holds `busy`.
/// `workers` and `generation` are touched only by the holder of `busy`.
final class WorkerPool: @unchecked Sendable {
    /// The pool `TCNThreads.forEach` uses. Created on first use; its threads are started by the first parallel call.
    static let shared = WorkerPool()

    /// The most shares one job can have (the share fields of `state` are 16 bits wide).
    static let maximumShares = 0xFFFF

    /// How long an idle worker spins on `state` after a job before it parks: 100 µs. Measured on TCNBench A (2 threads,
    /// best of 100, ~1 s of work): parking at once (0 µs) made ~3 500 context switches and ~5 000 training
    /// samples/s; 20 µs ~2 000, 50 µs ~1 000, 100 µs ~430 switches and ~5 400 samples/s; 300 µs and 1 ms cut the
    /// switches further but were no faster within the noise (±5 %), and would cost more CPU in every idle gap. An
    /// idle process stops using CPU 100 µs after its last job.
    static let spinWindow: UInt64 = 100_000

    /// How long the caller spins for the other shares to finish before it parks: 200 µs. The shares it waits for
    /// are running (they were claimed), so the wait is the imbalance between shares, usually a few microseconds;
    /// parking is for a worker that lost its core. 0, 20 µs, 200 µs, 500 µs and 1 ms measured the same within noise
    /// on TCNBench A and C (the caller seldom waits that long).
    static let callerSpinWindow: UInt64 = 200_000

    /// The published job: bits 32–63 the job's generation (mod 2³²), 16–31 its share count, 0–15 the next unclaimed
    /// share. Workers wait for the generation to change and claim shares by compare-exchange on the whole word.
    private let state = Atomic<UInt64>(0)

    /// Shares of the current job that have finished (the caller's included).
    private let finished = Atomic<Int>(0)

    /// Held by the thread whose job is in flight (or that is resizing the pool).
    private let busy = Atomic<Bool>(false)

    /// Workers parked (or about to park) on `workAvailable`.
    private let sleepers = Atomic<Int>(0)

    /// Whether the caller is parked (or about to park) on `jobDone`.
    private let callerSleeping = Atomic<Bool>(false)

    /// Whether the pool has more threads (workers and caller) than the machine has processors: then a spinning
    /// thread may hold the core a working one needs, so spin loops yield (`sched_yield`) every 64 polls.
    private let oversubscribed = Atomic<Bool>(false)

    /// The processors the operating system lets this process use.
    private static let processors = ProcessInfo.processInfo.activeProcessorCount

    /// Parks idle workers; signalled when a job is published or a worker is retired.
    private let workAvailable = NSCondition()

    /// Parks the caller; signalled by whoever finishes the job's last share.
    private let jobDone = NSCondition()

    /// The current job's body (non-nil only while a job is in flight).
    private var body: ((Int) -> Void)?

    /// The current job's item count.
    private var count = 0

    /// The running workers (their number is `TCNThreads.current − 1` after every resize).
    private var workers: [Worker] = []

    /// The last generation published.
    private var generation: UInt64 = 0

    /// One worker thread's stop flag.
    private final class Worker: Sendable {
        /// Set to make the thread exit the next time it looks for work.
        let retired = Atomic<Bool>(false)
    }

    /// A pool with no threads yet (`shared` is the one the module uses; tests make their own).
    init() {}

    /// Calls `body(i)` for every `i` in `0..<count` once, in `shares` shares (`2 ≤ shares ≤ maximumShares`), on the
    /// calling thread and `threads − 1` pool threads; returns when all are done. Runs serially on the calling thread
    /// when another job is in flight (nested or concurrent calls).
    func run(count: Int, shares: Int, threads: Int, _ body: (Int) -> Void) {
        precondition(shares >= 2 && shares <= Self.maximumShares && shares <= threads)
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for i in 0..<count { body(i) }
            return
        }
        defer { busy.store(false, ordering: .releasing) }
        resize(workers: threads - 1)
        withoutActuallyEscaping(body) { body in
            self.body = body
            self.count = count
            finished.store(0, ordering: .relaxed)
            generation &+= 1
            let word = (generation & 0xFFFF_FFFF) << 32 | UInt64(shares) << 16 | 1
            state.store(word, ordering: .sequentiallyConsistent)
            let parked = sleepers.load(ordering: .sequentiallyConsistent)
            if parked > 0 {
                workAvailable.lock()
                for _ in 0..<min(parked, shares - 1) { workAvailable.signal() }
                workAvailable.unlock()
            }
            runShare(0, of: shares)
            finished.add(1, ordering: .releasing)
            claimShares(generation: word >> 32)
            waitForShares(shares)
            self.body = nil
        }
    }

    /// Retires or starts workers so that `threads − 1` run; does nothing if a job is in flight (the next job resizes).
    func resize(toThreads threads: Int) {
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return }
        defer { busy.store(false, ordering: .releasing) }
        resize(workers: max(0, threads - 1))
    }

    /// The number of running workers (for tests; waits for an in-flight job to finish).
    var workerCount: Int {
        while !busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            sched_yield()
        }
        defer { busy.store(false, ordering: .releasing) }
        return workers.count
    }

    /// Starts or retires workers until `count` run. Caller holds `busy`.
    private func resize(workers count: Int) {
        guard workers.count != count else { return }
        oversubscribed.store(count + 1 > Self.processors, ordering: .relaxed)
        if workers.count > count {
            for worker in workers[count...] { worker.retired.store(true, ordering: .sequentiallyConsistent) }
            workers.removeSubrange(count...)
            workAvailable.lock()
            workAvailable.broadcast()
            workAvailable.unlock()
            return
        }
        while workers.count < count {
            let worker = Worker()
            let seen = (generation & 0xFFFF_FFFF)
            let name = "tcn.worker.\(workers.count + 1)"
            let thread = Thread { [self] in
                Thread.current.name = name
                self.work(as: worker, seen: seen)
            }
            thread.start()
            workers.append(worker)
        }
    }

    /// A worker thread's life: wait for a new generation, claim and run its shares, repeat until retired.
    private func work(as worker: Worker, seen start: UInt64) {
        var seen = start
        while let generation = waitForJob(after: seen, worker) {
            seen = generation
            claimShares(generation: generation)
        }
    }

    /// Waits (spin, then park) until a generation other than `seen` is published and returns it; `nil` once the
    /// worker is retired.
    private func waitForJob(after seen: UInt64, _ worker: Worker) -> UInt64? {
        let deadline = monotonicNanoseconds() + Self.spinWindow
        var polls = 0
        while true {
            let generation = state.load(ordering: .acquiring) >> 32
            if generation != seen { return generation }
            polls += 1
            if polls & 63 == 0 {
                if worker.retired.load(ordering: .relaxed) { return nil }
                if monotonicNanoseconds() > deadline { break }
                if oversubscribed.load(ordering: .relaxed) { sched_yield() }
            }
        }
        workAvailable.lock()
        defer { workAvailable.unlock() }
        sleepers.add(1, ordering: .sequentiallyConsistent)
        defer { sleepers.subtract(1, ordering: .sequentiallyConsistent) }
        while true {
            if worker.retired.load(ordering: .sequentiallyConsistent) { return nil }
            let generation = state.load(ordering: .sequentiallyConsistent) >> 32
            if generation != seen { return generation }
            workAvailable.wait()
        }
    }

    /// Claims and runs shares of job `generation` until none is left (or a newer job replaced it).
    private func claimShares(generation: UInt64) {
        var word = state.load(ordering: .acquiring)
        while true {
            let shares = Int((word >> 16) & 0xFFFF)
            let next = Int(word & 0xFFFF)
            guard word >> 32 == generation, next < shares else { return }
            let (claimed, current) = state.compareExchange(
                expected: word, desired: word + 1, successOrdering: .acquiringAndReleasing, failureOrdering: .acquiring)
            guard claimed else {
                word = current
                continue
            }
            runShare(next, of: shares)
            if finished.add(1, ordering: .sequentiallyConsistent).newValue == shares,
                callerSleeping.load(ordering: .sequentiallyConsistent)
            {
                jobDone.lock()
                jobDone.signal()
                jobDone.unlock()
            }
            word = state.load(ordering: .acquiring)
        }
    }

    /// Runs share `share` of the current job: items `share, share + shares, …` below `count`. Not inlined, so every
    /// retain of the body taken here is released before the caller reports the share finished (the caller of `run`
    /// checks that the body did not escape).
    @inline(never)
    private func runShare(_ share: Int, of shares: Int) {
        guard let body else { return }
        for i in stride(from: share, to: count, by: shares) { body(i) }
    }

    /// Waits (spin, then park) until all `shares` shares of the current job have finished.
    private func waitForShares(_ shares: Int) {
        let deadline = monotonicNanoseconds() + Self.callerSpinWindow
        var polls = 0
        while finished.load(ordering: .acquiring) < shares {
            polls += 1
            if polls & 63 == 0, oversubscribed.load(ordering: .relaxed) { sched_yield() }
            if polls & 63 == 0, monotonicNanoseconds() > deadline {
                jobDone.lock()
                callerSleeping.store(true, ordering: .sequentiallyConsistent)
                while finished.load(ordering: .sequentiallyConsistent) < shares { jobDone.wait() }
                callerSleeping.store(false, ordering: .sequentiallyConsistent)
                jobDone.unlock()
                return
            }
        }
    }
}

/// `CLOCK_MONOTONIC` in nanoseconds (a vDSO call, ~20 ns: cheap enough to poll inside a spin loop).
private func monotonicNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
}
