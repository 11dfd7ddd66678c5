// Control: what the trainer publishes (immutable snapshots, JSON-lines records) and what it
// accepts (commands applied between steps). The console and headless logs read only these.
import Foundation

/// Per-loader balance figures, as the loaders measure them.
public struct LoaderStats: Sendable, Equatable, Codable {
    public var name: String = ""
    public var batchesPerSecond: Double = 0
    /// Ready batches in the prefetch ring, and its capacity.
    public var ringFill: Int = 0
    public var ringCapacity: Int = 0
    /// Share of the trainer's wall time spent waiting on this loader (0…1) over the last window.
    public var trainerWaitShare: Double = 0
    /// Share of the workers' time spent busy (0…1).
    public var workerBusyShare: Double = 0
    public var epoch: Int = 0
    /// Progress through the current epoch (0…1).
    public var epochProgress: Double = 0
    public var skippedRecords: Int = 0
    public init() {}
}

/// One row of the pool inspector.
public struct PoolSlotInfo: Sendable, Equatable, Codable {
    public var slot: Int
    public var identity: Int
    /// 0 = most recently used.
    public var recencyRank: Int
    /// Steps since the identity's last write.
    public var ageSteps: Int
    public var writes: Int
    public var positionBit: Int
    /// Cosine between the slot's two bank rows (gallery drift); 1 when only one bank was written.
    public var bankCosine: Float
    public var nearestIdentity: Int
    public var nearestCosine: Float
    public init(
        slot: Int, identity: Int, recencyRank: Int, ageSteps: Int, writes: Int, positionBit: Int,
        bankCosine: Float, nearestIdentity: Int, nearestCosine: Float
    ) {
        self.slot = slot
        self.identity = identity
        self.recencyRank = recencyRank
        self.ageSteps = ageSteps
        self.writes = writes
        self.positionBit = positionBit
        self.bankCosine = bankCosine
        self.nearestIdentity = nearestIdentity
        self.nearestCosine = nearestCosine
    }
}

/// One logged training step: what the JSON-lines stream holds per step (`step`, `loss`, …).
public struct StepRecord: Sendable, Equatable, Codable {
    public var step: Int = 0
    public var epoch: Int = 0
    public var loss: Double = 0
    /// Margin-softmax part and hard-negative (outlier) part of the loss.
    public var lossMargin: Double = 0
    public var lossOutlier: Double = 0
    /// Share of probes whose identity is in the pool: identity-pair part and instance part.
    public var hitRatePair: Double = 0
    public var hitRateInstance: Double = 0
    public var poolOccupancy: Int = 0
    public var poolCapacity: Int = 0
    public var inserts: Int = 0
    public var evictions: Int = 0
    /// Mean steps since last write of the identities evicted this step (0 when none).
    public var evictionAgeMean: Double = 0
    public var dualShare: Double = 0
    public var lr: Double = 0
    public var probeImagesPerSecond: Double = 0
    public var allImagesPerSecond: Double = 0
    public var stepSeconds: Double = 0
    public var residentBytes: Int = 0
    public var gradNorm: Double = 0
    public var loaders: [LoaderStats] = []
    /// Data parallel (several ranks): every rank's share of the step, in rank order.
    public var ranks: [RankStepStats]? = nil
    public init() {}

    /// The rank with the longest step less its collective time (the others wait for it in
    /// the next collective): the bottleneck.
    public var slowestRank: RankStepStats? {
        ranks?.max { $0.computeSeconds + $0.dataWaitSeconds < $1.computeSeconds + $1.dataWaitSeconds }
    }
}

/// A non-step event in the stream: commands, checkpoints, warnings, validation results.
public struct EventRecord: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        case command, refused, checkpoint, warning, validation, info
    }
    public var step: Int
    public var kind: Kind
    public var message: String
    public var wallTime: Double
    public init(step: Int, kind: Kind, message: String, wallTime: Double = Date().timeIntervalSince1970) {
        self.step = step
        self.kind = kind
        self.message = message
        self.wallTime = wallTime
    }
}

/// Everything the console needs for one frame. Immutable once published.
public struct MetricsSnapshot: Sendable, Equatable, Codable {
    public var runName: String = ""
    public var netType: String = ""
    public var head: String = "ffc"
    public var identities: Int = 0
    public var images: Int = 0
    public var featureDim: Int = 0
    public var batchSize: Int = 0
    public var step: Int = 0
    public var maxSteps: Int = 0
    public var epoch: Int = 0
    public var epochs: Int = 0
    public var epochProgress: Double = 0
    public var paused: Bool = false
    public var finished: Bool = false
    public var etaSeconds: Double = 0
    /// Recent step records, oldest first (a bounded window the trainer keeps).
    public var history: [StepRecord] = []
    /// Recent events, oldest first.
    public var events: [EventRecord] = []
    /// Validation accuracy: latest and best so far (nil before the first validation).
    public var validationAccuracy: Double? = nil
    public var bestValidationAccuracy: Double? = nil
    /// The latest score of each `.bin` validation set, in `validation_bins` order (nil: none).
    public var validationSets: [ValidationRecord]? = nil
    /// Bytes per pool slot (both banks and bookkeeping), for the resize prompt's memory estimate.
    public var poolBytesPerSlot: Int = 0
    /// Processes training together and compute threads in each (nil: from before ranks).
    public var rankCount: Int? = nil
    public var threadsPerRank: Int? = nil
    public init() {}
    public var latest: StepRecord? { history.last }
}

/// How pool inspector rows are ordered.
public enum PoolSortKey: String, Sendable, Codable, CaseIterable {
    case recency, age, writes, drift
}

/// A request to the trainer, applied between steps and logged as an event.
public enum TrainerCommand: Sendable, Equatable, Codable {
    case setQueueSize(Int)
    case setLearningRate(Double)
    case pause
    case resume
    case checkpointNow
    case stop
}
