// Training: where checkpoints live and which ones stay. A checkpoint is one safetensors file
// `checkpoints/step-000001234.safetensors` (tensors for both nets, optimiser buffers, pool and
// loader state; metadata for step, config and scalar state), written atomically; only the last
// K are kept. `--resume latest` and `--resume PATH` resolve here.
import Foundation

public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    case noCheckpoint(directory: String)
    case notFound(path: String)
    case incompatible(path: String, reason: String)

    public var description: String {
        switch self {
        case .noCheckpoint(let dir): return "\(dir): no checkpoint to resume from (step-*.safetensors)"
        case .notFound(let path): return "\(path): no such checkpoint file or run directory"
        case .incompatible(let path, let reason): return "\(path): cannot resume from this checkpoint: \(reason)"
        }
    }
}

public struct CheckpointStore: Sendable {
    /// Metadata keys every checkpoint carries.
    public static let formatKey = "format", stepKey = "step", configKey = "config"
    public static let formatVersion = "ffc-checkpoint-1"

    public let directory: String
    public let keep: Int

    public init(directory: String, keep: Int) {
        precondition(keep >= 1, "keep at least one checkpoint")
        self.directory = directory
        self.keep = keep
    }

    public func path(step: Int) -> String { directory + "/" + String(format: "step-%09d.safetensors", step) }

    /// Checkpoints present, oldest first.
    public func list() -> [(step: Int, path: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name -> (Int, String)? in
            guard name.hasPrefix("step-"), name.hasSuffix(".safetensors"),
                let step = Int(name.dropFirst(5).dropLast(12))
            else { return nil }
            return (step, directory + "/" + name)
        }
        .sorted { $0.0 < $1.0 }
    }

    /// Writes atomically with the step and the config in its metadata, then deletes all but
    /// the newest `keep`. Returns the path written.
    @discardableResult
    public func save(_ file: SafeTensorsFile, step: Int, config: TrainingConfig) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var file = file
        file.metadata[Self.formatKey] = Self.formatVersion
        file.metadata[Self.stepKey] = String(step)
        file.metadata[Self.configKey] = config.encodedJSON()
        let target = path(step: step)
        try file.write(path: target)
        for old in list().dropLast(keep) where old.path != target { unlink(old.path) }
        return target
    }

    /// `latest` → the newest checkpoint here; a run directory → its newest; a file → itself.
    public static func resolve(_ spec: String, runDirectory: RunDirectory) throws -> String {
        if spec == "latest" {
            guard let newest = CheckpointStore(directory: runDirectory.checkpointsPath, keep: 1).list().last else {
                throw CheckpointError.noCheckpoint(directory: runDirectory.checkpointsPath)
            }
            return newest.path
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: spec, isDirectory: &isDirectory) else {
            throw CheckpointError.notFound(path: spec)
        }
        guard isDirectory.boolValue else { return spec }
        let run = RunDirectory(path: spec)
        let dir = FileManager.default.fileExists(atPath: run.checkpointsPath) ? run.checkpointsPath : spec
        guard let newest = CheckpointStore(directory: dir, keep: 1).list().last else {
            throw CheckpointError.noCheckpoint(directory: dir)
        }
        return newest.path
    }

    /// Reads a checkpoint and checks it is one of ours; returns it with its step and config.
    public static func load(path: String) throws -> (file: SafeTensorsFile, step: Int, config: TrainingConfig) {
        let file = try SafeTensorsFile.read(path: path)
        guard file.metadata[formatKey] == formatVersion else {
            throw CheckpointError.incompatible(
                path: path, reason: "format is '\(file.metadata[formatKey] ?? "none")', expected '\(formatVersion)'")
        }
        guard let stepText = file.metadata[stepKey], let step = Int(stepText) else {
            throw CheckpointError.incompatible(path: path, reason: "no step in metadata")
        }
        guard let configText = file.metadata[configKey] else {
            throw CheckpointError.incompatible(path: path, reason: "no config in metadata")
        }
        return (file, step, try TrainingConfig.decode(json: configText, path: path + " (metadata config)"))
    }
}
