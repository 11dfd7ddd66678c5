import Foundation
import Testing

@testable import FFCEngine

@Suite struct CheckpointStoreTests {
    @Test func keepsTheLastKAndResolvesLatest() throws {
        let run = RunDirectory(path: NSTemporaryDirectory() + "ckpt-\(UUID().uuidString)")
        try run.create()
        defer { try? FileManager.default.removeItem(atPath: run.path) }
        var config = TrainingConfig()
        config.queueSize = 77
        let store = CheckpointStore(directory: run.checkpointsPath, keep: 2)
        for step in [10, 20, 30] {
            var file = SafeTensorsFile()
            file["w"] = NamedTensor(floats: [Float(step)], shape: [1])
            try store.save(file, step: step, config: config)
        }
        #expect(store.list().map(\.step) == [20, 30])
        let latest = try CheckpointStore.resolve("latest", runDirectory: run)
        #expect(latest == store.path(step: 30))
        #expect(try CheckpointStore.resolve(run.path, runDirectory: run) == latest)
        let loaded = try CheckpointStore.load(path: latest)
        #expect(loaded.step == 30 && loaded.config.queueSize == 77 && loaded.file["w"]?.floats == [30])
    }

    @Test func missingOrForeignCheckpointIsAClearError() throws {
        let run = RunDirectory(path: NSTemporaryDirectory() + "ckpt-\(UUID().uuidString)")
        try run.create()
        defer { try? FileManager.default.removeItem(atPath: run.path) }
        #expect(throws: CheckpointError.noCheckpoint(directory: run.checkpointsPath)) {
            _ = try CheckpointStore.resolve("latest", runDirectory: run)
        }
        #expect(throws: CheckpointError.notFound(path: "/nonexistent.safetensors")) {
            _ = try CheckpointStore.resolve("/nonexistent.safetensors", runDirectory: run)
        }
        let foreign = run.path + "/x.safetensors"
        var file = SafeTensorsFile()
        file["w"] = NamedTensor(floats: [1], shape: [1])
        try file.write(path: foreign)
        #expect(throws: CheckpointError.self) { _ = try CheckpointStore.load(path: foreign) }
    }

    @Test func runListingReadsStateStepAndLoss() throws {
        let root = NSTemporaryDirectory() + "runs-\(UUID().uuidString)"
        let run = RunDirectory(path: root + "/a")
        try run.create()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try run.writeConfig(TrainingConfig())
        let writer = try MetricsStreamWriter(path: run.metricsPath)
        var r = StepRecord()
        r.step = 12
        r.loss = 1.5
        try writer.append(.step(r))
        #expect(RunDirectory.list(under: root).map(\.state) == [.stopped])
        try writer.append(.event(EventRecord(step: 12, kind: .info, message: RunDirectory.finishedMessage)))
        let rows = RunDirectory.list(under: root)
        #expect(rows.count == 1 && rows[0].state == .finished && rows[0].step == 12 && rows[0].loss == 1.5)
    }

    /// A small checkpoint as `save` writes it, and where it is.
    static func smallCheckpoint() throws -> (run: RunDirectory, path: String, bytes: [UInt8]) {
        let run = RunDirectory(path: NSTemporaryDirectory() + "ckpt-\(UUID().uuidString)")
        try run.create()
        var file = SafeTensorsFile()
        file["probe.w"] = NamedTensor(floats: (0..<24).map { Float($0) * 0.25 }, shape: [4, 6])
        file["head.pool.lru"] = NamedTensor(ints: [3, 1, 2], shape: [3])
        file.metadata["lr_factor"] = String(Float(1).bitPattern)
        var config = TrainingConfig()
        config.runDir = run.path
        let path = try CheckpointStore(directory: run.checkpointsPath, keep: 2).save(file, step: 12, config: config)
        return (run, path, [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    /// Every single-bit flip of a whole checkpoint file — length prefix, header, metadata,
    /// tensor data, the checksum's own digits — and every truncation is refused as unreadable,
    /// naming the file; the untouched bytes load.
    @Test func everyFlippedBitAndEveryTruncationIsRefused() throws {
        let (run, path, bytes) = try Self.smallCheckpoint()
        defer { try? FileManager.default.removeItem(atPath: run.path) }
        #expect(try CheckpointStore.decode(bytes, path: path).step == 12)
        var accepted: [Int] = []
        var reasons: [String: Int] = [:]
        for bit in 0..<(bytes.count * 8) {
            var flipped = bytes
            flipped[bit / 8] ^= 1 << UInt8(bit % 8)
            do {
                _ = try CheckpointStore.decode(flipped, path: path)
                accepted.append(bit)
            } catch CheckpointError.unreadable(let named, let reason) where named == path {
                reasons[String(reason.prefix(24)), default: 0] += 1
            }
        }
        #expect(accepted.isEmpty, "flipped bits accepted: \(accepted.prefix(10))")
        #expect(reasons.values.reduce(0, +) == bytes.count * 8)
        for length in 0..<bytes.count {
            #expect(throws: CheckpointError.self) {
                _ = try CheckpointStore.decode(Array(bytes[..<length]), path: path)
            }
        }
        let truncated = path + ".short"
        try Data(bytes[..<(bytes.count - 1)]).write(to: URL(fileURLWithPath: truncated))
        #expect(
            throws: CheckpointError.unreadable(
                path: truncated, reason: "file is truncated (not a complete safetensors file)")
        ) {
            _ = try CheckpointStore.load(path: truncated)
        }
    }

    /// The checksum is zlib's CRC-32 over the file with its own 8 digits read as zeros — the
    /// recipe the header comment of SafeTensors+Checksum.swift gives Python users.
    @Test func checksumIsTheDocumentedCRC32() throws {
        let (run, _, bytes) = try Self.smallCheckpoint()
        defer { try? FileManager.default.removeItem(atPath: run.path) }
        let file = try SafeTensorsFile.decode(bytes)
        let stated = try #require(file.metadata[SafeTensorsFile.checksumKey])
        #expect(stated.count == 8)
        let field = Array("\"crc32\":\"\(stated)\"".utf8)
        let at = try #require(
            (0...(bytes.count - field.count)).first { bytes[$0..<($0 + field.count)].elementsEqual(field) })
        var blank = bytes
        blank.replaceSubrange((at + 9)..<(at + 17), with: Array("00000000".utf8))
        // Bitwise CRC-32 (IEEE, reflected 0xEDB88320), independent of zlib.
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in blank {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        #expect(String(format: "%08x", ~crc) == stated)
    }

    /// Checkpoints from before checksums (format 1) still resume; format 2 without one does not.
    @Test func legacyCheckpointWithoutChecksumLoadsAndCurrentOneWithoutIsRefused() throws {
        let dir = NSTemporaryDirectory() + "ckpt-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var file = SafeTensorsFile()
        file["w"] = NamedTensor(floats: [1, 2], shape: [2])
        file.metadata[CheckpointStore.stepKey] = "3"
        file.metadata[CheckpointStore.configKey] = TrainingConfig().encodedJSON()
        file.metadata[CheckpointStore.formatKey] = CheckpointStore.legacyFormatVersion
        #expect(try CheckpointStore.decode(file.encode(), path: dir + "/old").step == 3)
        file.metadata[CheckpointStore.formatKey] = CheckpointStore.formatVersion
        #expect(throws: CheckpointError.unreadable(path: dir + "/new", reason: "no crc32 in its metadata")) {
            _ = try CheckpointStore.decode(file.encode(), path: dir + "/new")
        }
        #expect(try CheckpointStore.decode(file.encodeWithChecksum(), path: dir + "/new").step == 3)
    }

    /// A killed write leaves `step-N.safetensors.tmp-PID`; the next save removes it when PID is
    /// gone, and leaves a live process's alone.
    @Test func saveRemovesTemporaryFilesOfDeadWriters() throws {
        let (run, path, _) = try Self.smallCheckpoint()
        defer { try? FileManager.default.removeItem(atPath: run.path) }
        let dead = run.checkpointsPath + "/step-000000015.safetensors.tmp-\(Int32.max - 7)"
        let live = run.checkpointsPath + "/step-000000015.safetensors.tmp-1"
        for p in [dead, live] { _ = FileManager.default.createFile(atPath: p, contents: Data([1, 2, 3])) }
        let loaded = try CheckpointStore.load(path: path)
        try CheckpointStore(directory: run.checkpointsPath, keep: 2).save(loaded.file, step: 15, config: loaded.config)
        #expect(!FileManager.default.fileExists(atPath: dead))
        #expect(FileManager.default.fileExists(atPath: live))
        #expect(CheckpointStore(directory: run.checkpointsPath, keep: 2).list().map(\.step) == [12, 15])
    }
}
