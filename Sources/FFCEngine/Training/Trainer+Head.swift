// Training: the head a run trains with. The step and the checkpoint state go through
// `ClassificationHead` (ffc, fc, pfc alike); pool control and inspection through its
// `dynamicClassPool`, which only FFC has (the run refuses them for fc/pfc with a reason).
import Foundation

/// Builds the head for a run (tests may substitute their own).
public typealias HeadFactory = (_ database: FaceDatabase, _ config: TrainingConfig) throws -> any ClassificationHead

extension Trainer {
    /// The head `--head` names: FFC's class pool of `queue_size` slots (memory budget: half
    /// of physical memory), or the full-FC / Partial-FC margin softmax over every identity.
    public static func makeHead(database: FaceDatabase, config: TrainingConfig) throws -> any ClassificationHead {
        let loss = MarginLoss(
            type: config.lossType, scale: Float(config.scale),
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
