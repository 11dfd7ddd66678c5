// Training: what data parallelism adds to a step (the original FFC's DDP). Each of R ranks
// loads its rows of every global batch (`LoaderShard`), runs P and G on them, and then:
// - gallery features and labels are all-gathered, pair part then instance part, so the
//   gathered rows are the global batch's in the order one process would have them and every
//   rank writes the same pool in the same order;
// - the head's loss means count every rank's rows (`FFCHead.communicator`);
// - the probe gradients are averaged over the ranks from one flat buffer before SGD, in
//   buckets started during the last backward (`GradientExchange`);
// - with `sync_bn`, batch norm takes its statistics over the global batch;
// - every `pool_check_every` steps the ranks compare a CRC-32 of their pools.
// Initial weights (and, after a resume, the restored ones) are broadcast from rank 0.
import Foundation

/// One rank's share of a step's wall time, for the console and the metrics stream.
public struct RankStepStats: Sendable, Equatable, Codable {
    public var rank: Int = 0
    public var host: String = ""
    public var stepSeconds: Double = 0
    /// Waiting on this rank's two loaders.
    public var dataWaitSeconds: Double = 0
    public var allReduceSeconds: Double = 0
    public var allGatherSeconds: Double = 0
    /// Of `allReduceSeconds`, the part the step waited for (the rest ran behind the backward:
    /// gradient buckets); nil in metrics written before buckets existed.
    public var allReduceWaitSeconds: Double?
    /// Gradient buckets per step (1 with `FFC_GRADIENT_ALLREDUCE=whole`).
    public var gradientBuckets: Int?
    /// The pool CRC-32 all ranks agreed on after this step, when they compared.
    public var poolChecksum: UInt32?
    /// The rest: forward, backward, head, SGD (and the broadcasts of sync-bn origins).
    public var computeSeconds: Double = 0
    /// Bytes this rank put into collectives during the step.
    public var communicatedBytes: Int = 0
    public var probeImagesPerSecond: Double = 0
    public init() {}

    /// All-reduce time that ran while the step computed (0 for records without the split).
    public var allReduceHiddenSeconds: Double {
        allReduceWaitSeconds.map { max(0, allReduceSeconds - $0) } ?? 0
    }
}

extension Trainer {
    var ranks: Int { communicator.size }

    /// Distributed set-up after the nets and the head exist: refuses heads that cannot be
    /// sharded, wires sync-bn and the head's row counts, and makes rank 0's weights everyone's.
    func joinRanks() throws {
        guard ranks > 1 else { return }
        guard let ffc = head as? FFCHead else {
            throw TrainerError.unsupported(
                key: "head", value: head.name,
                reason: "\(ranks) ranks: only the ffc head trains data-parallel (fc/pfc weights are not sharded)")
        }
        ffc.communicator = communicator
        if config.syncBN {
            for net in [probe] + (gallery.map { [$0.net] } ?? []) {
                for case let norm as BatchNorm in net.network.walk().map(\.layer) { norm.synchronizer = communicator }
            }
        }
        gradientExchange = GradientExchange(
            probe: probe, communicator: communicator,
            mode: try GradientExchange.mode(environment: ProcessInfo.processInfo.environment))
        broadcastWeights()
    }

    /// How the gradients are averaged, for the run summary.
    var gradientExchangeSummary: String {
        guard let exchange = gradientExchange else { return "" }
        let mib = String(format: "%.1f", Double(4 * exchange.plan.floatCount) / 1_048_576)
        switch exchange.mode {
        case .whole: return "gradients: one all-reduce of \(mib) MiB after the backward (FFC_GRADIENT_ALLREDUCE=whole)"
        case .buckets(let floats):
            return
                "gradients: \(mib) MiB in \(exchange.bucketCount) buckets of ≥ \(floats) floats (FFC_GRADIENT_BUCKET_FLOATS), all-reduced during the last backward"
        }
    }

    /// Rank 0's probe and gallery weights and batch-norm statistics on every rank.
    func broadcastWeights() {
        guard ranks > 1 else { return }
        let tensors =
            probe.parameters.map(\.value) + probe.buffers.map(\.tensor)
            + (gallery.map { $0.net.parameters.map(\.value) + $0.net.buffers.map(\.tensor) } ?? [])
        for t in tensors {
            communicator.broadcast(UnsafeMutableRawBufferPointer(start: t.pointer, count: t.count * 4), root: 0)
        }
    }

    /// Every rank's gallery rows and labels of one half: all pair rows (rank order), then all
    /// instance rows — the global half's order.
    func gathered(features: [Float], labels: [Int], pairRows: Int) -> (features: [Float], labels: [Int]) {
        let d = config.featDim
        let pairs = communicator.allGather(Array(features[0..<(pairRows * d)]))
        let instances = communicator.allGather(Array(features[(pairRows * d)...]))
        let pairLabels = communicator.allGather(Array(labels[0..<pairRows]))
        let instanceLabels = communicator.allGather(Array(labels[pairRows...]))
        return (pairs + instances, pairLabels + instanceLabels)
    }

    /// The ranks' mean probe gradient, through one flat buffer (parameter order): waits for
    /// the buckets the last backward started, or all-reduces the whole buffer now.
    func averageGradients() { gradientExchange?.finish() }

    /// The step's record over all ranks: each rank's loss is already its share of the global
    /// mean times R, so the mean over ranks is the global loss; hit rates average (every rank
    /// has the same number of rows).
    func averagedRecord(_ record: StepRecord) -> StepRecord {
        guard ranks > 1 else { return record }
        var r = record
        var values = [r.loss, r.lossMargin, r.lossOutlier, r.hitRatePair, r.hitRateInstance]
        communicator.allReduceSum(&values)
        let scale = 1 / Double(ranks)
        (r.loss, r.lossMargin, r.lossOutlier) = (values[0] * scale, values[1] * scale, values[2] * scale)
        (r.hitRatePair, r.hitRateInstance) = (values[3] * scale, values[4] * scale)
        return r
    }

    /// CRC-32 of the pool's whole state (banks, positions, LRU order, RNG).
    var poolChecksum: UInt32 { SafeTensorsFile.crc32(tensors: head.exportState()) }

    /// Compares the ranks' pool checksums; throws on all ranks alike when they differ.
    func checkPoolsAgree() throws {
        guard ranks > 1, head.needsGallery else { return }
        let sums = communicator.allGather([poolChecksum])
        poolChecks += 1
        if Set(sums).count > 1 {
            poolsDiverged = true
            throw TrainerError.poolsDiverged(step: step, checksums: sums)
        }
        lastPoolCheck = (step, sums[0])
    }

    /// Every rank's step figures, in rank order (rank 0 publishes them).
    func gatherRankStats(_ mine: RankStepStats) -> [RankStepStats] {
        guard ranks > 1 else { return [mine] }
        let encoded = Array((try? JSONEncoder().encode(mine)) ?? Data())
        let parts = encoded.withUnsafeBytes { communicator.allGather($0) }
        return parts.map { (try? JSONDecoder().decode(RankStepStats.self, from: Data($0))) ?? RankStepStats() }
    }
}
