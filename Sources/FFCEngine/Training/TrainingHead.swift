// Training: the seam between the trainer and a classification head (FFC's class pool, or the
// full-FC / Partial-FC baselines). A step is two passes — x against what y wrote, then y
// against what x wrote — so the trainer can run the probe net's forward and backward for one
// half at a time and never hold both halves' activations.
import Foundation

/// Loss and figures of one pass of one step.
public struct HeadPassResult: Sendable {
    /// Margin-softmax part and hard-negative (outlier) part.
    public var lossMargin: Double
    public var lossOutlier: Double
    /// (B', D) dLoss/dprobe for the pass's unit probe features.
    public var gradProbe: [Float]
    /// Probe rows whose identity had a class centre, in the pair part and in the instance part.
    public var hitsPair: Int
    public var hitsInstance: Int
    /// Pool churn caused by the pass's writes (zero for heads without a pool).
    public var inserts: Int
    public var evictions: Int
    /// Sum over evicted identities of steps since their last write.
    public var evictionAgeSum: Int
    /// Dual slots over distinct slots written.
    public var dualShare: Double

    public init(
        lossMargin: Double, lossOutlier: Double, gradProbe: [Float], hitsPair: Int, hitsInstance: Int,
        inserts: Int = 0, evictions: Int = 0, evictionAgeSum: Int = 0, dualShare: Double = 0
    ) {
        self.lossMargin = lossMargin
        self.lossOutlier = lossOutlier
        self.gradProbe = gradProbe
        self.hitsPair = hitsPair
        self.hitsInstance = hitsInstance
        self.inserts = inserts
        self.evictions = evictions
        self.evictionAgeSum = evictionAgeSum
        self.dualShare = dualShare
    }

    public var loss: Double { lossMargin + lossOutlier }
}

public protocol TrainingHead: AnyObject {
    /// Whether passes need gallery-net features (FFC) or only probe features (fc, pfc).
    var usesGallery: Bool { get }
    /// Class centres held now, and the most it may hold.
    var occupancy: Int { get }
    var capacity: Int { get }
    /// Bytes per class centre (weights, buffers, bookkeeping), for the resize prompt.
    var bytesPerSlot: Int { get }
    var residentBytes: Int { get }

    /// Pass 0 (x probed against gallery y; FFC undoes its pool writes afterwards) or pass 1
    /// (y against gallery x; writes kept). `probe` and `gallery` are (B', D) unit rows; the
    /// first `pairRows` rows are the identity-pair part.
    func pass(
        _ index: Int, probe: [Float], probeLabels: [Int], gallery: [Float], galleryLabels: [Int], step: Int,
        pairRows: Int
    ) -> HeadPassResult

    /// After both passes: heads with trainable weights apply their update here.
    func finishStep(learningRate: Float)

    /// Changes the number of class centres; throws a reason the user can read when refused.
    func resize(capacity: Int) throws

    func inspect(sort: PoolSortKey, offset: Int, limit: Int, step: Int) -> [PoolSlotInfo]
    func lookup(identity: Int, step: Int) -> PoolSlotInfo?

    /// Everything needed to continue bit for bit (names without a prefix; the trainer adds `head.`).
    func stateDict() -> [String: NamedTensor]
    func load(_ state: [String: NamedTensor]) throws
}
