// A deterministic stand-in for the trainer: plausible moving snapshots, a pool to inspect,
// identity pictures, and commands applied (or refused with a reason) like the engine does.
import FFCEngine
import Foundation
import Synchronization

@testable import FFCConsoleUI

final class SimulatedSource: ConsoleSource {
    struct State {
        var step = 0
        var paused = false
        var queueSize = 10_000
        var learningRate = 0.1
        var events: [EventRecord] = []
        var sent: [TrainerCommand] = []
        var history: [StepRecord] = []
    }
    let identities = 1_000_000
    let bytesPerSlot = 4_112
    private let state = Mutex(State())

    /// Starts with `steps` steps of history.
    init(steps: Int) { advance(steps) }

    var sent: [TrainerCommand] { state.withLock { $0.sent } }

    /// A record at `step`: losses decay, the instance hit rate grows, loaders alternate as bottleneck.
    static func record(step: Int, queueSize: Int, lr: Double) -> StepRecord {
        let t = Double(step)
        var r = StepRecord()
        r.step = step
        r.epoch = step / 1000
        r.lossMargin = 20 * exp(-t / 150) + 4 + 0.6 * sin(t * 0.7)
        r.lossOutlier = 0.4 * exp(-t / 300) + 0.05 + 0.02 * cos(t * 1.3)
        r.loss = r.lossMargin + r.lossOutlier
        r.hitRatePair = 1
        r.hitRateInstance = min(0.6, 0.01 + t / 1000)
        r.poolCapacity = queueSize
        r.poolOccupancy = min(queueSize, step * 96)
        r.inserts = 60 + step % 7
        r.evictions = r.poolOccupancy < queueSize ? 0 : 55 + step % 9
        r.evictionAgeMean = r.evictions > 0 ? 160 + Double(step % 11) : 0
        r.dualShare = 0.35
        r.lr = lr
        r.probeImagesPerSecond = 512 + Double(step % 13)
        r.allImagesPerSecond = 3 * r.probeImagesPerSecond
        r.stepSeconds = 0.25
        r.residentBytes = 1_300_000_000
        var identity = LoaderStats()
        identity.name = "identity"
        identity.batchesPerSecond = 4
        identity.ringFill = 1
        identity.ringCapacity = 4
        identity.trainerWaitShare = 0.23
        identity.workerBusyShare = 0.97
        var instance = LoaderStats()
        instance.name = "instance"
        instance.batchesPerSecond = 4
        instance.ringFill = 4
        instance.ringCapacity = 4
        instance.trainerWaitShare = 0.01
        instance.workerBusyShare = 0.55
        r.loaders = [identity, instance]
        return r
    }

    /// Runs `steps` more steps (unless paused).
    func advance(_ steps: Int) {
        state.withLock { s in
            guard !s.paused else { return }
            for _ in 0..<steps {
                s.step += 1
                s.history.append(Self.record(step: s.step, queueSize: s.queueSize, lr: s.learningRate))
                if s.step % 100 == 0 {
                    s.events.append(
                        EventRecord(
                            step: s.step, kind: .checkpoint, message: "checkpoint step-\(s.step).safetensors",
                            wallTime: Double(s.step)))
                }
            }
            if s.history.count > 2000 { s.history.removeFirst(s.history.count - 2000) }
        }
    }

    func snapshot() -> MetricsSnapshot {
        state.withLock { s in
            var m = MetricsSnapshot()
            m.runName = "sim-run"
            m.netType = "resnet-tiny"
            m.head = "ffc"
            m.identities = identities
            m.images = 12_000_000
            m.featureDim = 512
            m.batchSize = 128
            m.step = s.step
            m.maxSteps = 10_000
            m.epoch = s.step / 1000
            m.epochs = 10
            m.epochProgress = Double(s.step % 1000) / 1000
            m.paused = s.paused
            m.etaSeconds = Double(10_000 - s.step) * 0.25
            m.history = s.history
            m.events = s.events
            m.validationAccuracy = s.step >= 200 ? 0.9123 : nil
            m.bestValidationAccuracy = s.step >= 200 ? 0.9200 : nil
            m.poolBytesPerSlot = bytesPerSlot
            return m
        }
    }

    func send(_ command: TrainerCommand) {
        state.withLock { s in
            s.sent.append(command)
            let wall = Double(s.step) + 0.5 + Double(s.sent.count) * 0.001
            switch command {
            case .setQueueSize(let q) where q > identities:
                s.events.append(
                    EventRecord(
                        step: s.step, kind: .refused,
                        message: "queue_size \(q) exceeds the \(identities) identities", wallTime: wall))
            case .setQueueSize(let q):
                s.queueSize = q
                s.events.append(EventRecord(step: s.step, kind: .command, message: "queue_size = \(q)", wallTime: wall))
            case .setLearningRate(let lr):
                s.learningRate = lr
                s.events.append(EventRecord(step: s.step, kind: .command, message: "lr = \(lr)", wallTime: wall))
            case .pause:
                s.paused = true
            case .resume:
                s.paused = false
            case .checkpointNow, .stop:
                break
            }
        }
    }

    static func slot(rank: Int) -> PoolSlotInfo {
        PoolSlotInfo(
            slot: (rank * 37) % 10_000, identity: rank * 13 + 5, recencyRank: rank, ageSteps: rank / 96,
            writes: 1 + rank % 4, positionBit: rank % 2, bankCosine: 0.9 - Float(rank % 10) * 0.01,
            nearestIdentity: rank * 13 + 18, nearestCosine: 0.41)
    }

    func inspect(sort: PoolSortKey, offset: Int, limit: Int) -> [PoolSlotInfo] {
        let count = snapshot().latest?.poolOccupancy ?? 0
        let ranks = offset..<min(count, offset + limit)
        return sort == .recency ? ranks.map(Self.slot) : ranks.reversed().map(Self.slot)
    }

    func lookup(identity: Int) -> PoolSlotInfo? {
        (identity - 5) % 13 == 0 && identity >= 5 ? Self.slot(rank: (identity - 5) / 13) : nil
    }

    /// A 16×16 gradient picture: red grows left to right, green top to bottom.
    func sampleImage(identity: Int) -> (width: Int, height: Int, rgb: [UInt8])? {
        var rgb: [UInt8] = []
        for y in 0..<16 {
            for x in 0..<16 { rgb += [UInt8(x * 16), UInt8(y * 16), 128] }
        }
        return (16, 16, rgb)
    }
}
