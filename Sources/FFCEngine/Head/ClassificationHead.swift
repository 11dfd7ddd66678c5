// Head: the seam the trainer drives — one protocol for the FFC head and the full-FC and
// Partial-FC baselines, so `--head ffc|fc|pfc` changes nothing else in the step.
import Foundation

/// One step's probe features for the head. x and y are the two halves of the step (1.5·B rows
/// each, the first `pairRows` = B rows from identity pairs); gallery features only for FFC.
public struct HeadBatch: Sendable {
    /// (B', D) each, unit rows.
    public var probeX: [Float]
    public var probeY: [Float]
    public var labelsX: [Int]
    public var labelsY: [Int]
    /// (B', D) each: G(x) and G(y); required when the head's `needsGallery` is true.
    public var galleryX: [Float]?
    public var galleryY: [Float]?
    /// Identities of the gallery rows when they are not this batch's own: with several ranks
    /// the gallery rows are every rank's, gathered (nil: `labelsX`, `labelsY`).
    public var galleryLabelsX: [Int]?
    public var galleryLabelsY: [Int]?
    public var pairRows: Int
    public var step: Int

    public init(
        probeX: [Float], probeY: [Float], labelsX: [Int], labelsY: [Int], galleryX: [Float]? = nil,
        galleryY: [Float]? = nil, pairRows: Int, step: Int
    ) {
        self.probeX = probeX
        self.probeY = probeY
        self.labelsX = labelsX
        self.labelsY = labelsY
        self.galleryX = galleryX
        self.galleryY = galleryY
        self.pairRows = pairRows
        self.step = step
    }
}

/// What a head returns for one step: dLoss/dprobe for both halves, and the step's record
/// with what the head measured filled in — the loss and its parts, and for FFC the pool's
/// hit rates, inserts, evictions and dual share (fc/pfc: every probe "hits", nothing moves).
/// The trainer and the run fill in the rest of the same record.
public struct HeadStepOutput: Sendable {
    /// (B', D) each.
    public var gradProbeX: [Float]
    public var gradProbeY: [Float]
    public var record: StepRecord
    public var loss: Double { record.loss }

    public init(gradProbeX: [Float], gradProbeY: [Float], lossMargin: Double, lossOutlier: Double) {
        self.gradProbeX = gradProbeX
        self.gradProbeY = gradProbeY
        record = StepRecord()
        record.loss = lossMargin + lossOutlier
        record.lossMargin = lossMargin
        record.lossOutlier = lossOutlier
        record.hitRatePair = 1
        record.hitRateInstance = 1
    }
}

/// What a head with FFC's Dynamic Class Pool lets the trainer and the console do with it:
/// read its size, resize it mid-run, and look inside. Heads without one (fc, pfc) answer
/// `dynamicClassPool` with nil and the trainer refuses these commands with a reason.
public protocol DynamicClassPoolHead: AnyObject {
    var pool: ClassPool { get }
    func resizePool(capacity: Int) throws
}

/// A classification head over probe features.
public protocol ClassificationHead: AnyObject {
    /// `ffc`, `fc` or `pfc`.
    var name: String { get }
    /// Whether `forwardBackward` needs gallery features (FFC's pool is written with them).
    var needsGallery: Bool { get }
    /// Bytes the head keeps resident (weights, optimiser state, pool, logits buffers).
    var residentBytes: Int { get }
    /// Loss and gradients wrt the probe features; keeps any weight gradient for `update`.
    func forwardBackward(_ batch: HeadBatch) -> HeadStepOutput
    /// Applies the head's own weight update (none for FFC: the pool is data, not parameters).
    func update(learningRate: Float)
    /// Checkpoint tensors: everything the head needs to resume exactly.
    func exportState() -> [String: NamedTensor]
    /// Replaces the head's state with tensors written by `exportState`.
    func restoreState(from file: SafeTensorsFile) throws
    /// The head's Dynamic Class Pool, when it has one.
    var dynamicClassPool: (any DynamicClassPoolHead)? { get }
}

extension ClassificationHead {
    public var dynamicClassPool: (any DynamicClassPoolHead)? { nil }
}

extension FFCHead: ClassificationHead, DynamicClassPoolHead {
    public var name: String { "ffc" }
    public var needsGallery: Bool { true }

    public func forwardBackward(_ batch: HeadBatch) -> HeadStepOutput {
        guard let galleryX = batch.galleryX, let galleryY = batch.galleryY else {
            preconditionFailure("the FFC head needs gallery features G(x) and G(y)")
        }
        let r = ffcStep(
            probeX: batch.probeX, galleryY: galleryY, labelsX: batch.labelsX, labelsY: batch.labelsY,
            probeY: batch.probeY, galleryX: galleryX, step: batch.step, pairRows: batch.pairRows,
            galleryLabelsX: batch.galleryLabelsX, galleryLabelsY: batch.galleryLabelsY)
        var output = HeadStepOutput(
            gradProbeX: r.gradProbeX, gradProbeY: r.gradProbeY, lossMargin: r.lossMargin, lossOutlier: r.lossOutlier)
        output.record.hitRatePair = r.hitRatePair
        output.record.hitRateInstance = r.hitRateInstance
        output.record.inserts = r.inserts
        output.record.evictions = r.evictions
        output.record.evictionAgeMean = r.evictionAgeMean
        output.record.dualShare = r.dualShare
        return output
    }

    public var dynamicClassPool: (any DynamicClassPoolHead)? { self }

    public func update(learningRate: Float) {}

    public func exportState() -> [String: NamedTensor] { pool.exportState() }

    public func resizePool(capacity: Int) throws { try pool.resize(capacity: capacity) }

    /// Restores the pool, keeping this pool's identity count and memory budget for resizes.
    public func restoreState(from file: SafeTensorsFile) throws {
        pool = try ClassPool(
            restoring: file, identityCount: pool.identityCount, memoryBudgetBytes: pool.memoryBudgetBytes,
            probeRowsForBudget: pool.probeRowsForBudget)
    }
}
