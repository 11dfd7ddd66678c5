// BenchLRU: `ffc bench lru` — LRUCache against ClassicLRU on the class pool's workloads, with
// the memory each needs. Keys are drawn before timing; both caches see the same keys and must
// return the same slots (checked), so the table compares equal work.

import ArgumentParser
import FFCEngine
import Foundation
import LRUCache

public struct BenchLRU: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "lru",
        abstract: "LRUCache vs a classic Dictionary + linked-list LRU: ns/op, Mops/s, bytes/entry.",
        discussion: "Build in release: swift run -c release ffc bench lru"
    )

    @Option(help: "Timed runs per workload; the table shows the median.")
    var runs = 3

    @Flag(help: "Shrink every workload about tenfold for a fast smoke run.")
    var quick = false

    @Flag(help: "Print one JSON object per workload instead of the table.")
    var json = false

    @Option(
        parsing: .upToNextOption,
        help: "Run only these workloads (ffc-compare, uniform-10M, zipf-10M, step, resize).")
    var only: [String] = []

    public init() {}

    public func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1, got \(runs)") }
        let unknown = Set(only).subtracting(LRUWorkload.names)
        guard unknown.isEmpty else {
            throw ValidationError("unknown workloads \(unknown.sorted()); known: \(LRUWorkload.names)")
        }
    }

    public func run() throws {
        let sizes = quick ? LRUBenchSizes.quick : LRUBenchSizes.full
        // Measured first, while the heap has no free node-sized blocks to hide the growth.
        let classicBytesPerEntry = LRUWorkload.classicBytesPerFullEntry(capacity: sizes.resizeCapacity)
        var rng = SeededRandom(seed: 0xF2C_1BE7)
        let workloads = LRUWorkload.all(sizes: sizes, rng: &rng).filter { only.isEmpty || only.contains($0.name) }
        let hostBefore = HostLatency.measure()
        var rows: [LRUBenchRow] = []
        for workload in workloads {
            var ours: [Double] = []
            var batched: [Double] = []
            var classic: [Double] = []
            var bytesPerEntry = 0.0
            for _ in 0..<runs {
                let a = try workload.runOurs()
                let c = try workload.runOursBatched?()
                let b = workload.runClassic()
                for result in [a, c].compactMap({ $0 }) where result.checksum != b.checksum {
                    throw LRUBenchError.resultsDiffer(
                        workload: workload.name, ours: result.checksum, classic: b.checksum)
                }
                if let c { batched.append(c.seconds) }
                ours.append(a.seconds)
                classic.append(b.seconds)
                bytesPerEntry = a.bytesPerEntry
            }
            rows.append(
                LRUBenchRow(
                    workload: workload, label: workload.name, runSeconds: ours,
                    classicSeconds: Harness.median(classic), bytesPerEntry: bytesPerEntry,
                    classicBytesPerEntry: classicBytesPerEntry))
            if !batched.isEmpty {
                rows.append(
                    LRUBenchRow(
                        workload: workload, label: workload.name + "-batched", runSeconds: batched,
                        classicSeconds: Harness.median(classic), bytesPerEntry: bytesPerEntry,
                        classicBytesPerEntry: classicBytesPerEntry))
            }
        }
        let hostAfter = HostLatency.measure()
        let tenMillion = try LRUCache(capacity: 10_000_000).bytesPerEntry
        if json {
            for row in rows {
                try JSONLine.print(
                    row.json(bytesPerEntryAt10M: tenMillion, quick: quick, host: (hostBefore, hostAfter)))
            }
        } else {
            printTable(rows, bytesPerEntryAt10M: tenMillion, host: (hostBefore, hostAfter))
            print(
                "ClassicLRU memory, full at capacity \(sizes.resizeCapacity): "
                    + "\(Harness.fixed(classicBytesPerEntry, 1)) bytes/entry (resident memory growth)")
        }
    }

    private func printTable(
        _ rows: [LRUBenchRow], bytesPerEntryAt10M: Double, host: (before: HostLatency, after: HostLatency)
    ) {
        #if DEBUG
            print(
                "warning: debug build; numbers are meaningless. Use: swift run -c release ffc bench lru")
        #endif
        let load = LoadProbe.read()
        print(
            "ffc bench lru\(quick ? " --quick" : "") · median of \(runs) runs, thread CPU time · load average \(load)"
        )
        print("machine before: \(host.before.summary)")
        print("machine after:  \(host.after.summary)")
        print()
        let table = TextTable([
            .init("workload", 19), .init("ops", 11, .right), .init("ns/op", 8, .right),
            .init("runs min–max", 13, .right), .init("Mops/s", 8, .right), .init("classic ns/op", 14, .right),
            .init("classic Mops/s", 15, .right), .init("speedup", 8, .right), .init("bytes/entry", 12, .right),
        ])
        print(table.header)
        for row in rows {
            print(
                table.line([
                    row.label, "\(row.workload.operations)", Harness.fixed(row.nsPerOp, 1),
                    "\(Harness.fixed(row.runNsPerOp.min()!, 1))–\(Harness.fixed(row.runNsPerOp.max()!, 1))",
                    Harness.fixed(row.mops, 2),
                    Harness.fixed(row.classicNsPerOp, 1), Harness.fixed(1_000 / row.classicNsPerOp, 2),
                    Harness.fixed(row.speedup, 1) + "×",
                    Harness.fixed(row.bytesPerEntry, 1),
                ]))
        }
        print()
        for row in rows where row.label == row.workload.name {
            print("  \(row.label): \(row.workload.summary)")
        }
        print(
            "  *-batched: the same operations through get/tryGet(_ keys:slots:found:), \(LRUWorkload.stepBatch) keys "
                + "per call (the class pool's per-step call); classic columns repeat its single-call run")
        print()
        print("LRUCache memory at capacity 10,000,000: \(Harness.fixed(bytesPerEntryAt10M, 1)) bytes/entry")
    }
}

/// Why a benchmark run stopped.
enum LRUBenchError: Error, CustomStringConvertible {
    case resultsDiffer(workload: String, ours: Int, classic: Int)

    var description: String {
        switch self {
        case .resultsDiffer(let workload, let ours, let classic):
            "workload \(workload): LRUCache slot checksum \(ours) differs from ClassicLRU's \(classic)"
        }
    }
}

/// Sizes of the five workloads.
struct LRUBenchSizes {
    var compareCapacity: Int
    var compareOperations: Int
    var streamCapacity: Int
    var streamOperations: Int
    var keySpace: Int
    var steps: Int
    var resizeCapacity: Int

    static let full = LRUBenchSizes(
        compareCapacity: 1_000_000, compareOperations: 1_000_000, streamCapacity: 100_000,
        streamOperations: 10_000_000, keySpace: 10_000_000, steps: 20_000, resizeCapacity: 1_000_000)
    static let quick = LRUBenchSizes(
        compareCapacity: 100_000, compareOperations: 100_000, streamCapacity: 10_000,
        streamOperations: 1_000_000, keySpace: 1_000_000, steps: 2_000, resizeCapacity: 100_000)
}

/// One timed pass of one cache design.
struct LRUBenchResult {
    var seconds: Double
    /// Sum of returned slots (and moves), so both designs must do the same work.
    var checksum: Int
    /// LRUCache's `bytesPerEntry` after the run; 0 for ClassicLRU, whose memory is measured once
    /// by `classicBytesPerFullEntry`.
    var bytesPerEntry: Double
}

/// A workload: the same operations run through LRUCache and ClassicLRU.
struct LRUWorkload {
    let name: String
    let summary: String
    /// get/tryGet calls (rollbacks are timed but not counted); for resize, entries of the full cache.
    let operations: Int
    let runOurs: () throws -> LRUBenchResult
    /// The same operations through the batched calls, one call per `stepBatch` keys (nil: no such row).
    var runOursBatched: (() throws -> LRUBenchResult)? = nil
    let runClassic: () -> LRUBenchResult

    /// Rollback length and count of workload a, and the batch of workload d (384 = 1.5 × 256).
    static let compareRollback = 256
    static let compareRollbacks = 5
    static let stepBatch = 384
    /// Names of the workloads `all` returns, in its order.
    static let names = ["ffc-compare", "uniform-10M", "zipf-10M", "step", "resize"]

    static func all(sizes: LRUBenchSizes, rng: inout SeededRandom) -> [LRUWorkload] {
        let compareKeys = (0..<sizes.compareOperations).map { _ in
            Int32.random(in: 0...100, using: &rng)
        }
        let uniformKeys = (0..<sizes.streamOperations).map { _ in
            Int32(truncatingIfNeeded: Int.random(in: 0..<sizes.keySpace, using: &rng))
        }
        let zipfKeys = ZipfKeys.sample(
            count: sizes.streamOperations, keySpace: sizes.keySpace, exponent: 1.1, rng: &rng)
        let stepKeys = (0..<(sizes.steps * stepBatch)).map { _ in
            Int32(truncatingIfNeeded: Int.random(in: 0..<sizes.keySpace, using: &rng))
        }
        return [
            compare(capacity: sizes.compareCapacity, keys: compareKeys),
            stream(
                name: "uniform-10M", distribution: "uniform", capacity: sizes.streamCapacity,
                keySpace: sizes.keySpace, keys: uniformKeys, batched: true),
            stream(
                name: "zipf-10M", distribution: "Zipf(1.1)", capacity: sizes.streamCapacity,
                keySpace: sizes.keySpace, keys: zipfKeys, batched: false),
            step(
                capacity: sizes.streamCapacity, keySpace: sizes.keySpace, steps: sizes.steps, keys: stepKeys
            ),
            resize(capacity: sizes.resizeCapacity),
        ]
    }

    /// a: the original FFC's LRU comparison — tryGet over 101 keys, then 5 × rollback(256).
    static func compare(capacity: Int, keys: [Int32]) -> LRUWorkload {
        LRUWorkload(
            name: "ffc-compare",
            summary: "capacity \(capacity), \(keys.count) tryGet of keys uniform in 0...100, "
                + "then \(compareRollbacks) × rollback(\(compareRollback))",
            operations: keys.count,
            runOurs: {
                var cache = try LRUCache(capacity: capacity)
                return measure(bytesPerEntry: { cache.bytesPerEntry }) { compareLoop(&cache, keys) }
            },
            runClassic: { measureClassic(capacity: capacity) { compareLoop(&$0, keys) } })
    }

    /// b, c: a 1% pool fed a long stream of `get`.
    static func stream(
        name: String, distribution: String, capacity: Int, keySpace: Int, keys: [Int32], batched: Bool
    )
        -> LRUWorkload
    {
        let batches = batched ? batches(of: keys) : []
        return LRUWorkload(
            name: name,
            summary:
                "capacity \(capacity), \(keys.count) get of keys \(distribution) over \(keySpace) identities",
            operations: keys.count,
            runOurs: {
                var cache = try LRUCache(capacity: capacity)
                return measure(bytesPerEntry: { cache.bytesPerEntry }) { streamLoop(&cache, keys) }
            },
            runOursBatched: !batched
                ? nil
                : {
                    var cache = try LRUCache(capacity: capacity)
                    var slots: [Int] = []
                    var found: [Bool] = []
                    return measure(bytesPerEntry: { cache.bytesPerEntry }) {
                        var checksum = 0
                        for batch in batches {
                            cache.get(batch, slots: &slots, found: &found)
                            for slot in slots { checksum &+= slot }
                        }
                        return checksum
                    }
                },
            runClassic: { measureClassic(capacity: capacity) { streamLoop(&$0, keys) } })
    }

    /// d: one training step per batch of 256 pairs — journaled pass, rollback, kept pass.
    static func step(capacity: Int, keySpace: Int, steps: Int, keys: [Int32]) -> LRUWorkload {
        let batch = stepBatch
        let batches = batches(of: keys)
        return LRUWorkload(
            name: "step",
            summary: "capacity \(capacity), \(steps) steps of \(batch) tryGet, rollback(\(batch)), "
                + "\(batch) get (same keys, uniform over \(keySpace)); ops = tryGet + get",
            operations: steps * batch * 2,
            runOurs: {
                var cache = try LRUCache(capacity: capacity)
                return measure(bytesPerEntry: { cache.bytesPerEntry }) {
                    stepLoop(&cache, keys, steps: steps, batch: batch)
                }
            },
            runOursBatched: {
                var cache = try LRUCache(capacity: capacity)
                var slots: [Int] = []
                var found: [Bool] = []
                return measure(bytesPerEntry: { cache.bytesPerEntry }) {
                    var checksum = 0
                    for (step, batchKeys) in batches.enumerated() {
                        cache.tryGet(batchKeys, step: step, slots: &slots, found: &found)
                        for slot in slots { checksum &+= slot }
                        cache.rollback(batch)
                        cache.get(batchKeys, step: step, slots: &slots, found: &found)
                        for slot in slots { checksum &+= slot }
                    }
                    return checksum
                }
            },
            runClassic: {
                measureClassic(capacity: capacity) { stepLoop(&$0, keys, steps: steps, batch: batch) }
            })
    }

    /// `keys` cut into calls of `stepBatch` keys, as the batched calls take them.
    static func batches(of keys: [Int32]) -> [[Int]] {
        stride(from: 0, to: keys.count, by: stepBatch).map { start in
            keys[start..<min(start + stepBatch, keys.count)].map { Int($0) }
        }
    }

    /// e: a full pool halved and grown back (the shrink moves every survivor).
    static func resize(capacity: Int) -> LRUWorkload {
        LRUWorkload(
            name: "resize",
            summary:
                "full cache of \(capacity) resized to \(capacity / 2) and back; ops = \(capacity) entries",
            operations: capacity,
            runOurs: {
                var cache = try LRUCache(capacity: capacity)
                for key in 0..<capacity { _ = cache.get(key) }
                return try measure(bytesPerEntry: { cache.bytesPerEntry }) {
                    let moves = try cache.resize(capacity: capacity / 2)
                    try cache.resize(capacity: capacity)
                    return moves.reduce(cache.count) { $0 &+ $1.old &+ $1.new }
                }
            },
            runClassic: {
                measureClassic(capacity: capacity, fill: true) { cache in
                    let moves = cache.resize(capacity: capacity / 2)
                    _ = cache.resize(capacity: capacity)
                    return moves.reduce(cache.count) { $0 &+ $1.old &+ $1.new }
                }
            })
    }

    /// Times `body`, which returns a checksum, in CPU time of this thread: on a machine shared
    /// with other jobs, waiting for a core does not count (on a quiet machine it equals wall time).
    static func measure(bytesPerEntry: () -> Double, _ body: () throws -> Int) rethrows
        -> LRUBenchResult
    {
        let start = CPUTime.thread()
        let checksum = try body()
        let seconds = CPUTime.thread() - start
        return LRUBenchResult(seconds: seconds, checksum: checksum, bytesPerEntry: bytesPerEntry())
    }

    /// Times `body` on a fresh ClassicLRU, filled with keys 0..<capacity first when `fill`.
    static func measureClassic(capacity: Int, fill: Bool = false, _ body: (inout ClassicLRU) -> Int)
        -> LRUBenchResult
    {
        var cache = ClassicLRU(capacity: capacity)
        if fill { for key in 0..<capacity { _ = cache.get(key) } }
        return measure(bytesPerEntry: { 0 }) { body(&cache) }
    }

    // The workloads' loops, written once for both caches (specialised for each).

    /// a: tryGet every key, then the rollbacks; checksum of slots and the final count.
    static func compareLoop<Cache: LRUAccess>(_ cache: inout Cache, _ keys: [Int32]) -> Int {
        var checksum = 0
        for key in keys { checksum &+= cache.tryGet(Int(key), step: nil) }
        for _ in 0..<compareRollbacks { cache.rollback(compareRollback) }
        return checksum &+ cache.count
    }

    /// b, c: get every key.
    static func streamLoop<Cache: LRUAccess>(_ cache: inout Cache, _ keys: [Int32]) -> Int {
        var checksum = 0
        for key in keys { checksum &+= cache.get(Int(key), step: nil) }
        return checksum
    }

    /// d: per step, a journaled pass over the batch, its rollback, and the kept pass.
    static func stepLoop<Cache: LRUAccess>(_ cache: inout Cache, _ keys: [Int32], steps: Int, batch: Int) -> Int {
        var checksum = 0
        for step in 0..<steps {
            let batchKeys = keys[(step * batch)..<((step + 1) * batch)]
            for key in batchKeys { checksum &+= cache.tryGet(Int(key), step: step) }
            cache.rollback(batch)
            for key in batchKeys { checksum &+= cache.get(Int(key), step: step) }
        }
        return checksum
    }

    /// Resident memory a ClassicLRU filled to `capacity` adds, per entry.
    static func classicBytesPerFullEntry(capacity: Int) -> Double {
        let before = ResidentMemory.bytes()
        let cache = ClassicLRU(capacity: capacity)
        for key in 0..<capacity { _ = cache.get(key) }
        let grown = ResidentMemory.bytes() - before
        return withExtendedLifetime(cache) { Double(grown) / Double(capacity) }
    }
}

/// One table row: medians of both designs on one workload.
struct LRUBenchRow {
    let workload: LRUWorkload
    /// The workload's name, with "-batched" for the batched calls' row.
    let label: String
    /// LRUCache's time in each run, in run order.
    let runSeconds: [Double]
    let classicSeconds: Double
    let bytesPerEntry: Double
    let classicBytesPerEntry: Double

    var seconds: Double { Harness.median(runSeconds) }
    var nsPerOp: Double { seconds * 1e9 / Double(workload.operations) }
    /// ns/op of each run, in run order.
    var runNsPerOp: [Double] { runSeconds.map { $0 * 1e9 / Double(workload.operations) } }
    var classicNsPerOp: Double { classicSeconds * 1e9 / Double(workload.operations) }
    var mops: Double { 1_000 / nsPerOp }
    var speedup: Double { classicSeconds / seconds }

    func json(bytesPerEntryAt10M: Double, quick: Bool, host: (before: HostLatency, after: HostLatency)) -> [String: Any]
    {
        [
            "workload": label, "ops": workload.operations, "ns_per_op": JSONLine.rounded(nsPerOp, 3),
            "ns_per_op_runs": runNsPerOp.map { JSONLine.rounded($0, 3) }, "mops": JSONLine.rounded(mops, 3),
            "speedup_vs_classic": JSONLine.rounded(speedup, 3), "bytes_per_entry": JSONLine.rounded(bytesPerEntry, 2),
            "classic_ns_per_op": JSONLine.rounded(classicNsPerOp, 3),
            "classic_bytes_per_entry": JSONLine.rounded(classicBytesPerEntry, 2),
            "bytes_per_entry_at_10M": JSONLine.rounded(bytesPerEntryAt10M, 2), "quick": quick,
            "host_chase_ns_before": JSONLine.rounded(host.before.chaseNanoseconds, 2),
            "host_chase_ns_after": JSONLine.rounded(host.after.chaseNanoseconds, 2),
            "host_multiply_ns_before": JSONLine.rounded(host.before.multiplyNanoseconds, 3),
            "host_multiply_ns_after": JSONLine.rounded(host.after.multiplyNanoseconds, 3),
        ]
    }
}

/// Zipf-distributed keys drawn by inverting the cumulative distribution, with a guide table so
/// each draw binary-searches only a short stretch of it.
enum ZipfKeys {
    /// `count` keys in `0..<keySpace`; rank r (1-based) has weight r^-exponent, and ranks are
    /// spread over the key space by a fixed bijection so popular keys are not neighbours.
    static func sample(count: Int, keySpace: Int, exponent: Double, rng: inout SeededRandom) -> [Int32] {
        var cumulative = [Double](repeating: 0, count: keySpace)
        var total = 0.0
        for rank in 0..<keySpace {
            total += pow(Double(rank + 1), -exponent)
            cumulative[rank] = total
        }
        // guide[g] = first rank whose cumulative weight exceeds g / guideCount of the total.
        let guideCount = keySpace
        var guide = [Int32](repeating: 0, count: guideCount + 1)
        var rank = 0
        for g in 0...guideCount {
            let threshold = total * Double(g) / Double(guideCount)
            while rank < keySpace - 1 && cumulative[rank] <= threshold { rank += 1 }
            guide[g] = Int32(rank)
        }
        // 7,368,787 is odd and not a multiple of 5, so multiplying by it permutes 0..<10^k.
        let spread = 7_368_787 % keySpace == 0 ? 1 : 7_368_787
        return (0..<count).map { _ in
            let u = Double.random(in: 0..<total, using: &rng)
            let g = min(guideCount - 1, Int(u / total * Double(guideCount)))
            var low = Int(guide[g])
            var high = Int(guide[g + 1])
            while low < high {
                let mid = (low + high) / 2
                if cumulative[mid] > u { high = mid } else { low = mid + 1 }
            }
            return Int32(truncatingIfNeeded: (low * spread + 1_234_567) % keySpace)
        }
    }
}

/// What the workloads call on both caches, so each loop is written once.
protocol LRUAccess {
    var count: Int { get }
    mutating func get(_ key: Int, step: Int?) -> Int
    mutating func tryGet(_ key: Int, step: Int?) -> Int
    mutating func rollback(_ steps: Int)
}

extension LRUCache: LRUAccess {}
extension ClassicLRU: LRUAccess {}
