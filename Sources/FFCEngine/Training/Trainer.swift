// Training: one FFC training step and the state it changes — probe net P (trained by SGD),
// gallery net G (EMA of P), the head, both loaders, the schedule. Legend: B pairs per step,
// B' = 1.5·B rows per half, D = feature dim, S = input side.
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

    public var description: String {
        switch self {
        case .unsupported(let key, let value, let reason): return "config: \(key) = \(value): \(reason)"
        case .noDatabase: return "no training database given (pass one or more LMDB paths)"
        case .checkpointMismatch(let path, let reason): return "\(path): \(reason)"
        case .noPool(let head): return "the \(head) head has no class pool to resize, inspect or restore"
        }
    }
}

/// What one step measured, before it becomes a `StepRecord`.
struct StepOutcome {
    var loss: Double
    var lossMargin: Double
    var lossOutlier: Double
    var hitRatePair: Double
    var hitRateInstance: Double
    var inserts: Int
    var evictions: Int
    var evictionAgeMean: Double
    var dualShare: Double
    var gradNorm: Double
    var learningRate: Float
    var updated: Bool
    /// Set when ReduceLROnPlateau lowered the rate at the end of this step's epoch.
    var plateauReduction: (from: Float, to: Float)?
}

public final class Trainer {
    let config: TrainingConfig
    let database: FaceDatabase
    let probe: Backbone
    let gallery: Backbone
    let head: TrainerHead
    let optimizer: SGD
    let schedule: LearningRateSchedule
    /// The ReduceLROnPlateau state when the config asks for it (then `schedule` is unused).
    var plateau: PlateauSchedule?
    let stepsPerEpoch: Int
    let totalSteps: Int
    private(set) var identityLoader: IdentityLoader
    private(set) var instanceLoader: InstanceLoader
    private let probeNorm = L2Normalize()
    let validator: Validator?
    /// Completed steps.
    var step = 0
    /// Multiplies the schedule's rate after a live `set LR` (1 until then).
    var learningRateFactor: Float = 1

    init(config: TrainingConfig, makeHead: HeadFactory) throws {
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
        gallery = probe.copy()
        head = TrainerHead(head: try makeHead(database, config))
        optimizer = SGD(
            learningRate: Float(config.lr), momentum: Float(config.momentum), nesterov: config.nesterov,
            weightDecay: Float(config.weightDecay))
        validator =
            config.validationEvery > 0
            ? try Validator(databasePath: config.validationDatabase, pairsPath: config.validationPairs) : nil
        let loaders = try Self.makeLoaders(config: config, database: database, side: side, identity: nil, instance: nil)
        identityLoader = loaders.0
        instanceLoader = loaders.1
        let stepsPerEpoch = loaders.1.batchesPerEpoch
        self.stepsPerEpoch = stepsPerEpoch
        let epochSteps = config.epochs * stepsPerEpoch
        totalSteps = config.maxSteps > 0 ? min(config.maxSteps, epochSteps) : epochSteps
        let warmupSteps = config.warmup * stepsPerEpoch
        if config.scheduler == .plateau { plateau = PlateauSchedule(config: config, stepsPerEpoch: stepsPerEpoch) }
        switch config.scheduler {
        case .cosine:
            schedule = .cosine(
                base: Float(config.lr), totalSteps: epochSteps, minimum: Float(config.lrMin), warmupSteps: warmupSteps)
        default:
            schedule = .multiStep(
                base: Float(config.lr), milestones: config.milestones.map { $0 * stepsPerEpoch },
                gamma: Float(config.gammas.first ?? 0.1), warmupSteps: warmupSteps)
        }
    }

    static func makeLoaders(
        config: TrainingConfig, database: FaceDatabase, side: Int, identity: LoaderState?, instance: LoaderState?
    ) throws -> (IdentityLoader, InstanceLoader) {
        let loaderConfig = LoaderConfiguration(
            batchSize: config.batchSize, workers: config.workers, ringCapacity: 4, seed: config.seed,
            image: FaceImage(height: side, width: side), flip: true)
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
            config: config, database: database, side: probe.inputSize, identity: identity, instance: instance)
    }

    func stopLoaders() {
        identityLoader.stop()
        instanceLoader.stop()
    }

    var epoch: Int { step / max(1, stepsPerEpoch) }
    /// The schedule's rate at `step`, before a live `set LR` factor.
    func scheduledRate(step: Int) -> Float { plateau?.rate(step: step) ?? schedule.rate(step: step) }
    var learningRate: Float { scheduledRate(step: step) * learningRateFactor }

    /// One step: see the file header. Skips the update (and says so) when the loss is not finite.
    func runStep() throws -> StepOutcome {
        let b = config.batchSize
        let pairs = try identityLoader.next()
        let instances = try instanceLoader.next()
        let floatsPerImage = probe.inputSize * probe.inputSize * 3
        let half = b / 2
        // x = [pair firsts ‖ instances 0..<B/2], y = [pair seconds ‖ instances B/2..<B]; (B', S, S, 3) each.
        let xPixels = pairs.firsts.pixels + instances.pixels[0..<(half * floatsPerImage)]
        let yPixels = pairs.seconds.pixels + instances.pixels[(half * floatsPerImage)...]
        let xLabels = pairs.firsts.labels + instances.labels[0..<half]
        let yLabels = pairs.seconds.labels + instances.labels[half...]
        let side = probe.inputSize
        let x = Tensor(shape: [xLabels.count, side, side, 3], values: xPixels)
        let y = Tensor(shape: [yLabels.count, side, side, 3], values: yPixels)

        let rate = learningRate
        optimizer.learningRate = rate
        var galleryX: [Float]?
        var galleryY: [Float]?
        if head.head.needsGallery {
            gallery.ema(from: probe, alpha: Float(config.alpha))
            galleryY = Self.unitRows(gallery.forward(input: y, training: true))
            galleryX = Self.unitRows(gallery.forward(input: x, training: true))
        }
        // P(x) and P(y) are separate forwards (batch norm sees each half alone, as in the
        // original). The net keeps one forward's activations, so x is recomputed for its
        // backward, with the running statistics put back to what the two forwards left.
        let probeX = probeNorm.forward(probe.forward(input: x, training: true), training: true).values
        let featuresY = probeNorm.forward(probe.forward(input: y, training: true), training: true)
        let probeY = featuresY.values
        let output = head.head.forwardBackward(
            HeadBatch(
                probeX: probeX, probeY: probeY, labelsX: xLabels, labelsY: yLabels, galleryX: galleryX,
                galleryY: galleryY, pairRows: b, step: step))
        probe.zeroGrad()
        probe.backward(probeNorm.backward(Tensor(shape: featuresY.shape, values: output.gradProbeY)))
        let runningStatistics = probe.buffers.map { $0.tensor.clone() }
        let featuresX = probeNorm.forward(probe.forward(input: x, training: true), training: true)
        probe.backward(probeNorm.backward(Tensor(shape: featuresX.shape, values: output.gradProbeX)))
        for (buffer, saved) in zip(probe.buffers, runningStatistics) { buffer.tensor.copy(from: saved) }
        let loss = output.loss
        var gradNorm = probe.gradientNorm
        let updated = loss.isFinite && gradNorm.isFinite
        if updated {
            gradNorm = optimizer.step(probe)
            head.head.update(learningRate: rate)
        }
        step += 1
        let reduction = plateau?.record(loss: loss, completedSteps: step)
        let ffc = output.ffc
        return StepOutcome(
            loss: loss, lossMargin: output.lossMargin, lossOutlier: output.lossOutlier,
            hitRatePair: ffc?.hitRatePair ?? 1, hitRateInstance: ffc?.hitRateInstance ?? 1,
            inserts: ffc?.inserts ?? 0, evictions: ffc?.evictions ?? 0, evictionAgeMean: ffc?.evictionAgeMean ?? 0,
            dualShare: ffc?.dualShare ?? 0, gradNorm: gradNorm, learningRate: rate, updated: updated,
            plateauReduction: reduction)
    }

    /// (N, D) → N·D floats with every row scaled to unit length.
    static func unitRows(_ t: Tensor) -> [Float] {
        var values = t.values
        let d = t.shape[1]
        for r in 0..<t.shape[0] {
            var sum: Float = 0
            for i in 0..<d { sum += values[r * d + i] * values[r * d + i] }
            let scale = 1 / max(sum.squareRoot(), L2Normalize.epsilon)
            for i in 0..<d { values[r * d + i] *= scale }
        }
        return values
    }

    /// One of the identity's stored images as RGB bytes, for the pool inspector.
    func sampleImage(identity: Int) -> (width: Int, height: Int, rgb: [UInt8])? {
        guard identity >= 0, identity < database.identityCount,
            let image = database.images(ofIdentity: identity).first,
            let txn = try? database.beginRead(), let record = try? txn.record(ofImage: Int(image)),
            let datum = try? Datum.parse(record)
        else { return nil }
        var rgb: [UInt8] = []
        guard let (w, h) = try? ImageCodec.decodeRGB(UnsafeRawBufferPointer(rebasing: record[datum.image]), into: &rgb)
        else { return nil }
        return (w, h, Array(rgb.prefix(w * h * 3)))
    }
}
