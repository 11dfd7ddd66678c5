// Control: the TensorBoard event file of a run, `runs/NAME/tensorboard/events.out.tfevents.
// <seconds>.<host>`, beside metrics.jsonl and holding the same numbers. TFRecord framing (uint64
// length, masked CRC32C of the length, the bytes, masked CRC32C of the bytes) around `Event`
// protos: file_version first, then one Summary of simple_value scalars per logged step, a
// scalar per validation, and every event (commands such as pool resizes and LR changes,
// checkpoints, warnings) as a text summary (a DT_STRING tensor, plugin "text"), which is what
// TensorBoard's scalar and text plugins read. The messages are tools/proto/tensorboard_event.proto.
import Foundation
import SwiftProtobuf

/// CRC-32C (Castagnoli), the checksum TFRecord frames carry, and its masked form.
public enum CRC32C {
    private static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0x82f6_3b78 ^ (c >> 1) : c >> 1 }
        return c
    }

    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var c: UInt32 = 0xffff_ffff
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xff)] ^ (c >> 8) }
        return c ^ 0xffff_ffff
    }

    /// TFRecord's mask: rotate right by 15, add a constant (so a CRC of CRCs is not trivial).
    public static func masked(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        let c = checksum(bytes)
        return ((c >> 15) | (c << 17)) &+ 0xa282_ead8
    }
}

/// Appends Events to one TensorBoard event file; each record goes out in one `write`.
public final class TensorBoardWriter {
    public let path: String
    private let fd: Int32

    /// The file name TensorBoard's loader expects: events.out.tfevents.<seconds>.<host>.
    public static func fileName(wallTime: Double, host: String = ProcessInfo.processInfo.hostName) -> String {
        "events.out.tfevents.\(Int(wallTime)).\(host)"
    }

    /// Creates `directory` and a new event file in it, starting with the file_version event.
    public init(directory: String, wallTime: Double = Date().timeIntervalSince1970) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var name = Self.fileName(wallTime: wallTime)
        // A second writer in the same second (a quick resume) gets its own file.
        var n = 1
        while FileManager.default.fileExists(atPath: directory + "/" + name) {
            name = Self.fileName(wallTime: wallTime) + ".\(n)"
            n += 1
        }
        path = directory + "/" + name
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RunDirectoryError.cannotOpen(path: path, errno: errno) }
        var first = Tensorflow_Event()
        first.wallTime = wallTime
        first.fileVersion = "brain.Event:2"
        try write(first)
    }

    deinit { close(fd) }

    /// One Event holding a simple_value per (tag, value).
    public func scalars(step: Int, wallTime: Double, _ values: [(tag: String, value: Double)]) throws {
        var event = Tensorflow_Event()
        event.wallTime = wallTime
        event.step = Int64(step)
        event.summary.value = values.map { tag, value in
            var v = Tensorflow_Summary.Value()
            v.tag = tag
            v.simpleValue = Float(value)
            return v
        }
        try write(event)
    }

    /// A text summary as TensorBoard's text plugin reads it: a scalar DT_STRING tensor.
    public func text(step: Int, wallTime: Double, tag: String, _ text: String) throws {
        var v = Tensorflow_Summary.Value()
        v.tag = tag
        v.metadata.pluginData.pluginName = "text"
        v.tensor.dtype = .dtString
        v.tensor.tensorShape = Tensorflow_TensorShapeProto()
        v.tensor.stringVal = [Data(text.utf8)]
        var event = Tensorflow_Event()
        event.wallTime = wallTime
        event.step = Int64(step)
        event.summary.value = [v]
        try write(event)
    }

    /// The scalars of one logged step, under the tags README lists.
    public func step(_ r: StepRecord, wallTime: Double = Date().timeIntervalSince1970) throws {
        var values: [(tag: String, value: Double)] = [
            ("loss/total", r.loss), ("loss/margin", r.lossMargin), ("loss/outlier", r.lossOutlier),
            ("hit_rate/pair", r.hitRatePair), ("hit_rate/instance", r.hitRateInstance),
            ("lru/occupancy", Double(r.poolOccupancy)), ("lru/capacity", Double(r.poolCapacity)),
            ("lru/inserts", Double(r.inserts)), ("lru/evictions", Double(r.evictions)),
            ("lru/eviction_age_mean", r.evictionAgeMean), ("lru/dual_share", r.dualShare),
            ("lr", r.lr), ("throughput/probe_images_per_second", r.probeImagesPerSecond),
            ("throughput/all_images_per_second", r.allImagesPerSecond), ("time/step_seconds", r.stepSeconds),
        ]
        for loader in r.loaders {
            values.append(("data_wait/\(loader.name)", loader.trainerWaitShare))
        }
        try scalars(step: r.step, wallTime: wallTime, values)
    }

    /// Frames and appends one Event.
    func write(_ event: Tensorflow_Event) throws {
        let data = [UInt8](try event.serializedBytes() as [UInt8])
        var record: [UInt8] = []
        record.reserveCapacity(data.count + 16)
        let length = withUnsafeBytes(of: UInt64(data.count).littleEndian) { Array($0) }
        record += length
        withUnsafeBytes(of: length.withUnsafeBytes(CRC32C.masked).littleEndian) { record += $0 }
        record += data
        withUnsafeBytes(of: data.withUnsafeBytes(CRC32C.masked).littleEndian) { record += $0 }
        let ok = record.withUnsafeBytes { raw -> Bool in
            var done = 0
            while done < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                done += n
            }
            return true
        }
        guard ok else { throw RunDirectoryError.cannotWrite(path: path, errno: errno) }
    }
}
