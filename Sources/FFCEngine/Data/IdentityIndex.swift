// Data/IdentityIndex: what opening one LMDB + kv database needs (keys, labels, the identity →
// images index), built from the kv file — its keys checked against the LMDB — and cached beside
// the kv as `NAME_kv.txt.ffcindex`, so the next open reads one file instead of parsing the kv and
// looking every key up (which faults in every B-tree leaf of the LMDB: with small records, all
// the image pages). The cache is trusted only while the LMDB data file's size and mtime, and the
// kv's size, mtime and CRC-32, are the ones it was built from; anything else rebuilds it.
import CZlib
import Foundation

/// One database's keys, labels and identity index; labels and image numbers are the part's own
/// (0-based), `FaceDatabase` offsets them when it concatenates parts.
struct PartIndex: Equatable {
    /// UTF-8 bytes of all keys, back to back.
    var keyBytes: [UInt8]
    /// Start of key i in `keyBytes`; images + 1 entries.
    var keyStarts: [Int]
    var labels: [Int32]
    /// Label count (max label + 1).
    var identityCount: Int
    /// Images of identity y are `imagesByIdentity[identityStarts[y]..<identityStarts[y+1]]`.
    var identityStarts: [Int]
    var imagesByIdentity: [UInt32]

    var imageCount: Int { labels.count }

    /// Sorts images by label (a counting sort: stable, so an identity's images keep kv order).
    /// - Complexity: O(images + identities).
    init(keyBytes: [UInt8], keyStarts: [Int], labels: [Int32], identityCount: Int) {
        var starts = [Int](repeating: 0, count: identityCount + 1)
        for y in labels { starts[Int(y) + 1] += 1 }
        for y in 0..<identityCount { starts[y + 1] += starts[y] }
        var fill = starts
        var byIdentity = [UInt32](repeating: 0, count: labels.count)
        for (i, y) in labels.enumerated() {
            byIdentity[fill[Int(y)]] = UInt32(i)
            fill[Int(y)] += 1
        }
        self.init(
            keyBytes: keyBytes, keyStarts: keyStarts, labels: labels, identityCount: identityCount,
            identityStarts: starts, imagesByIdentity: byIdentity)
    }

    init(
        keyBytes: [UInt8], keyStarts: [Int], labels: [Int32], identityCount: Int, identityStarts: [Int],
        imagesByIdentity: [UInt32]
    ) {
        self.keyBytes = keyBytes
        self.keyStarts = keyStarts
        self.labels = labels
        self.identityCount = identityCount
        self.identityStarts = identityStarts
        self.imagesByIdentity = imagesByIdentity
    }

    /// Why these arrays are not what a kv file gives (offsets out of order or out of range, an
    /// identity index that is not the stable sort of the labels), or nil when they are: a cached
    /// index is checked before use, so a damaged one can never index out of range.
    /// - Complexity: O(images + identities).
    func inconsistency() -> String? {
        let n = labels.count
        guard n > 0, identityCount > 0 else { return "no images" }
        guard keyStarts.count == n + 1, keyStarts[0] == 0, keyStarts[n] == keyBytes.count else {
            return "key offsets do not cover the key bytes"
        }
        for i in 0..<n where keyStarts[i] > keyStarts[i + 1] { return "key offsets out of order at image \(i)" }
        guard identityStarts.count == identityCount + 1, identityStarts[0] == 0, identityStarts[identityCount] == n,
            imagesByIdentity.count == n
        else { return "identity starts do not cover the images" }
        for y in 0..<identityCount where identityStarts[y] > identityStarts[y + 1] {
            return "identity starts out of order at \(y)"
        }
        guard identityStarts[identityCount - 1] < n else { return "the last label has no image" }
        for y in 0..<identityCount {
            var previous = -1
            for j in identityStarts[y]..<identityStarts[y + 1] {
                let i = Int(imagesByIdentity[j])
                // Ascending images of label y in every group, groups summing to n: a permutation.
                guard i > previous, i < n, labels[i] == Int32(y) else {
                    return "identity \(y) lists image \(i), not one of its own in order"
                }
                previous = i
            }
        }
        return nil
    }
}

/// Size and modification time of a file, as the cache compares them.
struct FileStamp: Equatable {
    var size: UInt64
    /// st_mtim in nanoseconds since 1970.
    var mtimeNanoseconds: Int64

    init(size: UInt64, mtimeNanoseconds: Int64) {
        self.size = size
        self.mtimeNanoseconds = mtimeNanoseconds
    }

    init?(path: String) {
        var s = stat()
        guard stat(path, &s) == 0 else { return nil }
        size = UInt64(s.st_size)
        mtimeNanoseconds = Int64(s.st_mtim.tv_sec) * 1_000_000_000 + Int64(s.st_mtim.tv_nsec)
    }
}

/// Where `FaceDatabase.open` says what it does with a cache: a one-line note (why the index is
/// rebuilt, or that it cannot be written) and the rebuild's progress.
public struct IndexReporter: Sendable {
    public var note: @Sendable (String) -> Void
    public var progress: @Sendable (_ done: Int, _ total: Int) -> Void

    public init(note: @escaping @Sendable (String) -> Void, progress: @escaping @Sendable (Int, Int) -> Void) {
        self.note = note
        self.progress = progress
    }

    /// Notes and a progress bar on stderr (the command-line default; stdout stays clean for
    /// `--json`).
    public static var standardError: IndexReporter {
        let bar = StderrProgressLine(label: "indexing keys")
        return IndexReporter(
            note: { FileHandle.standardError.write(Data(($0 + "\n").utf8)) },
            progress: { bar.update(done: $0, total: $1) })
    }

    public static var silent: IndexReporter { IndexReporter(note: { _ in }, progress: { _, _ in }) }
}

/// `label [██████·····]  45%  450000/1000000`, redrawn at most 5 times a second, ended by a
/// newline when done reaches total. (The console's `LineProgressBar` lives above the engine.)
private final class StderrProgressLine: @unchecked Sendable {
    // @unchecked: `lastDraw` is guarded by `lock`.
    private let label: String
    private let lock = NSLock()
    private var lastDraw = Date.distantPast

    init(label: String) { self.label = label }

    func update(done: Int, total: Int) {
        let now = Date()
        let draw: Bool = lock.withLock {
            guard done >= total || now.timeIntervalSince(lastDraw) >= 0.2 else { return false }
            lastDraw = now
            return true
        }
        guard draw, total > 0 else { return }
        let width = 30
        let filled = min(width, done * width / total)
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let end = done >= total ? "\n" : ""
        let line = "\r\(label) [\(bar)] \(String(format: "%3d", done * 100 / total))%  \(done)/\(total)\(end)"
        FileHandle.standardError.write(Data(line.utf8))
    }
}

/// The cache file: a 128-byte header, then the arrays of a `PartIndex`, little-endian as the
/// host writes them (every supported host is):
///
///     0   magic "FFCINDEX"               56  images            UInt64
///     8   version UInt32 (1)             64  identities        UInt64
///     12  flags UInt32 (1: keys verified) 72  key bytes         UInt64
///     16  LMDB data file size  UInt64    80  payload CRC-32    UInt32
///     24  LMDB data file mtime ns Int64  84  header CRC-32 (bytes 0..<84) UInt32
///     32  kv size   UInt64               88  zero to 128
///     40  kv mtime ns Int64
///     48  kv CRC-32 UInt32, 4 zero bytes
///     128 labels Int32[images] · images by identity UInt32[images] · key starts UInt64[images+1]
///         · identity starts UInt64[identities+1] · key bytes
///
/// CRC-32 is zlib's (`zlib.crc32` in Python): about 2.4 GB/s on this machine's Zen 3 core, so
/// checking a 100 MB kv file costs ~40 ms; it is the fast checksum already linked.
enum IdentityIndexFile {
    static let suffix = ".ffcindex"
    static let magic = Array("FFCINDEX".utf8)
    static let version: UInt32 = 1
    static let headerBytes = 128
    static let keysVerifiedFlag: UInt32 = 1

    /// The header fields that say what the index was built from.
    struct Stamp: Equatable {
        var database: FileStamp
        var kv: FileStamp
        var kvCRC: UInt32
        var keysVerified: Bool
    }

    static func path(forKV kvPath: String) -> String { kvPath + suffix }

    /// zlib's CRC-32 of `bytes`, continuing from `crc`.
    static func crc32(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return crc }
        return UInt32(CZlib.crc32_z(UInt(crc), base.assumingMemoryBound(to: UInt8.self), bytes.count))
    }

    /// CRC-32 of a whole file, read in 1 MiB chunks (read, not mapped: no file pages stay in this
    /// process's RSS); nil when it cannot be read.
    static func crc32(ofFile path: String) -> UInt32? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var crc: UInt32 = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return nil }
            if n == 0 { return crc }
            crc = buffer.withUnsafeBytes { crc32(UnsafeRawBufferPointer(rebasing: $0[0..<n]), continuing: crc) }
        }
    }

    /// The file's bytes: header, then the arrays.
    static func encode(_ index: PartIndex, stamp: Stamp) -> [UInt8] {
        let n = index.imageCount
        var payload: [UInt8] = []
        payload.reserveCapacity(16 * n + 8 * index.identityCount + index.keyBytes.count + 16)
        index.labels.withUnsafeBytes { payload.append(contentsOf: $0) }
        index.imagesByIdentity.withUnsafeBytes { payload.append(contentsOf: $0) }
        index.keyStarts.map { UInt64($0) }.withUnsafeBytes { payload.append(contentsOf: $0) }
        index.identityStarts.map { UInt64($0) }.withUnsafeBytes { payload.append(contentsOf: $0) }
        payload.append(contentsOf: index.keyBytes)
        var header = [UInt8](repeating: 0, count: headerBytes)
        func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value.littleEndian) { header.replaceSubrange(offset..<offset + $0.count, with: $0) }
        }
        header.replaceSubrange(0..<8, with: magic)
        put(version, at: 8)
        put(stamp.keysVerified ? keysVerifiedFlag : 0, at: 12)
        put(stamp.database.size, at: 16)
        put(stamp.database.mtimeNanoseconds, at: 24)
        put(stamp.kv.size, at: 32)
        put(stamp.kv.mtimeNanoseconds, at: 40)
        put(stamp.kvCRC, at: 48)
        put(UInt64(n), at: 56)
        put(UInt64(index.identityCount), at: 64)
        put(UInt64(index.keyBytes.count), at: 72)
        put(payload.withUnsafeBytes { crc32($0) }, at: 80)
        put(header.withUnsafeBytes { crc32(UnsafeRawBufferPointer(rebasing: $0[0..<84])) }, at: 84)
        return header + payload
    }

    /// What a header says, once its magic, version and CRC are right.
    struct Header {
        var stamp: Stamp
        var images: Int
        var identities: Int
        var keyBytes: Int
        var payloadCRC: UInt32

        /// The file size these counts give; nil when it overflows (a damaged header).
        var fileBytes: Int? {
            let parts = [(images, 16), (identities, 8), (keyBytes, 1)]
            var total = headerBytes + 16
            for (count, width) in parts {
                let (product, o1) = count.multipliedReportingOverflow(by: width)
                let (sum, o2) = total.addingReportingOverflow(product)
                guard count >= 0, !o1, !o2 else { return nil }
                total = sum
            }
            return total
        }
    }

    /// Parses a header, or says why it is not one of ours.
    static func header(_ bytes: UnsafeRawBufferPointer) -> Result<Header, IndexInvalid> {
        guard bytes.count >= headerBytes else { return .failure(.truncated(bytes: bytes.count, needed: headerBytes)) }
        func get<T: FixedWidthInteger>(_: T.Type, _ offset: Int) -> T {
            T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        }
        guard Array(bytes[0..<8]) == magic else { return .failure(.notAnIndex) }
        let v = get(UInt32.self, 8)
        guard v == version else { return .failure(.version(found: v)) }
        guard get(UInt32.self, 84) == crc32(UnsafeRawBufferPointer(rebasing: bytes[0..<84])) else {
            return .failure(.headerChecksum)
        }
        return .success(
            Header(
                stamp: Stamp(
                    database: FileStamp(size: get(UInt64.self, 16), mtimeNanoseconds: get(Int64.self, 24)),
                    kv: FileStamp(size: get(UInt64.self, 32), mtimeNanoseconds: get(Int64.self, 40)),
                    kvCRC: get(UInt32.self, 48), keysVerified: get(UInt32.self, 12) & keysVerifiedFlag != 0),
                images: Int(truncatingIfNeeded: get(UInt64.self, 56)),
                identities: Int(truncatingIfNeeded: get(UInt64.self, 64)),
                keyBytes: Int(truncatingIfNeeded: get(UInt64.self, 72)), payloadCRC: get(UInt32.self, 80)))
    }

    /// Reads `path` section by section straight into the arrays (one `pread` each, no copy and
    /// no mapping) and checks it against `expected`: the stamp, the payload CRC, the file size and
    /// the arrays' consistency. `kvCRC` is computed only once the cheap fields match.
    static func read(
        path: String, database: FileStamp, kv: FileStamp, requireVerifiedKeys: Bool, kvCRC: () -> UInt32?
    ) -> Result<PartIndex, IndexInvalid> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(errno == ENOENT ? .missing : .unreadable(errno: errno)) }
        defer { close(fd) }
        var s = stat()
        guard fstat(fd, &s) == 0 else { return .failure(.unreadable(errno: errno)) }
        var headerBuffer = [UInt8](repeating: 0, count: headerBytes)
        let got = headerBuffer.withUnsafeMutableBytes { preadFully(fd, $0, at: 0) }
        let h: Header
        switch headerBuffer.withUnsafeBytes({ header(UnsafeRawBufferPointer(rebasing: $0[0..<got])) }) {
        case .success(let parsed): h = parsed
        case .failure(let why): return .failure(why)
        }
        var changed: [String] = []
        if h.stamp.database.size != database.size { changed.append("database size") }
        if h.stamp.database.mtimeNanoseconds != database.mtimeNanoseconds { changed.append("database mtime") }
        if h.stamp.kv.size != kv.size { changed.append("kv size") }
        if h.stamp.kv.mtimeNanoseconds != kv.mtimeNanoseconds { changed.append("kv mtime") }
        guard changed.isEmpty else { return .failure(.stale(fields: changed)) }
        guard !requireVerifiedKeys || h.stamp.keysVerified else { return .failure(.keysNotVerified) }
        guard let size = h.fileBytes, size == Int(s.st_size), h.images > 0, h.identities > 0 else {
            return .failure(.truncated(bytes: Int(s.st_size), needed: h.fileBytes ?? -1))
        }
        guard let crc = kvCRC() else { return .failure(.unreadable(errno: errno)) }
        guard crc == h.stamp.kvCRC else { return .failure(.stale(fields: ["kv checksum"])) }

        var offset = headerBytes
        var payloadCRC: UInt32 = 0
        var short = false
        func section<T>(_: T.Type, _ count: Int, _ fill: T) -> [T] {
            var array = [T](repeating: fill, count: count)
            array.withUnsafeMutableBytes { raw in
                if preadFully(fd, raw, at: offset) != raw.count { short = true }
                payloadCRC = crc32(UnsafeRawBufferPointer(raw), continuing: payloadCRC)
                offset += raw.count
            }
            return array
        }
        let labels = section(Int32.self, h.images, 0)
        let byIdentity = section(UInt32.self, h.images, 0)
        let keyStarts = section(Int.self, h.images + 1, 0)
        let identityStarts = section(Int.self, h.identities + 1, 0)
        let keyBytes = section(UInt8.self, h.keyBytes, 0)
        guard !short else { return .failure(.truncated(bytes: Int(s.st_size), needed: size)) }
        guard payloadCRC == h.payloadCRC else { return .failure(.payloadChecksum) }
        let index = PartIndex(
            keyBytes: keyBytes, keyStarts: keyStarts, labels: labels, identityCount: h.identities,
            identityStarts: identityStarts, imagesByIdentity: byIdentity)
        if let why = index.inconsistency() { return .failure(.inconsistent(why)) }
        return .success(index)
    }

    /// Reads up to `buffer.count` bytes at `offset`; returns how many it got.
    private static func preadFully(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            done += n
        }
        return done
    }
}

/// Why a cached index was not used; the note `FaceDatabase.open` prints names it.
enum IndexInvalid: Error, Equatable, CustomStringConvertible {
    case missing
    case unreadable(errno: Int32)
    case notAnIndex
    case version(found: UInt32)
    case headerChecksum
    case truncated(bytes: Int, needed: Int)
    case stale(fields: [String])
    case keysNotVerified
    case payloadChecksum
    case inconsistent(String)

    var description: String {
        switch self {
        case .missing: return "no index yet"
        case .unreadable(let e): return "unreadable (\(String(cString: strerror(e))))"
        case .notAnIndex: return "not an index file (bad magic)"
        case .version(let v): return "format version \(v), this build writes \(IdentityIndexFile.version)"
        case .headerChecksum: return "corrupt (header checksum mismatch)"
        case .truncated(let bytes, let needed):
            return needed < 0 ? "corrupt (impossible counts)" : "truncated (\(bytes) bytes, its header says \(needed))"
        case .stale(let fields): return "stale (\(fields.joined(separator: ", ")) changed)"
        case .keysNotVerified: return "built without checking keys against the database"
        case .payloadChecksum: return "corrupt (payload checksum mismatch)"
        case .inconsistent(let why): return "corrupt (\(why))"
        }
    }
}
