import Foundation
import Synchronization
import TestSupport
import Testing

@testable import TCN

/// The persistent worker pool behind `TCNThreads.forEach`: every item runs exactly once, share `s` is items
/// `s, s + shares, …` on one thread (share 0 on the caller), nested and concurrent calls complete, parked workers
/// and a parked caller are woken, and the pool follows the thread count. Pool-level tests use a pool of their own,
/// so tests running in parallel (which call `TCNThreads.forEach` and change the global thread count) cannot disturb
/// them; the `TCNThreads.forEach` tests check only what holds for any thread count.
struct WorkerPoolTests {
    /// A value per item that depends on the item only (what a body computes), to compare with a serial loop.
    static func value(_ i: Int) -> Float { Float(i).squareRoot() * 1.5 - Float(i % 7) }

    /// Runs `forEach` over `count` items writing `value(i)` and counting visits; returns the outputs and the
    /// number of calls made.
    static func visit(_ count: Int, _ forEach: (Int, (Int) -> Void) -> Void) -> (outputs: [Float], calls: Int) {
        let calls = Atomic<Int>(0)
        var outputs = [Float](repeating: -1, count: count)
        outputs.withUnsafeMutableBufferPointer { out in
            forEach(count) { i in
                out[i] = value(i)
                calls.add(1, ordering: .relaxed)
            }
        }
        return (outputs, calls.load(ordering: .relaxed))
    }

    @Test(arguments: [0, 1, 2, 3, 1000], [1, 2, 3, 5])
    func everyItemRunsOnceAndMatchesASerialLoop(count: Int, threads: Int) {
        let pool = WorkerPool()
        defer { pool.resize(toThreads: 1) }
        let shares = min(threads, count)
        let serial = (0..<count).map(Self.value)
        for _ in 0..<3 {
            let (outputs, calls) = Self.visit(count) { n, body in
                if shares >= 2 {
                    pool.run(count: n, shares: shares, threads: threads, body)
                } else {
                    for i in 0..<n { body(i) }
                }
            }
            #expect(calls == count, "count \(count), threads \(threads)")
            #expect(outputs == serial, "count \(count), threads \(threads)")
        }
        if shares >= 2 { #expect(pool.workerCount == threads - 1) }
    }

    /// `TCNThreads.forEach` for any global thread count (other tests may change it meanwhile).
    @Test(arguments: [0, 1, 2, 3, 1000])
    func forEachRunsEveryItemOnce(count: Int) {
        let serial = (0..<count).map(Self.value)
        for _ in 0..<5 {
            let (outputs, calls) = Self.visit(count) { TCNThreads.forEach($0, $1) }
            #expect(calls == count)
            #expect(outputs == serial)
        }
    }

    /// Share `s` is items `s, s + shares, s + 2·shares, …`, all on one thread; share 0 on the calling thread.
    @Test(arguments: [2, 3, 4])
    func sharesAreStridesAndShareZeroRunsOnTheCaller(shares: Int) {
        let pool = WorkerPool()
        defer { pool.resize(toThreads: 1) }
        let count = 101
        let caller = pthread_self()
        for _ in 0..<20 {
            var runners = [pthread_t?](repeating: nil, count: count)
            runners.withUnsafeMutableBufferPointer { runner in
                pool.run(count: count, shares: shares, threads: shares) { i in
                    runner[i] = pthread_self()
                    // Give the workers time to claim their shares, so that more than one thread takes part.
                    if i < shares { usleep(200) }
                }
            }
            for i in 0..<count {
                guard let thread = runners[i], let first = runners[i % shares] else {
                    Issue.record("item \(i) did not run")
                    return
                }
                #expect(pthread_equal(thread, first) != 0, "item \(i) ran apart from its share \(i % shares)")
            }
            #expect(runners[0].map { pthread_equal($0, caller) != 0 } == true)
        }
    }

    /// The caller's share blocks until item 1 has run, so a worker must take share 1: once right after a job (the
    /// worker is spinning) and once after the worker has had time to park (it must be woken). A lost wake-up would
    /// leave share 1 unstarted when the caller's 10 s guard expires.
    @Test func aParkedWorkerIsWokenForTheNextJob() {
        let pool = WorkerPool()
        defer { pool.resize(toThreads: 1) }
        for pause in [0, 0, 20_000, 20_000, 100_000] {
            usleep(UInt32(pause))
            let started = Atomic<Bool>(false)
            let seen = Atomic<Bool>(false)
            pool.run(count: 2, shares: 2, threads: 2) { i in
                if i == 1 {
                    started.store(true, ordering: .releasing)
                    return
                }
                let deadline = Date().addingTimeInterval(10)
                while !started.load(ordering: .acquiring), Date() < deadline { sched_yield() }
                seen.store(started.load(ordering: .acquiring), ordering: .relaxed)
            }
            let ran = seen.load(ordering: .relaxed)
            #expect(ran, "a worker should run share 1 (after a \(pause) µs pause)")
        }
    }

    /// A worker's share that outlasts the caller's spin window: the caller parks and is woken when it finishes.
    @Test func aParkedCallerIsWokenWhenTheLastShareFinishes() {
        let pool = WorkerPool()
        defer { pool.resize(toThreads: 1) }
        for _ in 0..<3 {
            let (outputs, calls) = Self.visit(4) { n, body in
                pool.run(count: n, shares: 2, threads: 2) { i in
                    if i == 1 { usleep(5_000) }
                    body(i)
                }
            }
            #expect(calls == 4)
            #expect(outputs == (0..<4).map(Self.value))
        }
    }

    /// A `forEach` inside a body (the pool is busy with the outer one) runs serially and completes, two levels deep.
    @Test func nestedCallsComplete() {
        let (outer, inner, innermost) = (6, 50, 3)
        let serial = (0..<(outer * inner * innermost)).map(Self.value)
        let pool = WorkerPool()
        defer { pool.resize(toThreads: 1) }
        let (outputs, calls) = Self.visit(outer * inner * innermost) { _, body in
            pool.run(count: outer, shares: 3, threads: 3) { a in
                pool.run(count: inner, shares: 2, threads: 3) { b in
                    TCNThreads.forEach(innermost) { c in body((a * inner + b) * innermost + c) }
                }
            }
        }
        #expect(calls == serial.count)
        #expect(outputs == serial)
        let (nested, nestedCalls) = Self.visit(outer * inner) { _, body in
            TCNThreads.forEach(outer) { a in TCNThreads.forEach(inner) { b in body(a * inner + b) } }
        }
        #expect(nestedCalls == outer * inner)
        #expect(nested == Array(serial.prefix(outer * inner)))
    }

    /// Several threads calling at once: one gets the pool, the others run serially; all results are right.
    @Test func concurrentCallersGetCorrectResults() {
        let pool = WorkerPool()
        defer { pool.resize(toThreads: 1) }
        let count = 1000
        let serial = (0..<count).map(Self.value)
        let results = Mutex<[Int: [Float]]>([:])
        DispatchQueue.concurrentPerform(iterations: 8) { caller in
            for round in 0..<20 {
                let (outputs, calls) = Self.visit(count) { n, body in
                    if caller % 2 == 0 {
                        pool.run(count: n, shares: 2, threads: 2, body)
                    } else {
                        TCNThreads.forEach(n, body)
                    }
                }
                if calls != count || outputs != serial || round == 19 {
                    results.withLock { $0[caller] = calls == count ? outputs : [] }
                }
            }
        }
        let collected = results.withLock { $0 }
        #expect(collected.count == 8)
        for (caller, outputs) in collected { #expect(outputs == serial, "caller \(caller)") }
    }

    /// The pool keeps `threads − 1` workers as the thread count changes between calls, and results stay right.
    @Test func threadCountChangesBetweenCalls() {
        let pool = WorkerPool()
        defer { pool.resize(toThreads: 1) }
        let count = 37
        let serial = (0..<count).map(Self.value)
        for threads in [2, 4, 1, 3, 8, 2] {
            pool.resize(toThreads: threads)
            #expect(pool.workerCount == threads - 1)
            guard threads >= 2 else { continue }
            for shares in 2...threads {
                let (outputs, calls) = Self.visit(count) { pool.run(count: $0, shares: shares, threads: threads, $1) }
                #expect(calls == count, "threads \(threads), shares \(shares)")
                #expect(outputs == serial, "threads \(threads), shares \(shares)")
            }
            #expect(pool.workerCount == threads - 1)
        }
    }

    /// `TCNThreads.set` between calls (the global pool; the count is restored afterwards).
    @Test func settingTheGlobalThreadCountBetweenCalls() throws {
        let saved = TCNThreads.current
        defer { try? TCNThreads.set(saved) }
        let serial = (0..<500).map(Self.value)
        for threads in [3, 1, 2, 4, 2] {
            try TCNThreads.set(threads)
            let (outputs, calls) = Self.visit(500) { TCNThreads.forEach($0, $1) }
            #expect(calls == 500)
            #expect(outputs == serial)
        }
    }
}
