// Training: one FFC training step and the state it changes — probe net P (trained by SGD),
// the gallery net G (`GalleryNet`, EMA of P), the head, both loaders (merged into a
// `StepBatch`), the learning-rate policy. Legend: B pairs per step, B' = 1.5·B rows per half,
// D = feature dim, S = input side.
//
// A step, following the original FFC: G ← α·G + (1−α)·P; gallery features G(y), G(x) with G in
// training mode (the original never switches its gallery net to eval, so batch norm uses batch
// statistics); then per half: P forward, L2 norm, the head's pass, backward into P — x against
// the pool after G(y) is written (undone afterwards), y against the pool after G(x) (kept).
// Gradients of both halves accumulate before one SGD step, as one backward of loss₁ + loss₂ does.
import Foundation

public enum TrainerError: Error, CustomStringConvertible, Equatable {
    case unsupported(key: String, value: String, reason: String)
    case noDatabase
    case checkpointMismatch(path: String, reason: String)
    case noPool(head: String)
    case poolsDiverged(step: Int, checksums: [UInt32])

    public var description: String {
        switch self {
        case .unsupported(let key, let value, let reason): return "config: \(key) = \(value): \(reason)"
        case .noDatabase: return "no training database given (pass one or more LMDB paths)"
        case .checkpointMismatch(let path, let reason): return "\(path): \(reason)"
        case .noPool(let head): return "the \(head) head has no class pool to resize, inspect or restore"
        case .poolsDiverged(let step, let checksums):
            let list = checksums.enumerated().map { "rank \($0.offset) \(String($0.element, radix: 16))" }
            return
                "the ranks' class pools differ after step \(step) (CRC-32 \(list.joined(separator: ", "))): the run stopped, as every rank must write the same pool"
        }
    }
}

/// A step's executed multiply-adds (ExecutedCompute) and what the model's count × the
/// images each net should forward predicts: `forwardRatio` 1 means each image went through
/// each net once. The backward is listed apart (about 2× its forward: dW and dX).
public struct StepCompute: Sendable, Equatable {
    public var probeForward = 0
    public var probeBackward = 0
    public var galleryForward = 0
    /// `ffc model info`'s multiply-adds per image.
    public var perImage = 0
    public var probeImages = 0
    public var galleryImages = 0

    /// Forward multiply-adds both nets ran over model count × images.
    public var forwardRatio: Double {
        Double(probeForward + galleryForward) / Double(max(1, perImage * (probeImages + galleryImages)))
    }

    /// One line: executed GFLOP (2 per multiply-add) per step against the model's figure.
    public var summary: String {
        let g = { (macs: Int) in String(format: "%.1f", 2 * Double(macs) / 1e9) }
        return "compute per step: forward \(g(probeForward + galleryForward)) GFLOP executed "
            + "(probe \(g(probeForward)), gallery \(g(galleryForward))) vs model \(g(perImage)) GFLOP × "
            + "\(probeImages + galleryImages) images = \(g(perImage * (probeImages + galleryImages))) "
            + "(\(String(format: "%.3f", forwardRatio))×); probe backward \(g(probeBackward)) GFLOP"
    }
}

/// One finished step: its record (the head's and the trainer's figures; the run adds timing,
/// memory and loader balance), whether SGD updated, and a ReduceLROnPlateau reduction.
struct TrainedStep {
    var record: StepRecord
    var updated: Bool
    var plateauReduction: (from: Float, to: Float)?
}

public final class Trainer {
    let config: TrainingConfig
    let database: FaceDatabase
    let probe: Backbone
    /// FFC runs only: fc/pfc heads have no pool for gallery features to fill.
    let gallery: GalleryNet?
    let head: any ClassificationHead
    let optimizer: SGD
    var learningRate: LearningRatePolicy
    let stepsPerEpoch: Int
    let totalSteps: Int
    private(set) var identityLoader: IdentityLoader
    private(set) var instanceLoader: InstanceLoader
    /// One per half, so each keeps its own forward for its backward.
    private let probeNormX = L2Normalize()
    private let probeNormY = L2Normalize()
    let validator: Validator?
    let binValidator: BinValidator?
    /// Completed steps.
    var step = 0
    /// The ranks training together (one process by default).
    let communicator: any Communicator
    /// Pool checksum comparisons made so far (several ranks only).
    var poolChecks = 0
    /// The last comparison found the ranks' pools different (the run stops).
    var poolsDiverged = false
    /// Every rank's figures of the last step, in rank order.
    var lastRankStats: [RankStepStats] = []
    /// What the last step's layers executed (multiply-adds), against the model's count.
    private(set) var lastStepCompute = StepCompute()
    /// Several ranks: averages the probe gradients, in buckets during the last backward.
    var gradientExchange: GradientExchange?
    /// The pool CRC-32 the ranks last agreed on, and after which step.
    var lastPoolCheck: (step: Int, checksum: UInt32)?

    init(
        config: TrainingConfig, makeHead: HeadFactory, communicator: any Communicator = SingleProcessCommunicator()
    ) throws {
        self.communicator = communicator
        try config.validate()
        guard !config.databases.isEmpty else { throw TrainerError.noDatabase }
        if Set(config.gammas).count > 1 {
            throw TrainerError.unsupported(
                key: "gammas", value: "\(config.gammas)", reason: "one decay factor for every milestone is supported")
        }
        self.config = config
        database = try FaceDatabase.open(paths: config.databases)
        let side = config.inputSize > 0 ? config.inputSize : Backbone.defaultInputSize(name: config.netType)
        probe = try Backbone.make(
            name: config.netType, embeddingSize: config.featDim, inputSize: side, seed: config.seed)
        head = try makeHead(database, config)
        gallery = head.needsGallery ? GalleryNet(following: probe, alpha: Float(config.alpha)) : nil
        optimizer = SGD(
            learningRate: Float(config.lr), momentum: Float(config.momentum), nesterov: config.nesterov,
            weightDecay: Float(config.weightDecay))
        validator =
            config.validationEvery > 0
                && !config.validationDatabase.isEmpty
            ? try Validator(databasePath: config.validationDatabase, pairsPath: config.validationPairs) : nil
        binValidator =
            config.validationEvery > 0 && !config.validationBins.isEmpty
            ? try BinValidator(paths: config.validationBins) : nil
        let loaders = try Self.makeLoaders(
            config: config, database: database, side: side, identity: nil, instance: nil,
            shard: LoaderShard(rank: communicator.rank, ranks: communicator.size))
        identityLoader = loaders.0
        instanceLoader = loaders.1
        let stepsPerEpoch = loaders.1.batchesPerEpoch
        self.stepsPerEpoch = stepsPerEpoch
        let epochSteps = config.epochs * stepsPerEpoch
        totalSteps = config.maxSteps > 0 ? min(config.maxSteps, epochSteps) : epochSteps
        learningRate = LearningRatePolicy(config: config, stepsPerEpoch: stepsPerEpoch)
        try joinRanks()
    }

    static func makeLoaders(
        config: TrainingConfig, database: FaceDatabase, side: Int, identity: LoaderState?, instance: LoaderState?,
        shard: LoaderShard = LoaderShard()
    ) throws -> (IdentityLoader, InstanceLoader) {
        var loaderConfig = LoaderConfiguration(
            batchSize: config.batchSize, workers: config.workers, ringCapacity: 4, seed: config.seed,
            image: FaceImage(height: side, width: side), flip: true)
        loaderConfig.shard = shard
        return (
            try IdentityLoader(database: database, configuration: loaderConfig, state: identity),
            try InstanceLoader(database: database, configuration: loaderConfig, state: instance)
        )
    }

    /// Restarts both loaders at saved cursors (resume).
    func restoreLoaders(identity: LoaderState, instance: LoaderState) throws {
        identityLoader.stop()
        instanceLoader.stop()
        (identityLoader, instanceLoader) = try Self.makeLoaders(
            config: config, database: database, side: probe.inputSize, identity: identity, instance: instance,
            shard: LoaderShard(rank: communicator.rank, ranks: communicator.size))
    }

    func stopLoaders() {
        identityLoader.stop()
        instanceLoader.stop()
    }

    var epoch: Int { step / max(1, stepsPerEpoch) }
    /// The rate of the step about to run.
    var currentLearningRate: Float { learningRate.rate(step: step) }

    /// One step: see the file header. Skips the update (and says so) when the loss is not finite.
    func runStep() throws -> TrainedStep {
        let started = DispatchTime.now().uptimeNanoseconds
        let pairs = try identityLoader.next()
        let instances = try instanceLoader.next()
        let dataWait = Double(DispatchTime.now().uptimeNanoseconds - started) * 1e-9
        let batch = StepBatch(pairs: pairs, instances: instances, side: probe.inputSize)
        let rate = currentLearningRate
        optimizer.learningRate = rate
        probe.executed.reset()
        gallery?.net.executed.reset()
        var galleryX: [Float]?
        var galleryY: [Float]?
        var galleryLabels: (x: [Int], y: [Int])?
        if let gallery {
            gallery.follow(probe)
            galleryY = gallery.features(of: batch.y)
            galleryX = gallery.features(of: batch.x)
            if ranks > 1 {
                let y = gathered(features: galleryY!, labels: batch.labelsY, pairRows: batch.pairRows)
                let x = gathered(features: galleryX!, labels: batch.labelsX, pairRows: batch.pairRows)
                (galleryY, galleryX, galleryLabels) = (y.features, x.features, (x.labels, y.labels))
            }
        }
        var output = probeStep(batch, galleryX: galleryX, galleryY: galleryY, galleryLabels: galleryLabels)
        averageGradients()
        output.record = averagedRecord(output.record)
        var gradNorm = probe.gradientNorm
        let updated = output.loss.isFinite && gradNorm.isFinite
        if updated {
            gradNorm = optimizer.step(probe)
            head.update(learningRate: rate)
        }
        step += 1
        lastStepCompute = StepCompute(
            probeForward: probe.executed.forward, probeBackward: probe.executed.backward,
            galleryForward: gallery?.net.executed.forward ?? 0, perImage: probe.multiplyAddsPerImage,
            probeImages: config.probeImagesPerStep, galleryImages: gallery == nil ? 0 : config.probeImagesPerStep)
        var record = output.record
        record.step = step
        record.epoch = epoch
        record.gradNorm = gradNorm
        record.lr = Double(rate)
        let reduction = learningRate.record(loss: output.loss, completedSteps: step)
        if step % config.poolCheckEvery == 0 { try checkPoolsAgree() }
        if ranks > 1 {
            let times = communicator.takeTimes()
            var mine = RankStepStats()
            mine.rank = communicator.rank
            mine.host = communicator.hostName
            mine.stepSeconds = Double(DispatchTime.now().uptimeNanoseconds - started) * 1e-9
            mine.dataWaitSeconds = dataWait
            mine.allReduceSeconds = times.allReduceSeconds
            mine.allGatherSeconds = times.allGatherSeconds
            mine.allReduceWaitSeconds = times.allReduceWaitSeconds
            mine.gradientBuckets = gradientExchange?.bucketCount
            mine.poolChecksum = lastPoolCheck?.step == step ? lastPoolCheck?.checksum : nil
            // The all-reduce time hidden behind the backward is compute time as well.
            mine.computeSeconds = max(
                0, mine.stepSeconds - dataWait - times.allReduceWaitSeconds - times.allGatherSeconds)
            mine.communicatedBytes = times.bytes
            mine.probeImagesPerSecond = Double(config.probeImagesPerStep) / mine.stepSeconds
            lastRankStats = gatherRankStats(mine)
        }
        return TrainedStep(record: record, updated: updated, plateauReduction: reduction)
    }

    /// The probe net's part of a step: P(x) and P(y) as separate forwards (batch norm sees
    /// each half alone, as in the original), the head's two passes, and both backwards into
    /// P's gradients, y's first. Each half is forwarded once: what the net kept from P(x) is
    /// set aside while P(y) runs and put back for x's backward.
    private func probeStep(
        _ batch: StepBatch, galleryX: [Float]?, galleryY: [Float]?, galleryLabels: (x: [Int], y: [Int])? = nil
    ) -> HeadStepOutput {
        let featuresX = probeNormX.forward(probe.forward(input: batch.x, training: true), training: true)
        let savedX = probe.takeSaved()
        let featuresY = probeNormY.forward(probe.forward(input: batch.y, training: true), training: true)
        var headBatch = HeadBatch(
            probeX: featuresX.values, probeY: featuresY.values, labelsX: batch.labelsX, labelsY: batch.labelsY,
            galleryX: galleryX, galleryY: galleryY, pairRows: batch.pairRows, step: step)
        (headBatch.galleryLabelsX, headBatch.galleryLabelsY) = (galleryLabels?.x, galleryLabels?.y)
        let output = head.forwardBackward(headBatch)
        probe.zeroGrad()
        probe.backward(probeNormY.backward(Tensor(shape: featuresY.shape, values: output.gradProbeY)))
        probe.restoreSaved(savedX)
        gradientExchange?.armForFinalBackward()
        probe.backward(probeNormX.backward(Tensor(shape: featuresX.shape, values: output.gradProbeX)))
        return output
    }

    /// One of the identity's stored images as RGB bytes, for the pool inspector.
    func sampleImage(identity: Int) -> (width: Int, height: Int, rgb: [UInt8])? {
        guard identity >= 0, identity < database.identityCount,
            let image = database.images(ofIdentity: identity).first,
            let txn = try? database.beginRead(), let encoded = try? txn.image(ofImage: Int(image))
        else { return nil }
        var rgb: [UInt8] = []
        guard let (w, h) = try? ImageCodec.decodeRGB(encoded, into: &rgb)
        else { return nil }
        return (w, h, Array(rgb.prefix(w * h * 3)))
    }
}
