// Training: the run configuration (flags, the original FFC's optimiser file), the run directory,
// checkpoints and the trainer loop. This file owns `TrainingConfig`: every knob of a run, with
// the original FFC's names (`queue_size`, `batch_size`, `loss_type`, …) as its JSON keys.
import Foundation

/// Everything that defines a run. Stored as `config.json` in the run directory as resolved
/// (flags over `--config` file over defaults), and in every checkpoint's metadata.
public struct TrainingConfig: Sendable, Equatable, Codable {
    public enum HeadKind: String, Sendable, Codable, CaseIterable { case ffc, fc, pfc }
    public enum Scheduler: String, Sendable, Codable, CaseIterable {
        case multistep, cosine
        case plateau = "ReduceLROnPlateau"
    }

    // Method (names as the original's argparse flags).
    /// Class pool slots Q (`--queue-size`).
    public var queueSize = 7409
    /// Identity pairs per step on this process, B (`--batch-size`): the step also takes B instances.
    public var batchSize = 64
    /// Gallery EMA weight α: g ← α·g + (1−α)·p.
    public var alpha = 0.99
    public var lossType = MarginType.am
    public var margin = 0.4
    public var scale = 32.0
    public var featDim = 512
    public var netType = "tiny"
    /// Input side S in pixels (0: the backbone's own, 112, or 64 for `tiny`).
    public var inputSize = 0
    public var head = HeadKind.ffc
    /// Partial FC: share of negative centres sampled per step.
    public var pfcSampleRate = 0.1
    /// Class pool resizes at step boundaries (`--queue-size-at STEP:Q,…`), as the console's
    /// resize command does them but at steps fixed in advance, so a run is reproducible.
    public var queueSizeAt: [QueueResize] = []

    /// After step `step`, the pool becomes `queueSize` slots.
    public struct QueueResize: Sendable, Equatable, Codable {
        public var step: Int
        public var queueSize: Int
        public init(step: Int, queueSize: Int) {
            self.step = step
            self.queueSize = queueSize
        }
        enum CodingKeys: String, CodingKey {
            case step
            case queueSize = "queue_size"
        }
    }

    // Optimiser and schedule (the original's optim_config keys).
    public var lr = 0.1
    public var lrMin = 0.00001
    public var epochs = 19
    /// Epochs at which the LR is multiplied by the matching entry of `gammas`.
    public var milestones = [8, 14, 17]
    public var gammas = [0.1, 0.1, 0.1]
    /// Linear warm-up length in epochs.
    public var warmup = 0
    public var patience = 4
    public var scheduler = Scheduler.multistep
    public var momentum = 0.9
    public var weightDecay = 0.0001
    public var nesterov = true

    // Run.
    public var seed: UInt64 = 1
    public var runDir = "runs/run"
    /// Stop after this many steps (0: run all epochs).
    public var maxSteps = 0
    public var checkpointEvery = 1000
    public var checkpointKeep = 3
    /// Validate every N steps and at the end (0: never), on `validation_database` (a held-out
    /// LMDB) with `validation_pairs` (lines `keyA keyB same`).
    public var validationEvery = 0
    public var validationDatabase = ""
    public var validationPairs = ""
    /// insightface `.bin` verification sets validated every `validation_every` steps as well
    /// (accuracy with and without flip, best so far per set).
    public var validationBins: [String] = []
    public var workers = 2
    /// Log a step record every N steps.
    public var logEvery = 1
    /// The rate a live `set LR` put in force (0: none) and the step it applied from: the run
    /// writes them here, so a resumed run reports the rate it really uses.
    public var lrLive = 0.0
    public var lrLiveStep = 0
    /// Data parallelism (several ranks under mpirun): batch norm over the global batch
    /// (`--sync-bn`, the original's SyncBatchNorm) instead of each rank's own rows, and how
    /// often (steps) the ranks compare class-pool checksums.
    public var syncBN = false
    public var poolCheckEvery = 100
    /// LMDB directories (each with its kv file beside it: `<db>.kv` or `<db>/kv.txt`, as the data loader resolves).
    public var databases: [String] = []

    public init() {}

    enum CodingKeys: String, CodingKey {
        case queueSize = "queue_size"
        case batchSize = "batch_size"
        case alpha
        case lossType = "loss_type"
        case margin,
            scale
        case featDim = "feat_dim"
        case netType = "net_type"
        case inputSize = "input_size"
        case head
        case pfcSampleRate = "pfc_sample_rate"
        case queueSizeAt = "queue_size_at"
        case lr = "LR"
        case lrMin = "LR_min"
        case epochs, milestones, gammas, warmup, patience, scheduler, momentum
        case
            weightDecay = "decay"
        case nesterov
        case seed
        case runDir = "run_dir"
        case maxSteps = "max_steps"
        case checkpointEvery = "checkpoint_every"
        case
            checkpointKeep = "checkpoint_keep"
        case validationEvery = "validation_every"
        case
            validationDatabase = "validation_database"
        case validationPairs = "validation_pairs"
        case validationBins = "validation_bins"
        case workers
        case
            logEvery = "log_every"
        case lrLive = "LR_live"
        case lrLiveStep = "LR_live_step"
        case databases
        case syncBN = "sync_bn"
        case poolCheckEvery = "pool_check_every"
    }

    /// Reads a config written by `encodedJSON()`; keys missing from the file keep their defaults.
    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func take<T: Decodable>(_ key: CodingKeys, _ value: inout T) throws {
            if let v = try c.decodeIfPresent(T.self, forKey: key) { value = v }
        }
        try take(.queueSize, &queueSize)
        try take(.batchSize, &batchSize)
        try take(.alpha, &alpha)
        try take(.lossType, &lossType)
        try take(.margin, &margin)
        try take(.scale, &scale)
        try take(.featDim, &featDim)
        try take(.netType, &netType)
        try take(.inputSize, &inputSize)
        try take(.head, &head)
        try take(.pfcSampleRate, &pfcSampleRate)
        try take(.queueSizeAt, &queueSizeAt)
        try take(.lr, &lr)
        try take(.lrMin, &lrMin)
        try take(.epochs, &epochs)
        try take(.milestones, &milestones)
        try take(.gammas, &gammas)
        try take(.warmup, &warmup)
        try take(.patience, &patience)
        try take(.scheduler, &scheduler)
        try take(.momentum, &momentum)
        try take(.weightDecay, &weightDecay)
        try take(.nesterov, &nesterov)
        try take(.seed, &seed)
        try take(.runDir, &runDir)
        try take(.maxSteps, &maxSteps)
        try take(.checkpointEvery, &checkpointEvery)
        try take(.checkpointKeep, &checkpointKeep)
        try take(.validationEvery, &validationEvery)
        try take(.workers, &workers)
        try take(.validationDatabase, &validationDatabase)
        try take(.validationPairs, &validationPairs)
        try take(.validationBins, &validationBins)
        try take(.logEvery, &logEvery)
        try take(.lrLive, &lrLive)
        try take(.lrLiveStep, &lrLiveStep)
        try take(.databases, &databases)
        try take(.syncBN, &syncBN)
        try take(.poolCheckEvery, &poolCheckEvery)
    }

    /// Pretty, key-sorted JSON: the `config.json` of a run and a checkpoint's `config` metadata.
    public func encodedJSON() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    public static func decode(json: String, path: String = "<config>") throws -> TrainingConfig {
        do {
            return try JSONDecoder().decode(TrainingConfig.self, from: Data(json.utf8))
        } catch {
            throw TrainingConfigError.unreadable(path: path, reason: "\(error)")
        }
    }

    // MARK: Batch arithmetic

    /// Images in x (and in y): B pair firsts + B/2 instances.
    public var probeImagesPerPass: Int { batchSize + batchSize / 2 }
    /// Images the probe net sees per step (x and y): 3B.
    public var probeImagesPerStep: Int { 2 * probeImagesPerPass }
    /// Images both nets process per step: the gallery net encodes x and y too.
    public var allImagesPerStep: Int { 2 * probeImagesPerStep }
    /// The lines printed at the start of a run: batch split, images per step, pool, schedule.
    public func summaryLines(identities: Int, images: Int) -> [String] {
        let b = batchSize
        var lines = [
            "net \(netType), feat dim \(featDim), head \(head.rawValue), loss \(lossType.rawValue) m=\(margin) s=\(scale)",
            "batch B=\(b) identity pairs + \(b) instances",
            "split: x = \(b) pair firsts + \(b / 2) instances, y = \(b) pair seconds + \(b - b / 2) instances (\(probeImagesPerPass) each)",
            "images per step: \(probeImagesPerStep) probe, \(allImagesPerStep) through both nets",
        ]
        if head == .ffc {
            let share = identities > 0 ? 100 * Double(queueSize) / Double(identities) : 0
            lines.append(
                String(
                    format: "class pool Q=%d slots = %.2f%% of %d identities, alpha %.4g", queueSize, share, identities,
                    alpha))
            if !queueSizeAt.isEmpty {
                lines.append(
                    "class pool resizes: "
                        + queueSizeAt.map { "after step \($0.step) to \($0.queueSize)" }.joined(separator: ", "))
            }
        } else {
            lines.append("\(head.rawValue) head over \(identities) identities")
        }
        let stepsPerEpoch = b > 0 ? images / b : 0
        lines.append(
            "\(images) images, \(stepsPerEpoch) steps/epoch, \(epochs) epochs, LR \(lr) \(scheduler.rawValue) "
                + (scheduler == .plateau
                    ? "on each epoch's mean loss, patience \(patience), factor \(gammas.first ?? 0.1), LR_min \(lrMin)"
                    : "milestones \(milestones)") + " warmup \(warmup)"
                + (maxSteps > 0 ? ", stop after \(maxSteps) steps" : "")
                + (lrLive > 0 ? "; LR set live to \(lrLive) from step \(lrLiveStep)" : ""))
        return lines
    }

    /// Far above any real run; it keeps the batch arithmetic (`allImagesPerStep`) well inside Int.
    public static let maxBatchSize = 1 << 24

    /// Checks every value a user can get wrong; the error names the key and the value.
    public func validate() throws {
        func fail(_ key: String, _ value: Any, _ why: String) -> TrainingConfigError {
            .invalid(key: key, value: "\(value)", reason: why)
        }
        if queueSize <= 0 { throw fail("queue_size", queueSize, "must be > 0") }
        if batchSize < 2 { throw fail("batch_size", batchSize, "must be ≥ 2 (B pairs + B instances)") }
        // An upper bound so the batch arithmetic (6·B images a step) cannot overflow.
        if batchSize > Self.maxBatchSize { throw fail("batch_size", batchSize, "must be ≤ \(Self.maxBatchSize)") }
        if !(alpha >= 0 && alpha <= 1) { throw fail("alpha", alpha, "must be in [0, 1]") }
        if !(scale > 0) { throw fail("scale", scale, "must be > 0") }
        if !(margin >= 0) { throw fail("margin", margin, "must be ≥ 0") }
        if featDim <= 0 { throw fail("feat_dim", featDim, "must be > 0") }
        if !(lr > 0) { throw fail("LR", lr, "must be > 0") }
        if epochs <= 0 { throw fail("epochs", epochs, "must be > 0") }
        if warmup < 0 || warmup > epochs { throw fail("warmup", warmup, "must be in 0…epochs (\(epochs))") }
        if patience < 0 { throw fail("patience", patience, "must be ≥ 0") }
        if !(lrMin >= 0) { throw fail("LR_min", lrMin, "must be ≥ 0") }
        if milestones != milestones.sorted() { throw fail("milestones", milestones, "must be increasing") }
        if !gammas.isEmpty && gammas.count != milestones.count && gammas.count != 1 {
            throw fail("gammas", gammas, "needs one entry per milestone (\(milestones.count)) or a single one")
        }
        if !(pfcSampleRate > 0 && pfcSampleRate <= 1) {
            throw fail("pfc_sample_rate", pfcSampleRate, "must be in (0, 1]")
        }
        if !queueSizeAt.isEmpty {
            let text = queueSizeAt.map { "\($0.step):\($0.queueSize)" }.joined(separator: ",")
            if head != .ffc { throw fail("queue_size_at", text, "resizes the class pool: needs head ffc") }
            if queueSizeAt.contains(where: { $0.step < 1 || $0.queueSize < 1 }) {
                throw fail("queue_size_at", text, "steps and sizes must be ≥ 1")
            }
            if zip(queueSizeAt, queueSizeAt.dropFirst()).contains(where: { $0.step >= $1.step }) {
                throw fail("queue_size_at", text, "steps must be increasing")
            }
        }
        if maxSteps < 0 { throw fail("max_steps", maxSteps, "must be ≥ 0") }
        if checkpointKeep < 1 { throw fail("checkpoint_keep", checkpointKeep, "must be ≥ 1") }
        if checkpointEvery < 0 { throw fail("checkpoint_every", checkpointEvery, "must be ≥ 0") }
        if inputSize < 0 { throw fail("input_size", inputSize, "must be ≥ 0 (0: the backbone's own)") }
        if validationEvery < 0 { throw fail("validation_every", validationEvery, "must be ≥ 0") }
        if validationEvery > 0 && validationBins.isEmpty && (validationDatabase.isEmpty || validationPairs.isEmpty) {
            throw fail(
                "validation_every", validationEvery, "needs validation_bins or validation_database and validation_pairs"
            )
        }
        if validationEvery > 0 && validationDatabase.isEmpty != validationPairs.isEmpty {
            throw fail(
                validationDatabase.isEmpty ? "validation_pairs" : "validation_database",
                validationDatabase.isEmpty ? validationPairs : validationDatabase,
                "needs validation_database and validation_pairs together")
        }
        if !validationBins.isEmpty && validationEvery == 0 {
            throw fail("validation_bins", validationBins.joined(separator: ","), "needs validation_every > 0")
        }
        if workers < 1 { throw fail("workers", workers, "must be ≥ 1") }
        if logEvery < 1 { throw fail("log_every", logEvery, "must be ≥ 1") }
        if poolCheckEvery < 1 { throw fail("pool_check_every", poolCheckEvery, "must be ≥ 1") }
    }
}

public enum TrainingConfigError: Error, CustomStringConvertible, Equatable {
    case invalid(key: String, value: String, reason: String)
    case unreadable(path: String, reason: String)
    /// A key of the original's optimiser config file that we do not know.
    case unknownKey(path: String, key: String, known: [String])
    /// A typed pair that is not `[type, value]` or whose value does not convert.
    case badEntry(path: String, key: String, reason: String)

    public var description: String {
        switch self {
        case .invalid(let key, let value, let reason): return "config: \(key) = \(value): \(reason)"
        case .unreadable(let path, let reason): return "\(path): cannot read config: \(reason)"
        case .unknownKey(let path, let key, let known):
            return "\(path): unknown key '\(key)' (known: \(known.joined(separator: ", ")))"
        case .badEntry(let path, let key, let reason): return "\(path): key '\(key)': \(reason)"
        }
    }
}
