// Data/PrefetchRing: W Dispatch workers filling a bounded ring of ready batches, numbered
// 0, 1, 2, …; the consumer takes them strictly in order. A batch's content depends only on
// its number (the producer is a pure function of it), so the stream is the same for any
// worker count or timing. Also measures what the console shows about a loader.
import Foundation

final class PrefetchRing<Batch: Sendable>: @unchecked Sendable {
    // @unchecked: every mutable field is guarded by `condition`.
    typealias Produce = @Sendable (_ batchIndex: Int, _ scratch: inout [UInt8]) throws -> Batch

    let name: String
    let capacity: Int
    let workerCount: Int
    private let produce: Produce
    private let condition = NSCondition()
    private let workers = DispatchGroup()

    private var nextToProduce: Int
    private var nextToConsume: Int
    private var ready: [Int: Batch] = [:]
    private var failure: (index: Int, error: any Error)?
    private var stopping = false

    // Measurements, in seconds; windowed figures reset when `measure` reads them.
    private var busySeconds = 0.0
    private var waitSeconds = 0.0
    private var consumedInWindow = 0
    private var windowStart: Double

    init(name: String, capacity: Int, workers: Int, firstBatch: Int, produce: @escaping Produce) {
        self.name = name
        self.capacity = max(1, capacity)
        self.workerCount = max(1, workers)
        self.produce = produce
        nextToProduce = firstBatch
        nextToConsume = firstBatch
        windowStart = PrefetchRing.now()
        for w in 0..<workerCount {
            DispatchQueue(label: "ffc.loader.\(name).\(w)", qos: .userInitiated).async(group: self.workers) {
                self.workerLoop()
            }
        }
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }

    private func workerLoop() {
        var scratch: [UInt8] = []
        while true {
            condition.lock()
            while !stopping && failure == nil && nextToProduce >= nextToConsume + capacity { condition.wait() }
            if stopping || failure != nil {
                condition.unlock()
                return
            }
            let index = nextToProduce
            nextToProduce += 1
            condition.unlock()

            let start = PrefetchRing.now()
            let result = Result { try produce(index, &scratch) }
            let busy = PrefetchRing.now() - start

            condition.lock()
            busySeconds += busy
            switch result {
            case .success(let batch): ready[index] = batch
            case .failure(let error): if failure == nil || failure!.index > index { failure = (index, error) }
            }
            condition.broadcast()
            condition.unlock()
        }
    }

    /// The next batch in order, waiting for a worker if none is ready; throws the error that
    /// stopped the workers once the batches before it have been taken.
    func next() throws -> Batch {
        condition.lock()
        defer { condition.unlock() }
        let start = PrefetchRing.now()
        while ready[nextToConsume] == nil {
            if let failure, failure.index <= nextToConsume { throw failure.error }
            if stopping { throw CancellationError() }
            condition.wait()
        }
        waitSeconds += PrefetchRing.now() - start
        let batch = ready.removeValue(forKey: nextToConsume)!
        nextToConsume += 1
        consumedInWindow += 1
        condition.broadcast()
        return batch
    }

    /// Number of the batch `next` returns next.
    var cursor: Int {
        condition.lock()
        defer { condition.unlock() }
        return nextToConsume
    }

    /// Stops the workers and waits for them to finish the batch in hand.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        workers.wait()
    }

    /// Rates and shares since the previous call.
    func measure(into stats: inout LoaderStats) {
        condition.lock()
        defer { condition.unlock() }
        let now = PrefetchRing.now()
        let window = max(now - windowStart, 1e-9)
        stats.name = name
        stats.ringFill = ready.count
        stats.ringCapacity = capacity
        stats.batchesPerSecond = Double(consumedInWindow) / window
        stats.trainerWaitShare = min(1, waitSeconds / window)
        stats.workerBusyShare = min(1, busySeconds / (window * Double(workerCount)))
        busySeconds = 0
        waitSeconds = 0
        consumedInWindow = 0
        windowStart = now
    }
}
