import Foundation

/// Runs `body(i)` for `i` in `0..<count` on `jobs` threads; results in input order, `nil` for items never started.
enum ParallelRunner {
    static func run<T>(
        count: Int, jobs: Int, stopOnError: Bool, _ body: @escaping @Sendable (Int) throws -> T
    ) -> [Result<T, Error>?] {
        let state = RunnerState<T>(count: count)
        let workers = max(1, min(jobs, count))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while let i = state.next(stopOnError: stopOnError) {
                let result = Result { try body(i) }
                state.store(result, at: i)
            }
        }
        return state.results
    }
}

/// Shared state of `ParallelRunner`: the next index and the results, behind a lock.
private final class RunnerState<T>: @unchecked Sendable {  // all mutable state is guarded by `lock`
    private let lock = NSLock()
    private var nextIndex = 0
    private var failed = false
    private let count: Int
    private(set) var results: [Result<T, Error>?]

    init(count: Int) {
        self.count = count
        results = Array(repeating: nil, count: count)
    }

    func next(stopOnError: Bool) -> Int? {
        lock.withLock {
            guard nextIndex < count, !(stopOnError && failed) else { return nil }
            defer { nextIndex += 1 }
            return nextIndex
        }
    }

    func store(_ result: Result<T, Error>, at i: Int) {
        lock.withLock {
            results[i] = result
            if case .failure = result { failed = true }
        }
    }
}
