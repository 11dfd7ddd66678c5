// `ffc train`: flags named as the original FFC names them. On a terminal it starts the trainer
// as a detached background process (its own session, output in the run directory) and attaches
// to it, so closing the console or losing the SSH connection never stops training. With
// `--headless` or a non-terminal stdout it trains in this process and prints plain progress
// lines (plus `metrics.jsonl` in the run directory).
import ArgumentParser
import FFCEngine
import Foundation

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train with FFC (or the fc/pfc baselines) on one or more LMDB face databases or RecordIO sets.",
        discussion: """
            Examples:
              ffc train data/demo/synth.lmdb --net-type tiny --queue-size 100 --batch-size 32
              ffc train faces.lmdb --config config/optim_config --run-dir runs/ms1m --headless
              ffc train --run-dir runs/ms1m --resume latest
            """)

    @Argument(
        help:
            "LMDB databases (kv file beside each), or RecordIO sets (train.rec, or a folder holding it, with train.idx and property). Default when resuming: the run's own."
    )
    var databases: [String] = []

    @Option(help: "Class pool slots Q (original: --queue_size).") var queueSize: Int?
    @Option(help: "Resize the class pool after given steps, e.g. 5000:20000,9000:40000 (STEP:Q,…).")
    var queueSizeAt: String?
    @Option(help: "Identity pairs per step per process, B; the step also takes B instances.") var batchSize: Int?
    @Option(help: "Gallery EMA weight: g = alpha*g + (1-alpha)*p.") var alpha: Double?
    @Option(help: "Margin: AM, Arc or SV.") var lossType: String?
    @Option(help: "Margin m.") var margin: Double?
    @Option(help: "Scale s.") var scale: Double?
    @Option(help: "Embedding size D.") var featDim: Int?
    @Option(help: "Backbone: \(Backbone.names.joined(separator: ", ")).") var netType: String?
    @Option(help: "Input side in pixels (default: the backbone's own).") var inputSize: Int?
    @Option(help: "Base learning rate.") var lr: Double?
    @Option(help: "Epochs (an epoch is one pass of the instance loader).") var epochs: Int?
    @Option(help: "LR decay epochs, comma separated, e.g. 8,14,17.") var milestones: String?
    @Option(help: "Linear warm-up epochs.") var warmup: Int?
    @Option(help: "LR schedule: multistep, cosine or ReduceLROnPlateau (on each epoch's mean loss).")
    var scheduler: String?
    @Option(help: "ReduceLROnPlateau: epochs without improvement tolerated before the LR falls.") var patience: Int?
    @Option(help: "LR decay factor: multistep's gamma at every milestone, ReduceLROnPlateau's factor.")
    var gamma: Double?
    @Option(help: "Lowest LR: cosine's floor, ReduceLROnPlateau's minimum.") var lrMin: Double?
    @Option(help: "Seed of every random draw.") var seed: UInt64?
    @Option(help: "Run directory (default runs/run-YYYYMMDD-HHMMSS).") var runDir: String?
    @Option(help: "Stop after this many steps.") var maxSteps: Int?
    @Option(help: "The original's optimiser config file (JSON of [type, value] pairs).") var config: String?
    @Option(help: "Head: ffc, fc or pfc.") var head: String?
    @Option(help: "Partial FC sample rate.") var pfcSampleRate: Double?
    @Option(help: "Checkpoint every N steps (0: only on stop and at the end).") var checkpointEvery: Int?
    @Option(help: "Checkpoints kept.") var checkpointKeep: Int?
    @Option(
        name: [.customLong("validation-every"), .customLong("val-every")],
        help: "Validate every N steps and at the end: on --val sets and/or the held-out pairs below.")
    var validationEvery: Int?
    @Option(
        name: .customLong("val"),
        help: "insightface .bin sets to validate on, comma separated (lfw.bin,cfp_fp.bin,agedb_30.bin).")
    var validationBins: String?
    @Option(help: "Held-out LMDB for verification (ffc synth --holdout writes NAME_holdout.lmdb).")
    var validationDatabase: String?
    @Option(help: "Pairs file of keys of the held-out LMDB: lines `keyA keyB same`.") var validationPairs: String?
    @Option(help: "Decoding workers per loader.") var workers: Int?
    @Option(help: "Write a step record every N steps.") var logEvery: Int?
    @Flag(help: "Under mpirun: batch norm over the global batch of all ranks (SyncBatchNorm).") var syncBn = false
    @Option(help: "Under mpirun: compare the ranks' class-pool checksums every N steps.") var poolCheckEvery: Int?
    @Flag(help: "No console: plain progress lines and metrics.jsonl.") var headless = false
    @Option(help: "Resume from a checkpoint file, a run directory, or `latest` (this run's newest).") var resume:
        String?
    @Option(help: "Console theme name or file.") var theme: String?

    func run() throws {
        if let error = FaultPoint.environmentError { throw ValidationError(error.description) }
        let config = try resolvedConfig()
        // Under mpirun every rank trains here; there is no terminal to detach from.
        if headless || isatty(STDOUT_FILENO) == 0 || World.launchedByMPI {
            try trainHere(config)
        } else {
            try trainDetached(config, arguments: Array(CommandLine.arguments.dropFirst(2)))
        }
    }

    /// Defaults, then the run's saved config when resuming, then `--config`, then flags
    /// (FFCEngine's `TrainingFlags` combines them).
    func resolvedConfig() throws -> TrainingConfig {
        do {
            return try flags.resolve()
        } catch let error as TrainingFlagError {
            throw ValidationError(error.description)
        }
    }

    /// This command's flags, as typed.
    var flags: TrainingFlags {
        var f = TrainingFlags()
        f.databases = databases
        f.queueSize = queueSize
        f.queueSizeAt = queueSizeAt
        f.batchSize = batchSize
        f.alpha = alpha
        f.lossType = lossType
        f.margin = margin
        f.scale = scale
        f.featDim = featDim
        f.netType = netType
        f.inputSize = inputSize
        f.lr = lr
        f.epochs = epochs
        f.milestones = milestones
        f.warmup = warmup
        f.scheduler = scheduler
        f.patience = patience
        f.gamma = gamma
        f.lrMin = lrMin
        f.seed = seed
        f.runDir = runDir
        f.maxSteps = maxSteps
        f.config = config
        f.head = head
        f.pfcSampleRate = pfcSampleRate
        f.checkpointEvery = checkpointEvery
        f.checkpointKeep = checkpointKeep
        f.validationEvery = validationEvery
        f.validationDatabase = validationDatabase
        f.validationPairs = validationPairs
        f.validationBins = validationBins.map { $0.split(separator: ",").map(String.init) }
        f.workers = workers
        f.logEvery = logEvery
        f.syncBN = syncBn ? true : nil
        f.poolCheckEvery = poolCheckEvery
        f.resume = resume
        return f
    }

    /// Trains in this process until the run ends; SIGINT/SIGTERM stop it with a checkpoint.
    /// Under mpirun this process is one rank of the run (rank 0 owns its directory).
    func trainHere(_ config: TrainingConfig) throws {
        let run = try TrainingRun(
            config: config, makeHead: Trainer.makeHead, resume: resume, echo: true, communicator: World.communicator)
        try run.serveControlSocket()
        let signals = [SIGINT, SIGTERM].map { sig in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { run.send(.stop) }
            source.resume()
            return source
        }
        // A detached trainer has no terminal; a stray SIGHUP must not end it.
        signal(SIGHUP, SIG_IGN)
        run.start()
        run.wait()
        signals.forEach { $0.cancel() }
        if World.communicator.isLeader { print("run directory: \(run.directory.path)") }
        if run.poolsDiverged { throw ExitCode.failure }
    }

    /// Spawns `ffc train --headless …` in its own session, waits for its control socket, attaches.
    /// `arguments` are this command's own (after `ffc train`); the child gets them plus
    /// `--headless --run-dir DIR`, the last occurrence of an option winning.
    func trainDetached(_ config: TrainingConfig, arguments: [String]) throws {
        let run = RunDirectory(path: config.runDir)
        try run.create()
        if run.isLive { throw ValidationError("\(run.path) is already training; use `ffc attach \(run.path)`") }
        let pid = try DetachedProcess.spawn(
            arguments: ["train"] + arguments + ["--headless", "--run-dir", config.runDir], output: run.outputPath)
        print("trainer started (pid \(pid)); output in \(run.outputPath)")
        try DetachedProcess.waitForSocket(run: run, pid: pid)
        try Attach.attach(run: run, theme: theme)
    }
}
