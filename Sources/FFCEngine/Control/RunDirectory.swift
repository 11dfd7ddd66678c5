// Control: the layout of one run's directory — `config.json` as resolved, `metrics.jsonl`,
// the human log `train.log`, `checkpoints/`, and `control.sock` while the trainer runs —
// and the listing `ffc runs` prints. Everything a console shows can be rebuilt from here.
import Foundation

public enum RunDirectoryError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, errno: Int32)
    case cannotWrite(path: String, errno: Int32)
    case cannotCreate(path: String, reason: String)
    case notARun(path: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let e): return "\(path): cannot open: \(String(cString: strerror(e)))"
        case .cannotWrite(let path, let e): return "\(path): cannot write: \(String(cString: strerror(e)))"
        case .cannotCreate(let path, let reason): return "\(path): cannot create: \(reason)"
        case .notARun(let path): return "\(path): not a run directory (no config.json or metrics.jsonl)"
        }
    }
}

public struct RunDirectory: Sendable, Equatable {
    public let path: String

    public init(path: String) {
        self.path = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
    }

    public var name: String { (path as NSString).lastPathComponent }
    public var configPath: String { path + "/config.json" }
    public var metricsPath: String { path + "/metrics.jsonl" }
    public var logPath: String { path + "/train.log" }
    public var checkpointsPath: String { path + "/checkpoints" }
    public var socketPath: String { path + "/control.sock" }
    /// TensorBoard event files (`tensorboard --logdir runs` finds them).
    public var tensorboardPath: String { path + "/tensorboard" }
    /// Where a detached trainer's stdout and stderr go.
    public var outputPath: String { path + "/output.log" }

    /// The event message that marks a run that ended on its own (all steps or epochs done).
    public static let finishedMessage = "finished"

    /// Creates the directory and `checkpoints/` inside it. A directory made here is writable
    /// by its owner only, whatever the umask: the control socket lives in it
    /// (`ControlSocket.listen` refuses a directory others may write).
    public func create() throws {
        let existed = FileManager.default.fileExists(atPath: path)
        do {
            try FileManager.default.createDirectory(atPath: checkpointsPath, withIntermediateDirectories: true)
        } catch {
            throw RunDirectoryError.cannotCreate(path: checkpointsPath, reason: error.localizedDescription)
        }
        var st = stat()
        if !existed, stat(path, &st) == 0, st.st_mode & 0o022 != 0, chmod(path, st.st_mode & 0o755) != 0 {
            throw RunDirectoryError.cannotCreate(path: path, reason: String(cString: strerror(errno)))
        }
    }

    /// Whether a trainer answers on this run's control socket now.
    public var isLive: Bool { ControlSocket.answers(path: socketPath) }

    public var exists: Bool {
        FileManager.default.fileExists(atPath: configPath) || FileManager.default.fileExists(atPath: metricsPath)
    }

    public func writeConfig(_ config: TrainingConfig) throws {
        try AtomicFile.write(Array((config.encodedJSON() + "\n").utf8), to: configPath)
    }

    public func readConfig() throws -> TrainingConfig {
        guard let data = FileManager.default.contents(atPath: configPath) else {
            throw RunDirectoryError.cannotOpen(path: configPath, errno: ENOENT)
        }
        return try TrainingConfig.decode(json: String(decoding: data, as: UTF8.self), path: configPath)
    }
}

/// One row of `ffc runs`.
public struct RunSummary: Sendable, Equatable {
    public enum State: String, Sendable { case live, finished, stopped }
    public var directory: RunDirectory
    public var state: State
    public var step: Int
    public var loss: Double?
    public var modified: Date
}

extension RunDirectory {
    /// Live when its control socket answers; finished when the stream holds the finished event;
    /// otherwise stopped (stopped by command, killed, or crashed — resumable from checkpoints).
    public func summary() -> RunSummary {
        let contents = (try? MetricsStreamContents.read(path: metricsPath)) ?? MetricsStreamContents()
        let state: RunSummary.State
        if isLive {
            state = .live
        } else if contents.events.contains(where: { $0.kind == .info && $0.message == Self.finishedMessage }) {
            state = .finished
        } else {
            state = .stopped
        }
        let attributes = try? FileManager.default.attributesOfItem(atPath: exists ? metricsPath : path)
        return RunSummary(
            directory: self, state: state, step: contents.steps.last?.step ?? 0, loss: contents.steps.last?.loss,
            modified: attributes?[.modificationDate] as? Date ?? Date(timeIntervalSince1970: 0))
    }

    /// The run directories directly under `root`, most recently modified first.
    public static func list(under root: String) -> [RunSummary] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return names.map { RunDirectory(path: root + "/" + $0) }
            .filter(\.exists)
            .map { $0.summary() }
            .sorted { $0.modified > $1.modified }
    }
}

/// The human log: timestamped lines in `train.log`, mirrored to stdout when headless.
public final class TrainLog: Sendable {
    public let path: String
    private let fd: Int32
    private let echo: Bool

    public init(path: String, echo: Bool) throws {
        self.path = path
        self.echo = echo
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RunDirectoryError.cannotOpen(path: path, errno: errno) }
    }

    deinit { close(fd) }

    public func line(_ text: String) {
        let stamp = ISO8601DateFormatter.string(from: Date(), timeZone: .gmt, formatOptions: [.withInternetDateTime])
        let bytes = Array("\(stamp) \(text)\n".utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
        if echo { _ = bytes.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress!, $0.count) } }
    }
}
