// Training: how a run's configuration is put together from the `ffc train` flags — defaults,
// then the run's saved config when resuming, then the original's optimiser file (`--config`),
// then each flag given. `ffc train`, `ffc demo` and `ffc bench memory` all resolve through here.
import Foundation

/// The `ffc train` flags as typed values; nil (or empty `databases`) where a flag was not given.
/// Text flags (`lossType`, `queueSizeAt`, `milestones`, …) hold the text as typed and are
/// parsed by `apply(to:)`, whose errors name the flag.
public struct TrainingFlags: Sendable, Equatable {
    public var databases: [String] = []
    public var queueSize: Int?
    public var queueSizeAt: String?
    public var batchSize: Int?
    public var alpha: Double?
    public var lossType: String?
    public var margin: Double?
    public var scale: Double?
    public var featDim: Int?
    public var netType: String?
    public var inputSize: Int?
    public var lr: Double?
    public var epochs: Int?
    public var milestones: String?
    public var warmup: Int?
    public var scheduler: String?
    public var patience: Int?
    public var gamma: Double?
    public var lrMin: Double?
    public var seed: UInt64?
    public var runDir: String?
    public var maxSteps: Int?
    /// The original's optimiser config file (JSON of [type, value] pairs).
    public var config: String?
    public var head: String?
    public var pfcSampleRate: Double?
    public var checkpointEvery: Int?
    public var checkpointKeep: Int?
    public var validationEvery: Int?
    public var validationDatabase: String?
    public var validationPairs: String?
    public var validationBins: [String]?
    public var workers: Int?
    public var logEvery: Int?
    public var syncBN: Bool?
    public var poolCheckEvery: Int?
    /// Set when resuming: the run directory's saved config replaces the defaults.
    public var resume: String?

    public init() {}

    /// Defaults, then the run's saved config when resuming, then `config`, then the flags;
    /// validated. Without `runDir` the run goes to runs/run-TIMESTAMP.
    public func resolve() throws -> TrainingConfig {
        let dir = runDir ?? "runs/run-" + Self.timestamp()
        var saved: TrainingConfig?
        if resume != nil { saved = try? RunDirectory(path: dir).readConfig() }
        return try resolve(base: saved ?? TrainingConfig(), runDir: dir)
    }

    /// `base` (defaults or a saved config), then `config`, then the flags; validated.
    public func resolve(base: TrainingConfig, runDir dir: String) throws -> TrainingConfig {
        var c = base
        c.runDir = dir
        if let config { try c.applyOptimConfig(path: config) }
        try apply(to: &c)
        try c.validate()
        return c
    }

    /// Every flag given, over whatever `c` holds.
    public func apply(to c: inout TrainingConfig) throws {
        if !databases.isEmpty { c.databases = databases }
        if let v = queueSize { c.queueSize = v }
        if let v = queueSizeAt { c.queueSizeAt = try Self.queueResizes(v) }
        if let v = batchSize { c.batchSize = v }
        if let v = alpha { c.alpha = v }
        if let v = lossType { c.lossType = try Self.choice(v, flag: "--loss-type", expected: "AM, Arc, SV") }
        if let v = margin { c.margin = v }
        if let v = scale { c.scale = v }
        if let v = featDim { c.featDim = v }
        if let v = netType {
            c.netType = try Self.choice(v, flag: "--net-type", expected: Backbone.names.joined(separator: ", "))
        }
        if let v = inputSize { c.inputSize = v }
        if let v = lr { c.lr = v }
        if let v = epochs { c.epochs = v }
        if let v = milestones {
            c.milestones = try Self.epochs(v)
            c.gammas = c.milestones.isEmpty ? [] : [c.gammas.first ?? 0.1]
        }
        if let v = gamma { c.gammas = [v] }
        if let v = scheduler {
            c.scheduler = try Self.choice(v, flag: "--scheduler", expected: "multistep, cosine, ReduceLROnPlateau")
        }
        if let v = patience { c.patience = v }
        if let v = lrMin { c.lrMin = v }
        if let v = warmup { c.warmup = v }
        if let v = seed { c.seed = v }
        if let v = maxSteps { c.maxSteps = v }
        if let v = head { c.head = try Self.choice(v, flag: "--head", expected: "ffc, fc, pfc") }
        if let v = pfcSampleRate { c.pfcSampleRate = v }
        if let v = checkpointEvery { c.checkpointEvery = v }
        if let v = checkpointKeep { c.checkpointKeep = v }
        if let v = validationEvery { c.validationEvery = v }
        if let v = validationDatabase { c.validationDatabase = v }
        if let v = validationPairs { c.validationPairs = v }
        if let v = validationBins { c.validationBins = v }
        if let v = workers { c.workers = v }
        if let v = logEvery { c.logEvery = v }
        if let v = syncBN { c.syncBN = v }
        if let v = poolCheckEvery { c.poolCheckEvery = v }
    }

    /// `ffc demo`'s class pool: 20% of the identities, but never fewer slots than one pass
    /// writes (1.5·B), so the pair part always finds its identity.
    public static func demoQueueSize(identities: Int, batchSize: Int) -> Int {
        min(identities, max(identities / 5, 3 * batchSize))
    }

    /// UTC time as run directories are named: 20261129-104847.
    public static func timestamp(_ date: Date = Date()) -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd-HHmmss"
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: date)
    }

    /// `value` as one of a flag's allowed values, or an error naming the flag and the choices.
    public static func choice<T: RawRepresentable>(_ value: String, flag: String, expected: String) throws -> T
    where T.RawValue == String {
        guard let v = T(rawValue: value) else {
            throw TrainingFlagError("\(flag) \(value): expected one of \(expected)")
        }
        return v
    }

    public static func choice(_ value: String, flag: String, expected: String) throws -> String {
        guard expected.components(separatedBy: ", ").contains(value) else {
            throw TrainingFlagError("\(flag) \(value): expected one of \(expected)")
        }
        return value
    }

    /// `--queue-size-at 5000:20000,9000:40000`.
    static func queueResizes(_ text: String) throws -> [TrainingConfig.QueueResize] {
        try text.split(separator: ",").map { entry in
            let parts = entry.split(separator: ":").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2, let step = parts[0], let q = parts[1] else {
                throw TrainingFlagError("--queue-size-at \(text): expected STEP:Q pairs like 5000:20000,9000:40000")
            }
            return TrainingConfig.QueueResize(step: step, queueSize: q)
        }
    }

    /// `--milestones 8,14,17` (empty: none).
    static func epochs(_ text: String) throws -> [Int] {
        let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.allSatisfy({ $0 != nil }) else {
            throw TrainingFlagError("--milestones \(text): expected epochs like 8,14,17")
        }
        return parts.map { $0! }
    }
}

/// A flag value that does not parse; the message names the flag (`--head xyz: expected one of …`).
public struct TrainingFlagError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
