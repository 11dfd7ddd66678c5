// Training: a run in progress — the trainer on one serial Dispatch queue, one step per queue
// item, with commands, checkpoints and inspection requests served between steps; metrics go
// to the hub (console, socket), `metrics.jsonl` and `train.log`. A `TrainingRun` is the
// `ConsoleSource` of a console in the same process and what the control socket serves.
import Foundation
import Synchronization

/// The trainer's mutable state, touched only on `TrainingRun.queue` (every access below is
/// inside a block on that serial queue), which is what makes sharing the box safe.
private final class QueueConfined<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}

public final class TrainingRun: ConsoleSource {
    public let config: TrainingConfig
    public let directory: RunDirectory
    public let hub: MetricsHub
    public let commands = CommandQueue()
    private let queue = DispatchQueue(label: "ffc.trainer")
    private let state: QueueConfined<RunState>
    private let log: TrainLog
    private let done = DispatchGroup()
    private let server = Mutex<ControlServer?>(nil)
    private let diverged = Atomic<Bool>(false)

    /// After `wait()`: the ranks' class pools were found to differ and the run stopped.
    public var poolsDiverged: Bool { diverged.load(ordering: .relaxed) }

    private struct RunState {
        var trainer: Trainer
        /// `config` with the live changes in force (pool size, a `set LR`): what config.json
        /// and every checkpoint record, so a resumed run starts from the values in force.
        var inForce: TrainingConfig
        /// Rank 0's alone (nil on the other ranks), like `tensorboard`.
        var stream: MetricsStreamWriter?
        /// The TensorBoard event file: the same steps and events as `stream`.
        var tensorboard: TensorBoardWriter?
        var store: CheckpointStore
        var paused = false
        var stopRequested = false
        var smoothedStepSeconds = 0.0
        var lastProgressPrint = Date.distantPast
        var nonFiniteWarnings = 0
        /// The step boundary `queue_size_at` was last looked at: each boundary applies it once.
        var scheduleCheckedAtStep = -1
    }

    /// Sets up the run directory, nets, loaders and head; resumes from `resume` (a checkpoint
    /// path, a run directory, or `latest`) when given. `echo` mirrors the human log to stdout.
    /// With several ranks (`communicator`), rank 0 alone owns the run directory, metrics,
    /// checkpoints, validation and the control socket; it picks the checkpoint to resume
    /// from and every rank reads that file (shared or copied to the same path on each host).
    public init(
        config: TrainingConfig, makeHead: HeadFactory, resume: String? = nil, echo: Bool = false,
        communicator: any Communicator = SingleProcessCommunicator()
    ) throws {
        self.config = config
        let leader = communicator.isLeader
        directory = RunDirectory(path: config.runDir)
        if leader { try directory.create() }
        hub = MetricsHub()
        log = try TrainLog(path: leader ? directory.logPath : "/dev/null", echo: echo && leader)
        var checkpoint: CheckpointStore.Loaded?
        var refusals: [String] = []
        if let resume {
            if communicator.size == 1 {
                (checkpoint, refusals) = try Self.readableCheckpoint(resume, in: directory)
            } else {
                checkpoint = try Self.sharedCheckpoint(
                    resume, in: directory, communicator: communicator, refusals: &refusals)
            }
        }
        let trainer = try Trainer(config: config, makeHead: makeHead, communicator: communicator)
        let store = CheckpointStore(directory: directory.checkpointsPath, keep: config.checkpointKeep)
        var resumedStep: Int?
        if let checkpoint {
            try Self.restore(trainer, from: checkpoint)
            resumedStep = trainer.step
        }
        if leader, let previous = try? MetricsStreamContents.read(path: directory.metricsPath) {
            let kept = previous.steps.filter { $0.step <= (resumedStep ?? 0) }
            hub.load(history: kept, events: previous.events)
        }
        if leader { try directory.writeConfig(config) }
        state = QueueConfined(
            RunState(
                trainer: trainer, inForce: config,
                stream: leader ? try MetricsStreamWriter(path: directory.metricsPath) : nil,
                tensorboard: leader ? try TensorBoardWriter(directory: directory.tensorboardPath) : nil,
                store: store))
        hub.publish { s in
            s.runName = directory.name
            s.netType = config.netType
            s.head = config.head.rawValue
            s.identities = trainer.database.identityCount
            s.images = trainer.database.imageCount
            s.featureDim = config.featDim
            s.batchSize = config.batchSize
            s.maxSteps = trainer.totalSteps
            s.epochs = config.epochs
            s.step = trainer.step
            s.poolBytesPerSlot = trainer.head.dynamicClassPool?.pool.bytesPerSlot ?? 0
            s.rankCount = communicator.size
            s.threadsPerRank = BLAS.threads
        }
        for line in config.summaryLines(identities: trainer.database.identityCount, images: trainer.database.imageCount)
        {
            log.line(line)
        }
        let side = trainer.probe.inputSize
        if let stored = trainer.database.storedImageSize(), stored.width != side || stored.height != side {
            log.line(
                "input: the database's images are \(stored.width)×\(stored.height); each is resized to \(side)×\(side), \(config.netType)'s input"
            )
        }
        // The settings a run's last bits depend on, so two runs' numbers can be compared.
        log.line("compute: \(BLAS.threads) thread(s), OpenBLAS \(BLAS.coreName), \(EngineTuning.current.summary)")
        if communicator.size > 1 {
            log.line(
                "data parallel: \(communicator.size) ranks × \(BLAS.threads) thread(s), global batch \(communicator.size) × \(config.batchSize) pairs, sync-bn \(config.syncBN ? "on" : "off"), pool checksums every \(config.poolCheckEvery) steps"
            )
            log.line(trainer.gradientExchangeSummary)
        }
        for refusal in refusals { record(EventRecord(step: resumedStep ?? 0, kind: .warning, message: refusal)) }
        if let resumedStep {
            record(EventRecord(step: resumedStep, kind: .info, message: "resumed from step \(resumedStep)"))
            if let checkpoint, !refusals.isEmpty {
                let name = (checkpoint.file.path as NSString).lastPathComponent
                record(
                    EventRecord(
                        step: resumedStep, kind: .warning,
                        message: "fell back to \(name) after refusing \(refusals.count) newer checkpoint(s)"))
            }
        }
    }

    /// The checkpoint `spec` resumes from, read back whole. For `latest` or a run directory,
    /// an unreadable checkpoint is set aside and the one before tried; `refusals` says what
    /// was refused and why, for the run's events.
    private static func readableCheckpoint(_ spec: String, in directory: RunDirectory) throws -> (
        CheckpointStore.Loaded?, [String]
    ) {
        let candidates = try CheckpointStore.candidates(spec, runDirectory: directory)
        var refusals: [String] = []
        for path in candidates.paths {
            do {
                return (try CheckpointStore.load(path: path), refusals)
            } catch CheckpointError.unreadable(_, let reason) where candidates.fallsBack {
                let aside = CheckpointStore.setAside(path).map { "set aside as \(($0 as NSString).lastPathComponent)" }
                refusals.append(
                    "checkpoint \(path) refused: \(reason); \(aside ?? "could not be set aside"); trying the one before"
                )
            }
        }
        throw CheckpointError.noReadableCheckpoint(
            directory: (candidates.paths[0] as NSString).deletingLastPathComponent, refused: refusals)
    }

    /// Several ranks: rank 0 resolves `spec` (falling back past unreadable checkpoints) and
    /// sends the path; every rank loads that file. An empty path says rank 0 failed.
    private static func sharedCheckpoint(
        _ spec: String, in directory: RunDirectory, communicator: any Communicator, refusals: inout [String]
    ) throws -> CheckpointStore.Loaded? {
        var chosen: CheckpointStore.Loaded?
        var failure: (any Error)?
        if communicator.isLeader {
            do {
                (chosen, refusals) = try readableCheckpoint(spec, in: directory)
            } catch {
                failure = error
            }
        }
        let path = String(
            decoding: communicator.broadcast(bytes: Array((chosen?.file.path ?? "").utf8)), as: UTF8.self)
        if let failure { throw failure }
        guard !path.isEmpty else {
            throw CheckpointError.incompatible(path: spec, reason: "rank 0 could not resume from it (see its log)")
        }
        return communicator.isLeader ? chosen : try CheckpointStore.load(path: path)
    }

    /// Serves the run on `control.sock` until it ends (rank 0 only).
    public func serveControlSocket() throws {
        guard state.value.trainer.communicator.isLeader else { return }
        let s = try ControlServer(path: directory.socketPath, hub: hub, source: self) { [weak self] message in
            guard let self else { return }
            queue.async {
                self.record(EventRecord(step: self.state.value.trainer.step, kind: .warning, message: message))
            }
        }
        server.withLock { $0 = s }
    }

    /// Starts stepping on the trainer queue; `wait()` returns when the run has ended.
    public func start() {
        done.enter()
        queue.async { self.advance() }
    }

    public func wait() { done.wait() }

    // MARK: ConsoleSource

    public func snapshot() -> MetricsSnapshot { hub.snapshot() }

    public func send(_ command: TrainerCommand) { commands.enqueue(command) }

    public func inspect(sort: PoolSortKey, offset: Int, limit: Int) -> [PoolSlotInfo] {
        queue.sync {
            state.value.trainer.head.dynamicClassPool?.pool.inspect(
                sort: sort, offset: offset, limit: limit, step: state.value.trainer.step) ?? []
        }
    }

    public func lookup(identity: Int) -> PoolSlotInfo? {
        queue.sync {
            state.value.trainer.head.dynamicClassPool?.pool.lookup(identity: identity, step: state.value.trainer.step)
        }
    }

    public func sampleImage(identity: Int) -> (width: Int, height: Int, rgb: [UInt8])? {
        queue.sync { state.value.trainer.sampleImage(identity: identity) }
    }

    // MARK: The loop (on `queue`)

    /// One queue item: apply commands, then one step (or a short wait while paused), then
    /// re-enqueue itself so inspection requests interleave between steps.
    private func advance() {
        applyScheduledResize()
        applyCommands()
        let trainer = state.value.trainer
        if state.value.stopRequested || trainer.step >= trainer.totalSteps {
            finish(completed: !state.value.stopRequested)
            return
        }
        if state.value.paused {
            queue.asyncAfter(deadline: .now() + 0.05) { self.advance() }
            return
        }
        do {
            try step()
        } catch {
            record(EventRecord(step: trainer.step, kind: .warning, message: "training failed: \(error)"))
            state.value.stopRequested = true
            // Diverged pools are seen by every rank at once; any other failure is this rank's
            // alone, and the others would wait for it in the next collective forever.
            if trainer.ranks > 1, !(error is TrainerError) {
                FileHandle.standardError.write(
                    Data("rank \(trainer.communicator.rank): training failed: \(error)\n".utf8))
                trainer.communicator.abort(code: 1)
            }
        }
        queue.async { self.advance() }
    }

    private func step() throws {
        let trainer = state.value.trainer
        let started = Date()
        let trained = try trainer.runStep()
        FaultPoint.step.pass()
        let seconds = Date().timeIntervalSince(started)
        let smoothing = state.value.smoothedStepSeconds == 0 ? 1 : 0.1
        state.value.smoothedStepSeconds += smoothing * (seconds - state.value.smoothedStepSeconds)
        recordStepEvents(trained)
        var r = completedRecord(trained.record, seconds: seconds)
        if trainer.ranks > 1 { r.ranks = trainer.lastRankStats }
        publish(r)
        if config.validationEvery > 0 && trainer.step % config.validationEvery == 0 { validate() }
        if config.checkpointEvery > 0 && trainer.step % config.checkpointEvery == 0 {
            saveCheckpoint(reason: "every \(config.checkpointEvery) steps")
        }
    }

    /// A skipped update (throttled) and a ReduceLROnPlateau reduction, as events.
    private func recordStepEvents(_ trained: TrainedStep) {
        let step = trained.record.step
        if !trained.updated {
            state.value.nonFiniteWarnings += 1
            let count = state.value.nonFiniteWarnings
            if count <= 3 || count % 100 == 0 {
                record(
                    EventRecord(
                        step: step, kind: .warning,
                        message:
                            "loss \(trained.record.loss) is not finite at step \(step): update skipped (\(count) so far)"
                    ))
            }
        }
        if let reduction = trained.plateauReduction {
            let epoch = step / max(1, state.value.trainer.stepsPerEpoch)
            record(
                EventRecord(
                    step: step, kind: .info,
                    message:
                        "ReduceLROnPlateau: LR \(reduction.from) → \(reduction.to) after epoch \(epoch) (mean loss did not improve for \(config.patience + 1) epochs)"
                ))
        }
    }

    /// The trainer's record with what only the run knows: pool size, speed, memory, loaders.
    private func completedRecord(_ trained: StepRecord, seconds: Double) -> StepRecord {
        let trainer = state.value.trainer
        var r = trained
        let pool = trainer.head.dynamicClassPool?.pool
        r.poolOccupancy = pool?.occupancy ?? 0
        r.poolCapacity = pool?.capacity ?? 0
        r.probeImagesPerSecond = Double(config.probeImagesPerStep) / seconds
        r.allImagesPerSecond =
            Double(trainer.head.needsGallery ? config.allImagesPerStep : config.probeImagesPerStep) / seconds
        r.stepSeconds = seconds
        r.residentBytes = ResidentMemory.bytes()
        r.loaders = [trainer.identityLoader.stats(), trainer.instanceLoader.stats()]
        return r
    }

    /// To the hub (every step's progress; the record every `log_every`), the metrics stream
    /// and, at most once a second, the progress line.
    private func publish(_ r: StepRecord) {
        let trainer = state.value.trainer
        let eta = Double(trainer.totalSteps - trainer.step) * state.value.smoothedStepSeconds
        let epochProgress = Double(trainer.step % max(1, trainer.stepsPerEpoch)) / Double(max(1, trainer.stepsPerEpoch))
        hub.publish { s in
            s.etaSeconds = eta
            s.epochProgress = epochProgress
        }
        if trainer.step % config.logEvery == 0 || trainer.step == trainer.totalSteps {
            hub.append(r)
            try? state.value.stream?.append(.step(r))
            try? state.value.tensorboard?.step(r)
        } else {
            hub.publish { s in
                s.step = r.step
                s.epoch = r.epoch
            }
        }
        let now = Date()
        if now.timeIntervalSince(state.value.lastProgressPrint) >= 1 || trainer.step == 1
            || trainer.step == trainer.totalSteps
        {
            state.value.lastProgressPrint = now
            log.line(Self.progressLine(r, totalSteps: trainer.totalSteps, epochs: config.epochs, eta: eta))
            if let ranks = r.ranks, let slow = r.slowestRank { log.line(Self.ranksLine(ranks, slowest: slow)) }
        }
    }

    /// The plain progress line of headless runs and `train.log`. "data wait" is the share of
    /// the last step's wall time the trainer spent waiting on both loaders.
    public static func progressLine(_ r: StepRecord, totalSteps: Int, epochs: Int, eta: Double) -> String {
        String(
            format:
                "step %d/%d epoch %d/%d loss %.4f (margin %.4f, outlier %.4f) hit pair %.0f%% inst %.0f%% pool %d/%d lr %.4g %.0f img/s data wait %.1f%% eta %@ rss %d MB",
            r.step, totalSteps, r.epoch + 1, epochs, r.loss, r.lossMargin, r.lossOutlier, 100 * r.hitRatePair,
            100 * r.hitRateInstance, r.poolOccupancy, r.poolCapacity, r.lr, r.probeImagesPerSecond,
            100 * r.loaders.reduce(0) { $0 + $1.trainerWaitShare }, DurationFormat.compact(eta), r.residentBytes >> 20)
    }

    /// Several ranks: each rank's step split (compute, data wait, all-reduce and the part of it
    /// hidden behind the backward, all-gather) and
    /// the slowest one, whose compute and data wait the others spend waiting in collectives.
    public static func ranksLine(_ ranks: [RankStepStats], slowest: RankStepStats) -> String {
        let parts = ranks.map { r in
            String(
                format:
                    "rank %d %.0f img/s compute %.0f ms wait %.0f ms all-reduce %.0f ms (%.0f hidden) all-gather %.0f ms",
                r.rank, r.probeImagesPerSecond, 1000 * r.computeSeconds, 1000 * r.dataWaitSeconds,
                1000 * r.allReduceSeconds, 1000 * r.allReduceHiddenSeconds, 1000 * r.allGatherSeconds)
        }
        return "ranks: " + parts.joined(separator: "; ") + "; slowest rank \(slowest.rank) (\(slowest.host))"
    }

    /// `queue_size_at`: at the boundary after step S the pool becomes Q slots, applied and
    /// logged as the console's resize command is. A run resumed from a checkpoint of step S
    /// (written before that boundary) resizes again; one already resized keeps its size.
    private func applyScheduledResize() {
        let trainer = state.value.trainer
        guard state.value.scheduleCheckedAtStep != trainer.step else { return }
        state.value.scheduleCheckedAtStep = trainer.step
        guard let entry = config.queueSizeAt.first(where: { $0.step == trainer.step }),
            entry.queueSize != trainer.head.dynamicClassPool?.pool.capacity
        else { return }
        switch apply(.setQueueSize(entry.queueSize)) {
        case .applied(let message):
            record(EventRecord(step: trainer.step, kind: .command, message: "queue_size_at: " + message))
        case .refused(let reason):
            record(
                EventRecord(
                    step: trainer.step, kind: .refused,
                    message: "queue_size_at \(entry.step):\(entry.queueSize) refused: \(reason)"))
        }
    }

    /// Several ranks: every rank's waiting commands, gathered in rank order (console and
    /// socket commands reach rank 0; a signal may reach any rank), apply on all ranks at the
    /// same boundary.
    private func applyCommands() {
        let trainer = state.value.trainer
        if trainer.ranks > 1 {
            let mine = Array((try? JSONEncoder().encode(commands.drain())) ?? Data("[]".utf8))
            let parts = mine.withUnsafeBytes { trainer.communicator.allGather($0) }
            for part in parts {
                for command in (try? JSONDecoder().decode([TrainerCommand].self, from: Data(part))) ?? [] {
                    commands.enqueue(command)
                }
            }
        }
        let events = commands.applyPending(step: trainer.step) { command in apply(command) }
        for event in events { record(event) }
    }

    private func apply(_ command: TrainerCommand) -> CommandOutcome {
        let trainer = state.value.trainer
        switch command {
        case .setQueueSize(let q):
            let identities = trainer.database.identityCount
            guard let pooled = trainer.head.dynamicClassPool else {
                return .refused("\(TrainerError.noPool(head: trainer.head.name))")
            }
            guard q > 0 else { return .refused("queue_size must be > 0") }
            guard q <= identities else {
                return .refused("queue_size \(q) is larger than the \(identities) identities")
            }
            let before = pooled.pool.capacity
            do {
                try pooled.resizePool(capacity: q)
            } catch {
                return .refused("\(error)")
            }
            hub.publish { $0.poolBytesPerSlot = pooled.pool.bytesPerSlot }
            putInForce { $0.queueSize = q }
            return .applied(
                String(
                    format: "queue_size %d → %d (%.2f%% of identities)", before, q, 100 * Double(q) / Double(identities)
                ))
        case .setLearningRate(let lr):
            do {
                try trainer.learningRate.override(rate: Float(lr), at: trainer.step)
            } catch {
                return .refused("\(error)")
            }
            putInForce {
                $0.lrLive = lr
                $0.lrLiveStep = trainer.step
            }
            return .applied("LR \(lr) from step \(trainer.step); later decays apply from there")
        case .pause:
            guard !state.value.paused else { return .refused("already paused") }
            state.value.paused = true
            hub.publish { $0.paused = true }
            return .applied("paused at step \(trainer.step)")
        case .resume:
            guard state.value.paused else { return .refused("not paused") }
            state.value.paused = false
            hub.publish { $0.paused = false }
            return .applied("resumed at step \(trainer.step)")
        case .checkpointNow:
            saveCheckpoint(reason: "on demand")
            return .applied("checkpoint requested")
        case .stop:
            state.value.stopRequested = true
            return .applied("stop requested at step \(trainer.step)")
        }
    }

    /// Applies a live change to the config in force and rewrites config.json with it.
    private func putInForce(_ change: (inout TrainingConfig) -> Void) {
        change(&state.value.inForce)
        guard state.value.trainer.communicator.isLeader else { return }
        do {
            try directory.writeConfig(state.value.inForce)
        } catch {
            record(
                EventRecord(
                    step: state.value.trainer.step, kind: .warning, message: "config.json not updated: \(error)"))
        }
    }

    private func record(_ event: EventRecord) {
        hub.append(event)
        try? state.value.stream?.append(.event(event))
        try? state.value.tensorboard?.text(
            step: event.step, wallTime: event.wallTime, tag: "events/\(event.kind.rawValue)", event.message)
        log.line("[\(event.kind.rawValue)] \(event.message)")
    }

    private func saveCheckpoint(reason: String) {
        let trainer = state.value.trainer
        guard trainer.communicator.isLeader else { return }
        do {
            let path = try state.value.store.save(
                Self.checkpoint(of: trainer), step: trainer.step, config: state.value.inForce)
            record(EventRecord(step: trainer.step, kind: .checkpoint, message: "saved \(path) (\(reason))"))
        } catch {
            record(EventRecord(step: trainer.step, kind: .warning, message: "checkpoint failed: \(error)"))
        }
    }

    private func validate() {
        let trainer = state.value.trainer
        guard trainer.communicator.isLeader else { return }
        if let bins = trainer.binValidator { validate(bins, trainer) }
        guard let validator = trainer.validator else { return }
        do {
            let accuracy = try validator.accuracy(of: trainer.probe)
            try? state.value.tensorboard?.scalars(
                step: trainer.step, wallTime: Date().timeIntervalSince1970, [("validation/accuracy", accuracy)])
            hub.publish { s in
                s.validationAccuracy = accuracy
                s.bestValidationAccuracy = max(s.bestValidationAccuracy ?? 0, accuracy)
            }
            record(
                EventRecord(
                    step: trainer.step, kind: .validation,
                    message: String(format: "verification accuracy %.4f on %d pairs", accuracy, validator.pairs.count)))
        } catch {
            record(EventRecord(step: trainer.step, kind: .warning, message: "validation failed: \(error)"))
        }
    }

    /// The `.bin` sets: a validation line per set in metrics.jsonl, scalars per set in
    /// TensorBoard, the sets' rows in the console's validation panel and an event per set.
    private func validate(_ bins: BinValidator, _ trainer: Trainer) {
        do {
            let records = try bins.validate(net: trainer.probe, step: trainer.step)
            let wallTime = Date().timeIntervalSince1970
            for r in records {
                try? state.value.stream?.append(.validation(r))
                try? state.value.tensorboard?.scalars(
                    step: r.step, wallTime: wallTime,
                    [
                        ("validation/\(r.set)/accuracy", r.accuracy),
                        ("validation/\(r.set)/accuracy_flip", r.accuracyFlip),
                    ])
            }
            hub.publish { s in s.validationSets = records }
            for r in records {
                let message =
                    "\(r.set) "
                    + String(
                        format: "accuracy %.4f, with flip %.4f (best %.4f at step %d) on %d pairs", r.accuracy,
                        r.accuracyFlip, r.bestAccuracyFlip, r.bestStep, r.pairs)
                let event = EventRecord(step: r.step, kind: .validation, message: message)
                hub.append(event)
                try? state.value.tensorboard?.text(
                    step: event.step, wallTime: event.wallTime, tag: "events/validation", event.message)
                log.line("[validation] \(message)")
            }
        } catch {
            record(EventRecord(step: trainer.step, kind: .warning, message: "validation failed: \(error)"))
        }
    }

    private func finish(completed: Bool) {
        let trainer = state.value.trainer
        if config.validationEvery > 0 && trainer.step % config.validationEvery != 0 { validate() }
        // Diverged pools: no rank's state is the run's any more, so nothing is saved.
        if !trainer.poolsDiverged
            && (config.checkpointEvery == 0 || trainer.step % config.checkpointEvery != 0 || trainer.step == 0)
        {
            saveCheckpoint(reason: completed ? "end of run" : "on stop")
        }
        if trainer.step > 0 {
            record(EventRecord(step: trainer.step, kind: .info, message: trainer.lastStepCompute.summary))
        }
        if trainer.poolChecks > 0 && !trainer.poolsDiverged {
            record(
                EventRecord(
                    step: trainer.step, kind: .info,
                    message:
                        "class pools compared across \(trainer.ranks) ranks \(trainer.poolChecks) times: identical (CRC-32 \(String(trainer.poolChecksum, radix: 16)))"
                ))
        }
        record(
            EventRecord(
                step: trainer.step, kind: .info,
                message: completed ? RunDirectory.finishedMessage : "stopped at step \(trainer.step)"))
        trainer.stopLoaders()
        if trainer.poolsDiverged { diverged.store(true, ordering: .relaxed) }
        hub.publish { $0.finished = true }
        // Not on the trainer queue: a client thread may be waiting in `inspect` for this queue.
        let served = server.withLock { s in
            defer { s = nil }
            return s
        }
        DispatchQueue.global().async {
            served?.stop()
            self.done.leave()
        }
    }
}
