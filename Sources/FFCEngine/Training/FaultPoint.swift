// Training: named points where the trainer can be made to kill itself, so a test can SIGKILL
// it at a chosen moment (Tests/FFCEngineTests/Training/KillResumeTests.swift) instead of at a
// moment that depends on timing. `FFC_FAULT=POINT:N` raises SIGKILL the N-th time this process
// passes POINT, e.g. `FFC_FAULT=checkpoint-write:2`. Unset — always, outside that test — a
// pass costs one load and one compare. A kill is as abrupt as `kill -9` from outside: nothing
// is flushed, no handler runs.
import Foundation
import Synchronization

public enum FaultPoint: String, CaseIterable, Sendable {
    /// A step computed, not yet logged or checkpointed. A step writes no file, so from the run
    /// directory's side this is the same as a kill anywhere inside the step.
    case step
    /// Half of a checkpoint's temporary file written; not synced, not renamed.
    case checkpointWrite = "checkpoint-write"
    /// The new checkpoint renamed into place; its directory not synced, older ones not pruned.
    case checkpointRename = "checkpoint-rename"
    /// Inside a class pool resize: the LRU resized, the banks not yet.
    case poolResize = "pool-resize"

    public static let environmentKey = "FFC_FAULT"

    private static let armed: (point: FaultPoint, pass: Int)? = {
        guard let text = ProcessInfo.processInfo.environment[environmentKey] else { return nil }
        return try? parse(text)
    }()
    private static let passes = Atomic<Int>(0)

    /// `POINT:N` as the environment variable spells it.
    public static func parse(_ text: String) throws(FaultPointError) -> (point: FaultPoint, pass: Int) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let point = FaultPoint(rawValue: String(parts[0])), let n = Int(parts[1]), n >= 1
        else {
            throw .malformed(value: text, points: allCases.map(\.rawValue))
        }
        return (point, n)
    }

    /// The environment variable's problem, if it is set and malformed (`ffc` refuses to start).
    public static var environmentError: FaultPointError? {
        guard let text = ProcessInfo.processInfo.environment[environmentKey] else { return nil }
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }

    /// Counts a pass through this point; the armed pass kills the process.
    public func pass() {
        guard let armed = Self.armed, armed.point == self else { return }
        guard Self.passes.add(1, ordering: .relaxed).newValue == armed.pass else { return }
        let line = Array("\(Self.environmentKey): SIGKILL at \(rawValue) pass \(armed.pass)\n".utf8)
        _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress!, $0.count) }
        raise(SIGKILL)
    }
}

public enum FaultPointError: Error, CustomStringConvertible, Equatable {
    case malformed(value: String, points: [String])

    public var description: String {
        switch self {
        case .malformed(let value, let points):
            return "\(FaultPoint.environmentKey)=\(value): expected POINT:N with N ≥ 1 and POINT one of "
                + points.joined(separator: ", ")
        }
    }
}
