// Training: the trainer's view of the head — the step itself and the checkpoint state go
// through `ClassificationHead` (ffc, fc, pfc alike); pool control and inspection exist only
// for FFC's class pool, and fc/pfc refuse them with a reason.
import Foundation

/// Builds the head for a run (tests may substitute their own).
public typealias HeadFactory = (_ database: FaceDatabase, _ config: TrainingConfig) throws -> any ClassificationHead

extension Trainer {
    /// The head `--head` names: FFC's class pool of `queue_size` slots (memory budget: half
    /// of physical memory), or the full-FC / Partial-FC margin softmax over every identity.
    public static func makeHead(database: FaceDatabase, config: TrainingConfig) throws -> any ClassificationHead {
        let loss = MarginLoss(
            type: MarginType(rawValue: config.lossType.rawValue) ?? .am, scale: Float(config.scale),
            margin: Float(config.margin))
        let identities = database.identityCount
        switch config.head {
        case .ffc:
            let pool = try ClassPool(
                capacity: config.queueSize, featureDim: config.featDim, seed: config.seed, identityCount: identities,
                memoryBudgetBytes: Int(ProcessInfo.processInfo.physicalMemory / 2),
                probeRowsForBudget: config.probeImagesPerPass)
            return FFCHead(pool: pool, loss: loss)
        case .fc, .pfc:
            return MarginFCHead(
                identities: identities, featureDim: config.featDim, loss: loss,
                sampleRate: config.head == .fc ? 1 : config.pfcSampleRate, momentum: Float(config.momentum),
                seed: config.seed)
        }
    }
}

/// Pool operations on whatever head a run has.
struct TrainerHead {
    let head: any ClassificationHead
    var ffc: FFCHead? { head as? FFCHead }

    var occupancy: Int { ffc?.pool.occupancy ?? 0 }
    var capacity: Int { ffc?.pool.capacity ?? 0 }
    var bytesPerSlot: Int {
        guard let pool = ffc?.pool else { return 0 }
        return ClassPool.bytesPerSlot(featureDim: pool.featureDim, probeRows: pool.probeRowsForBudget)
    }

    /// Throws the pool's reason, or says that this head has no pool.
    func resize(capacity: Int) throws {
        guard let ffc else { throw TrainerError.noPool(head: head.name) }
        try ffc.pool.resize(capacity: capacity)
    }

    func inspect(sort: PoolSortKey, offset: Int, limit: Int, step: Int) -> [PoolSlotInfo] {
        ffc?.pool.inspect(sort: sort, offset: offset, limit: limit, step: step) ?? []
    }

    func lookup(identity: Int, step: Int) -> PoolSlotInfo? { ffc?.pool.lookup(identity: identity, step: step) }

    /// Checkpoint tensors: FFC's pool under `head.pool.*`; fc/pfc's weights, momentum and
    /// sampler state under `head.fc.*`.
    func stateDict() -> [String: NamedTensor] {
        if let ffc { return ffc.pool.exportState(prefix: Self.prefix) }
        return Dictionary(uniqueKeysWithValues: head.exportState().map { ("head." + $0.key, $0.value) })
    }

    static let prefix = "head.pool."

    func load(_ file: SafeTensorsFile) throws {
        guard let ffc else {
            var own = SafeTensorsFile()
            own.path = file.path
            for (name, t) in file.tensors where name.hasPrefix("head.") { own[String(name.dropFirst(5))] = t }
            try head.restoreState(from: own)
            return
        }
        let pool = ffc.pool
        ffc.pool = try ClassPool(
            restoring: file, prefix: Self.prefix, identityCount: pool.identityCount,
            memoryBudgetBytes: pool.memoryBudgetBytes,
            probeRowsForBudget: pool.probeRowsForBudget)
    }
}
