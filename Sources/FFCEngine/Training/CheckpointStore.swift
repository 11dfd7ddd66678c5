// Training: where checkpoints live and which ones stay. A checkpoint is one safetensors file
// `checkpoints/step-000001234.safetensors` (tensors for both nets, optimiser buffers, pool and
// loader state; metadata for step, config and scalar state) carrying a CRC-32 of its bytes
// (SafeTensors+Checksum.swift), written atomically (AtomicFile); only the last K are kept.
// `--resume latest` and `--resume RUN_DIR` take the newest checkpoint that reads back whole: a
// truncated or corrupted one is refused with its name and reason, set aside as `NAME.corrupt`,
// and the previous one is used. `--resume FILE` uses that file or fails.
import Foundation

public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    case noCheckpoint(directory: String)
    case notFound(path: String)
    case incompatible(path: String, reason: String)
    /// Truncated, corrupted (checksum), or not a safetensors file at all.
    case unreadable(path: String, reason: String)
    /// `--resume latest`: every checkpoint there was refused; `refused` says why, one per file.
    case noReadableCheckpoint(directory: String, refused: [String])

    public var description: String {
        switch self {
        case .noCheckpoint(let dir): return "\(dir): no checkpoint to resume from (step-*.safetensors)"
        case .notFound(let path): return "\(path): no such checkpoint file or run directory"
        case .incompatible(let path, let reason): return "\(path): cannot resume from this checkpoint: \(reason)"
        case .unreadable(let path, let reason): return "\(path): unreadable checkpoint: \(reason)"
        case .noReadableCheckpoint(let dir, let refused):
            return "\(dir): no readable checkpoint to resume from; refused: " + refused.joined(separator: "; ")
        }
    }
}

public struct CheckpointStore: Sendable {
    /// Metadata keys every checkpoint carries.
    public static let formatKey = "format", stepKey = "step", configKey = "config"
    /// Version 2 carries a checksum and must; version 1 (before checksums) is read as it is.
    public static let formatVersion = "ffc-checkpoint-2", legacyFormatVersion = "ffc-checkpoint-1"
    /// Suffix of a checkpoint set aside because it did not read back whole.
    public static let corruptSuffix = ".corrupt"

    /// A checkpoint read back whole, with the step and config its metadata states.
    public struct Loaded: Sendable {
        public var file: SafeTensorsFile
        public var step: Int
        public var config: TrainingConfig
    }

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

    /// Writes atomically with the step, the config and a checksum in its metadata, then
    /// deletes all but the newest `keep`. A failed write (a full disk, say) leaves every
    /// existing checkpoint as it was. Returns the path written.
    @discardableResult
    public func save(_ file: SafeTensorsFile, step: Int, config: TrainingConfig) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        removeAbandonedTemporaryFiles()
        var file = file
        file.metadata[Self.formatKey] = Self.formatVersion
        file.metadata[Self.stepKey] = String(step)
        file.metadata[Self.configKey] = config.encodedJSON()
        let target = path(step: step)
        try AtomicFile.write(
            file.encodeWithChecksum(), to: target, faultPoints: (.checkpointWrite, .checkpointRename))
        for old in list().dropLast(keep) where old.path != target { unlink(old.path) }
        return target
    }

    /// Temporary files of writes whose process is gone (killed mid-write): they hold no
    /// checkpoint, and on a nearly full disk they hold the space the next write needs.
    private func removeAbandonedTemporaryFiles() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names {
            guard let infix = name.range(of: AtomicFile.temporaryInfix), name.hasPrefix("step-"),
                let pid = Int32(name[infix.upperBound...]), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH
            else { continue }
            unlink(directory + "/" + name)
        }
    }

    /// `latest` → the newest checkpoint here; a run directory → its newest; a file → itself.
    public static func resolve(_ spec: String, runDirectory: RunDirectory) throws -> String {
        try candidates(spec, runDirectory: runDirectory).paths[0]
    }

    /// The checkpoints `spec` may resume from, newest first: for `latest` or a run directory
    /// every checkpoint there (`fallsBack`: an unreadable one gives way to the one before),
    /// for a file only that file.
    public static func candidates(_ spec: String, runDirectory: RunDirectory) throws -> (
        paths: [String], fallsBack: Bool
    ) {
        func newestFirst(_ dir: String) throws -> [String] {
            let paths = CheckpointStore(directory: dir, keep: 1).list().reversed().map(\.path)
            guard !paths.isEmpty else { throw CheckpointError.noCheckpoint(directory: dir) }
            return paths
        }
        if spec == "latest" { return (try newestFirst(runDirectory.checkpointsPath), true) }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: spec, isDirectory: &isDirectory) else {
            throw CheckpointError.notFound(path: spec)
        }
        guard isDirectory.boolValue else { return ([spec], false) }
        let run = RunDirectory(path: spec)
        return (
            try newestFirst(FileManager.default.fileExists(atPath: run.checkpointsPath) ? run.checkpointsPath : spec),
            true
        )
    }

    /// Renames a refused checkpoint to `NAME.corrupt`: kept for a look, out of rotation.
    /// Returns the new path, or nil when the rename failed (the file stays where it was).
    public static func setAside(_ path: String) -> String? {
        let aside = path + corruptSuffix
        return rename(path, aside) == 0 ? aside : nil
    }

    /// Reads a checkpoint, checks its checksum and that it is one of ours; returns it with its
    /// step and config. A file that does not read back whole is `.unreadable`.
    public static func load(path: String) throws -> Loaded {
        let bytes: [UInt8]
        do {
            bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw CheckpointError.unreadable(path: path, reason: "cannot read: \(error.localizedDescription)")
        }
        return try decode(bytes, path: path)
    }

    /// `load` of bytes already read; `path` names them in errors.
    public static func decode(_ bytes: [UInt8], path: String) throws -> Loaded {
        let file: SafeTensorsFile
        do {
            file = try SafeTensorsFile.decode(bytes, path: path)
        } catch {
            let text = "\(error)"
            throw CheckpointError.unreadable(
                path: path, reason: text.hasPrefix(path + ": ") ? String(text.dropFirst(path.count + 2)) : text)
        }
        switch file.metadata[formatKey] {
        case formatVersion:
            guard file.metadata[SafeTensorsFile.checksumKey] != nil else {
                throw CheckpointError.unreadable(path: path, reason: "no crc32 in its metadata")
            }
        case legacyFormatVersion: break
        default:
            throw CheckpointError.incompatible(
                path: path, reason: "format is '\(file.metadata[formatKey] ?? "none")', expected '\(formatVersion)'")
        }
        guard let stepText = file.metadata[stepKey], let step = Int(stepText) else {
            throw CheckpointError.incompatible(path: path, reason: "no step in metadata")
        }
        guard let configText = file.metadata[configKey] else {
            throw CheckpointError.incompatible(path: path, reason: "no config in metadata")
        }
        return Loaded(
            file: file, step: step,
            config: try TrainingConfig.decode(json: configText, path: path + " (metadata config)"))
    }
}
