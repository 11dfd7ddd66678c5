// Control: commands from the console keys and the control socket wait here until the trainer
// reaches a step boundary, then apply in arrival order, each one logged as an event.
import Foundation
import Synchronization

/// What applying one command did: the event message says it in words.
public enum CommandOutcome: Sendable, Equatable {
    case applied(String)
    case refused(String)
}

public final class CommandQueue: Sendable {
    private let pending = Mutex<[TrainerCommand]>([])

    public init() {}

    /// - Complexity: amortised O(1).
    public func enqueue(_ command: TrainerCommand) {
        pending.withLock { $0.append(command) }
    }

    public var count: Int { pending.withLock { $0.count } }

    /// Takes every waiting command, oldest first.
    public func drain() -> [TrainerCommand] {
        pending.withLock { queue in
            defer { queue.removeAll(keepingCapacity: true) }
            return queue
        }
    }

    /// Applies every waiting command in order and returns one event per command:
    /// `.command` for applied ones, `.refused` (with the reason) for refused ones.
    public func applyPending(step: Int, _ apply: (TrainerCommand) -> CommandOutcome) -> [EventRecord] {
        drain().map { command in
            switch apply(command) {
            case .applied(let message): return EventRecord(step: step, kind: .command, message: message)
            case .refused(let reason):
                return EventRecord(step: step, kind: .refused, message: "\(command.summary) refused: \(reason)")
            }
        }
    }
}

extension TrainerCommand {
    /// How the command reads in the events log.
    public var summary: String {
        switch self {
        case .setQueueSize(let q): return "set queue_size \(q)"
        case .setLearningRate(let lr): return "set LR \(lr)"
        case .pause: return "pause"
        case .resume: return "resume"
        case .checkpointNow: return "checkpoint now"
        case .stop: return "stop"
        }
    }
}
