// Data/RecordIO: insightface training sets as MXNet writes them (MS1MV2, MS1MV3, Glint360K,
// WebFace): `train.rec` + `train.idx` (+ `property`), read in place through mmap.
//
// Record framing (dmlc-core recordio): uint32 magic 0xced7230a, uint32 lrec whose top three
// bits are the continuation flag (0 whole, 1 first, 2 middle, 3 last part) and low 29 bits the
// part's length, the part's bytes, zero padding to 4 bytes. The writer splits a payload at
// every 4-aligned copy of the magic word and drops it; reassembly puts it back between parts.
// Payload (mxnet.recordio.pack): IRHeader (uint32 flag, float32 label, uint64 id, uint64 id2),
// `flag` float32 labels when flag > 0, then the encoded image. Record 0 of an insightface set
// is a header record whose two labels give the identity records' key range; identity record k
// gives the image-key range of identity k − first; image records carry the identity's label.
import Foundation

/// Why a RecordIO set cannot be opened, or why one record is unusable (a corrupt record is
/// skipped and counted by the loaders; the others refuse the set).
public enum RecordIOError: Error, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case malformedIndexLine(file: String, line: Int, text: String)
    case indexPastEnd(file: String, line: Int, offset: Int, recordFile: String, size: Int)
    case truncated(file: String, offset: Int, needed: Int, size: Int)
    case malformedProperty(file: String, text: String)
    case badHeaderRecord(file: String, offset: Int, reason: String)
    case corruptRecord(file: String, offset: Int, reason: String)
    case noImages(file: String, skipped: Int)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): return "\(path): cannot open: \(reason)"
        case .malformedIndexLine(let file, let line, let text):
            return "\(file):\(line): expected `key<TAB>offset` (non-negative integers), got \"\(text)\""
        case .indexPastEnd(let file, let line, let offset, let recordFile, let size):
            return "\(file):\(line): offset \(offset) is past the end of \(recordFile) (\(size) bytes)"
        case .truncated(let file, let offset, let needed, let size):
            return "\(file) is truncated: the record at offset \(offset) needs \(needed) bytes, the file has \(size)"
        case .malformedProperty(let file, let text):
            return "\(file): expected `classes,height,width`, got \"\(text)\""
        case .badHeaderRecord(let file, let offset, let reason):
            return "\(file): header record at offset \(offset): \(reason)"
        case .corruptRecord(let file, let offset, let reason):
            return "\(file): record at offset \(offset): \(reason)"
        case .noImages(let file, let skipped):
            return "\(file) has no usable image records (\(skipped) skipped as corrupt)"
        }
    }
}

/// A read-only memory map of a whole file, unmapped when released.
final class MappedFile: @unchecked Sendable {
    // @unchecked: the mapping is read-only and never changes after init.
    let path: String
    let bytes: UnsafeRawBufferPointer

    init(path: String) throws(RecordIOError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        let size = Int(st.st_size)
        guard size > 0 else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw .cannotOpen(path: path, reason: "mmap: " + String(cString: strerror(errno)))
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }
}

/// The buffer a multi-part record is reassembled in: one per reading thread; what a read
/// returns stays valid until the next read with the same buffer.
public final class RecordScratch {
    private var base: UnsafeMutableRawPointer?
    private var capacity = 0

    public init() {}

    func reserve(_ count: Int) -> UnsafeMutableRawPointer {
        if count > capacity || base == nil {
            base?.deallocate()
            capacity = max(count, 2 * capacity, 64)
            base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        }
        return base!
    }

    deinit { base?.deallocate() }
}

/// The fixed part of every payload, as `mxnet.recordio.pack` writes it ('IfQQ', 24 bytes).
public struct IRHeader: Equatable, Sendable {
    public static let byteCount = 24
    public var flag: UInt32
    public var label: Float
    public var id: UInt64
    public var id2: UInt64
    /// The `flag` extra labels (empty when flag is 0).
    public var labels: [Float]
    /// Where the encoded image starts in the payload.
    public var imageStart: Int

    /// The record's label: the scalar, or the first of several.
    public var primaryLabel: Float { labels.first ?? label }

    public static func parse(_ payload: UnsafeRawBufferPointer) -> IRHeader? {
        guard payload.count >= byteCount else { return nil }
        let flag = payload.loadUnaligned(fromByteOffset: 0, as: UInt32.self).littleEndian
        let extra = Int(flag) * 4
        guard flag < 1 << 24, payload.count >= byteCount + extra else { return nil }
        let labels = (0..<Int(flag)).map {
            Float(bitPattern: payload.loadUnaligned(fromByteOffset: byteCount + 4 * $0, as: UInt32.self).littleEndian)
        }
        return IRHeader(
            flag: flag,
            label: Float(bitPattern: payload.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian),
            id: payload.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian,
            id2: payload.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian,
            labels: labels, imageStart: byteCount + extra)
    }
}

/// One `train.rec` with its `train.idx` (and `property` when present), as a labelled image set.
///
/// Memory: per image 8 (offset) + 4 (label) + 8 (key) bytes; the record bytes stay in the page
/// cache through the map. MS1MV2 (5.8M images) takes about 120 MB of index.
public final class RecordIOFile: Sendable {
    public static let magic: UInt32 = 0xced7_230a

    public let path: String
    public let indexPath: String
    /// The `property` file read, or nil when there is none.
    public let propertyPath: String?
    /// Record key (the idx key) of each image, in identity order.
    public let imageKeys: [UInt64]
    /// Label of each image (0-based in this set).
    public let imageLabels: [Int32]
    /// Label count: identity records, or the property's class count when that is larger.
    public let identityCount: Int
    /// Image size the property states, if any.
    public let propertySize: (width: Int, height: Int)?
    /// Records found corrupt while indexing (skipped).
    public let skippedRecords: Int
    /// Whether record 0 was an insightface header record (else every record is an image).
    public let hasHeaderRecord: Bool

    let file: MappedFile
    /// Offset in the `.rec` of each image's record.
    let imageOffsets: [Int]

    /// `train.rec` for `path`: the path itself when it ends in `.rec`, else `path/train.rec`
    /// when `path` is a folder holding one; nil when `path` is not a RecordIO set.
    public static func recordPath(for path: String) -> String? {
        if path.hasSuffix(".rec") { return path }
        var isDirectory: ObjCBool = false
        let candidate = (path as NSString).appendingPathComponent("train.rec")
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue,
            FileManager.default.fileExists(atPath: candidate)
        else { return nil }
        return candidate
    }

    /// Opens `path` (`NAME.rec`, with `NAME.idx` and an optional `property` beside it).
    /// - Complexity: O(idx lines) without touching image records when there is a header record;
    ///   one header read per record otherwise.
    public init(path: String) throws(RecordIOError) {
        self.path = path
        indexPath = String(path.dropLast(path.hasSuffix(".rec") ? 4 : 0)) + ".idx"
        file = try MappedFile(path: path)
        let size = file.bytes.count
        let index = try Self.readIndex(indexPath, recordFile: path, size: size)
        // A truncated file cuts off the record that starts last.
        if let last = index.offsets.max() { _ = try Self.frame(file, at: last, truncationIsFatal: true) }

        let property = (path as NSString).deletingLastPathComponent + "/property"
        var propertyClasses = 0
        if FileManager.default.fileExists(atPath: property) {
            let text = ((try? String(contentsOfFile: property, encoding: .utf8)) ?? "")
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let fields = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard fields.count == 3, let c = fields[0], let h = fields[1], let w = fields[2], c >= 0, h > 0, w > 0
            else { throw .malformedProperty(file: property, text: text) }
            propertyPath = property
            propertyClasses = c
            propertySize = (w, h)
        } else {
            propertyPath = nil
            propertySize = nil
        }

        var keys: [UInt64] = []
        var offsets: [Int] = []
        var labels: [Int32] = []
        var skipped = 0
        let scratch = RecordScratch()
        let offsetOfKey = index.offsetOfKey
        var identities = 0
        if let headerOffset = offsetOfKey(0), let range = try Self.identityRange(file, at: headerOffset, scratch) {
            hasHeaderRecord = true
            for (ordinal, k) in range.enumerated() {
                guard let offset = offsetOfKey(UInt64(k)),
                    let images = try? Self.imageRange(file, at: offset, scratch)
                else {
                    skipped += 1
                    continue
                }
                for imageKey in images {
                    guard let imageOffset = offsetOfKey(UInt64(imageKey)) else {
                        skipped += 1
                        continue
                    }
                    keys.append(UInt64(imageKey))
                    offsets.append(imageOffset)
                    labels.append(Int32(ordinal))
                }
            }
            identities = range.count
        } else {
            hasHeaderRecord = false
            for (key, offset) in zip(index.keys, index.offsets) {
                do {
                    let header = try Self.header(file, at: offset, scratch)
                    let label = header.primaryLabel
                    guard label >= 0, label < Float(Int32.max), label == label.rounded() else {
                        throw RecordIOError.corruptRecord(file: path, offset: offset, reason: "label \(label)")
                    }
                    keys.append(key)
                    offsets.append(offset)
                    labels.append(Int32(label))
                    identities = max(identities, Int(label) + 1)
                } catch {
                    skipped += 1
                }
            }
        }
        guard !keys.isEmpty else { throw .noImages(file: path, skipped: skipped) }
        imageKeys = keys
        imageOffsets = offsets
        imageLabels = labels
        identityCount = max(identities, propertyClasses)
        skippedRecords = skipped
    }

    public var imageCount: Int { imageKeys.count }

    /// The encoded image of image `i`, after checking its framing and that its label is the one
    /// its identity record gives. Points into the map for a whole record, into `scratch` for a
    /// multi-part one. Throws `.corruptRecord` for anything wrong with this record alone.
    public func image(_ i: Int, scratch: RecordScratch) throws(RecordIOError) -> UnsafeRawBufferPointer {
        let offset = imageOffsets[i]
        let payload = try Self.payload(file, at: offset, scratch)
        guard let header = IRHeader.parse(payload) else {
            throw .corruptRecord(file: path, offset: offset, reason: "payload shorter than its IRHeader")
        }
        if hasHeaderRecord && header.primaryLabel != Float(imageLabels[i]) {
            throw .corruptRecord(
                file: path, offset: offset,
                reason: "label \(header.primaryLabel), but its identity record gives \(imageLabels[i])")
        }
        guard header.imageStart < payload.count else {
            throw .corruptRecord(file: path, offset: offset, reason: "no image after the IRHeader")
        }
        return UnsafeRawBufferPointer(rebasing: payload[header.imageStart...])
    }

    // MARK: - Index

    struct Index {
        /// Keys and offsets in idx order.
        var keys: [UInt64]
        var offsets: [Int]
        /// Keys ascending with their offsets, for lookups.
        var sortedKeys: [UInt64]
        var sortedOffsets: [Int]

        /// - Complexity: O(log records).
        func offsetOfKey(_ key: UInt64) -> Int? {
            var lo = 0
            var hi = sortedKeys.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if sortedKeys[mid] < key { lo = mid + 1 } else { hi = mid }
            }
            return lo < sortedKeys.count && sortedKeys[lo] == key ? sortedOffsets[lo] : nil
        }
    }

    static func readIndex(_ indexPath: String, recordFile: String, size: Int) throws(RecordIOError) -> Index {
        let idx = try MappedFile(path: indexPath)
        var keys: [UInt64] = []
        var offsets: [Int] = []
        let bytes = idx.bytes
        var line = 0
        var start = 0
        while start < bytes.count {
            line += 1
            var end = start
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            var fields: [UInt64] = []
            var value: UInt64 = 0
            var digits = 0
            var ok = true
            for j in start..<end {
                let c = bytes[j]
                if c >= 0x30 && c <= 0x39 {
                    let (m, o1) = value.multipliedReportingOverflow(by: 10)
                    let (s, o2) = m.addingReportingOverflow(UInt64(c - 0x30))
                    if o1 || o2 { ok = false }
                    value = s
                    digits += 1
                } else if c == 0x09 || c == 0x20 || c == 0x0D {
                    if digits > 0 { fields.append(value) }
                    value = 0
                    digits = 0
                } else {
                    ok = false
                }
            }
            if digits > 0 { fields.append(value) }
            if !ok || !(fields.count == 2 || fields.isEmpty) {
                let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
                throw .malformedIndexLine(file: indexPath, line: line, text: text)
            }
            if fields.count == 2 {
                guard fields[1] < UInt64(size) else {
                    throw .indexPastEnd(
                        file: indexPath, line: line, offset: Int(clamping: fields[1]), recordFile: recordFile,
                        size: size)
                }
                keys.append(fields[0])
                offsets.append(Int(fields[1]))
            }
            start = end + 1
        }
        let order = keys.indices.sorted { keys[$0] < keys[$1] }
        return Index(
            keys: keys, offsets: offsets, sortedKeys: order.map { keys[$0] }, sortedOffsets: order.map { offsets[$0] })
    }

    // MARK: - Records

    /// Walks the parts of the record at `offset`; returns each part's byte range. A part that
    /// runs past the end of the file is a truncation when `truncationIsFatal`, else corrupt.
    static func frame(_ file: MappedFile, at offset: Int, truncationIsFatal: Bool) throws(RecordIOError)
        -> [Range<Int>]
    {
        let bytes = file.bytes
        var parts: [Range<Int>] = []
        var at = offset
        while true {
            guard at + 8 <= bytes.count else {
                if truncationIsFatal {
                    throw .truncated(file: file.path, offset: offset, needed: at + 8, size: bytes.count)
                }
                throw .corruptRecord(file: file.path, offset: offset, reason: "part header past the end of the file")
            }
            let magic = bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian
            guard magic == Self.magic else {
                throw .corruptRecord(
                    file: file.path, offset: offset,
                    reason: "magic \(String(magic, radix: 16)) at offset \(at), expected ced7230a")
            }
            let lrec = bytes.loadUnaligned(fromByteOffset: at + 4, as: UInt32.self).littleEndian
            let flag = lrec >> 29
            let length = Int(lrec & (1 << 29 - 1))
            let padded = (length + 3) & ~3
            guard at + 8 + padded <= bytes.count else {
                if truncationIsFatal {
                    throw .truncated(file: file.path, offset: offset, needed: at + 8 + padded, size: bytes.count)
                }
                throw .corruptRecord(file: file.path, offset: offset, reason: "part length \(length) past the end")
            }
            let expectFirst = parts.isEmpty
            guard expectFirst ? (flag == 0 || flag == 1) : (flag == 2 || flag == 3) else {
                throw .corruptRecord(
                    file: file.path, offset: offset, reason: "continuation flag \(flag) in part \(parts.count + 1)")
            }
            parts.append((at + 8)..<(at + 8 + length))
            at += 8 + padded
            if flag == 0 || flag == 3 { return parts }
        }
    }

    /// The reassembled payload of the record at `offset`.
    static func payload(_ file: MappedFile, at offset: Int, _ scratch: RecordScratch) throws(RecordIOError)
        -> UnsafeRawBufferPointer
    {
        let parts = try frame(file, at: offset, truncationIsFatal: false)
        if parts.count == 1 { return UnsafeRawBufferPointer(rebasing: file.bytes[parts[0]]) }
        let total = parts.reduce(0) { $0 + $1.count } + 4 * (parts.count - 1)
        let out = scratch.reserve(total)
        var at = 0
        for (p, range) in parts.enumerated() {
            if p > 0 {
                out.storeBytes(of: Self.magic.littleEndian, toByteOffset: at, as: UInt32.self)
                at += 4
            }
            if let base = file.bytes.baseAddress, !range.isEmpty {
                (out + at).copyMemory(from: base + range.lowerBound, byteCount: range.count)
            }
            at += range.count
        }
        return UnsafeRawBufferPointer(start: out, count: total)
    }

    static func header(_ file: MappedFile, at offset: Int, _ scratch: RecordScratch) throws(RecordIOError) -> IRHeader {
        guard let header = IRHeader.parse(try payload(file, at: offset, scratch)) else {
            throw .corruptRecord(file: file.path, offset: offset, reason: "payload shorter than its IRHeader")
        }
        return header
    }

    /// The identity-record key range record 0 states, or nil when record 0 is an image record.
    static func identityRange(_ file: MappedFile, at offset: Int, _ scratch: RecordScratch) throws(RecordIOError)
        -> Range<Int>?
    {
        let header: IRHeader
        do { header = try Self.header(file, at: offset, scratch) } catch {
            throw .badHeaderRecord(file: file.path, offset: offset, reason: "\(error)")
        }
        guard header.flag >= 2 else { return nil }
        guard let range = keyRange(header.labels) else {
            throw .badHeaderRecord(
                file: file.path, offset: offset, reason: "labels \(header.labels.prefix(2)) are not a key range")
        }
        return range
    }

    static func imageRange(_ file: MappedFile, at offset: Int, _ scratch: RecordScratch) throws(RecordIOError)
        -> Range<Int>
    {
        let header = try Self.header(file, at: offset, scratch)
        guard header.flag >= 2, let range = keyRange(header.labels) else {
            throw .corruptRecord(file: file.path, offset: offset, reason: "identity record without an image range")
        }
        return range
    }

    private static func keyRange(_ labels: [Float]) -> Range<Int>? {
        guard labels.count >= 2, labels[0] >= 0, labels[0] <= labels[1], labels[1] < 2_147_483_648,
            labels[0] == labels[0].rounded(), labels[1] == labels[1].rounded()
        else { return nil }
        return Int(labels[0])..<Int(labels[1])
    }
}
