// Tests for the identity index cached beside the kv file: the cached open gives the same
// database as parsing the kv, each stamp field (database size and mtime, kv size, mtime and
// checksum) makes it stale, a damaged file is rebuilt and never trusted, a read-only directory
// costs only the cache, and a cached open maps no image pages of the LMDB.
import Foundation
import Testing

@testable import FFCEngine

@Suite struct IdentityIndexTests {
    /// Notes the open printed, in order.
    final class Notes: @unchecked Sendable {
        // @unchecked: `lines` is guarded by `lock`.
        private let lock = NSLock()
        private var lines: [String] = []
        var all: [String] { lock.withLock { lines } }
        var reporter: IndexReporter {
            IndexReporter(note: { line in self.lock.withLock { self.lines.append(line) } }, progress: { _, _ in })
        }
        func take() -> [String] {
            lock.withLock {
                defer { lines = [] }
                return lines
            }
        }
    }

    /// A database of `images` records of `valueBytes` each, labels with a gap and singletons.
    static func makeDatabase(_ dir: String, images: Int = 200, valueBytes: Int = 64) throws -> String {
        let path = dir + "/set.lmdb"
        let records = (0..<images).map { i in
            // Label 3 never appears: a label below the maximum with no images.
            let label = (i * 5) % 7 == 3 ? 11 : (i * 5) % 7
            return (key: "img_\(i)", value: [UInt8](repeating: UInt8(i & 0xFF), count: valueBytes), label: label)
        }
        try writeDatabase(path, records)
        return path
    }

    static func expectSame(_ a: FaceDatabase, _ b: FaceDatabase) {
        #expect(a.imageCount == b.imageCount && a.identityCount == b.identityCount)
        #expect(a.parts == b.parts)
        #expect(a.presentIdentities == b.presentIdentities)
        #expect((0..<a.imageCount).allSatisfy { a.label(ofImage: $0) == b.label(ofImage: $0) })
        #expect((0..<a.imageCount).allSatisfy { a.key(ofImage: $0) == b.key(ofImage: $0) })
        #expect((0..<a.identityCount).allSatisfy { Array(a.images(ofIdentity: $0)) == Array(b.images(ofIdentity: $0)) })
    }

    static func setMtime(_ path: String, nanoseconds: Int64) {
        var times = [
            timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000)),
            timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000)),
        ]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
    }

    @Test func cachedOpenEqualsParsingTheKV() throws {
        let scratch = ScratchDirectory()
        let path = try Self.makeDatabase(scratch.path)
        let kv = FaceDatabase.defaultKVPath(for: path)
        let notes = Notes()
        let parsed = try FaceDatabase.open(paths: [path], cacheIndex: false, reporter: notes.reporter)
        #expect(!FileManager.default.fileExists(atPath: kv + ".ffcindex"))
        let built = try FaceDatabase.open(paths: [path], reporter: notes.reporter)
        #expect(notes.take() == ["\(kv).ffcindex: no index yet; indexing \(kv)"])
        #expect(FileManager.default.fileExists(atPath: kv + ".ffcindex"))
        let cached = try FaceDatabase.open(paths: [path], reporter: notes.reporter)
        #expect(notes.take().isEmpty, "a valid index is used without a word")
        Self.expectSame(parsed, built)
        Self.expectSame(parsed, cached)
        #expect(cached.identityCount == 12 && cached.images(ofIdentity: 3).isEmpty)

        // Several parts, RecordIO among them: the cached LMDB part concatenates as before.
        let mixed = [path, RecordIOFixture.rec, DataFixtures.caffe]
        let mixedParsed = try FaceDatabase.open(paths: mixed, cacheIndex: false, reporter: notes.reporter)
        let mixedCached = try FaceDatabase.open(paths: mixed, reporter: notes.reporter)
        let mixedWarm = try FaceDatabase.open(paths: mixed, reporter: notes.reporter)
        Self.expectSame(mixedParsed, mixedCached)
        Self.expectSame(mixedParsed, mixedWarm)
        #expect(mixedWarm.parts[1].format == .recordIO)
        #expect(!FileManager.default.fileExists(atPath: mixedWarm.parts[1].kvPath + ".ffcindex"))
        let txn = try mixedWarm.beginRead()
        let parsedTxn = try mixedParsed.beginRead()
        for i in [0, mixedWarm.parts[1].firstImage, mixedWarm.parts[2].firstImage, mixedWarm.imageCount - 1] {
            #expect(Array(try txn.record(ofImage: i)!) == Array(try parsedTxn.record(ofImage: i)!))
        }
    }

    @Test func eachStampFieldMakesTheIndexStale() throws {
        let scratch = ScratchDirectory()
        let path = try Self.makeDatabase(scratch.path)
        let kv = FaceDatabase.defaultKVPath(for: path)
        let data = path + "/data.mdb"
        let notes = Notes()
        func reopen() throws -> FaceDatabase {
            _ = notes.take()
            return try FaceDatabase.open(paths: [path], reporter: notes.reporter)
        }
        _ = try reopen()
        // Each change moves one field only: the others are put back as they were.
        let dataStamp = FileStamp(path: data)!
        #expect(truncate(data, off_t(dataStamp.size + 4096)) == 0)
        Self.setMtime(data, nanoseconds: dataStamp.mtimeNanoseconds)
        _ = try reopen()
        #expect(notes.all == ["\(kv).ffcindex: stale (database size changed); indexing \(kv)"])

        Self.setMtime(data, nanoseconds: dataStamp.mtimeNanoseconds + 1)
        _ = try reopen()
        #expect(notes.all.first?.contains("stale (database mtime changed)") == true)

        let kvStamp = FileStamp(path: kv)!
        let text = try String(contentsOfFile: kv, encoding: .utf8)
        try (text + "img_0 0\n").write(toFile: kv, atomically: false, encoding: .utf8)
        Self.setMtime(kv, nanoseconds: kvStamp.mtimeNanoseconds)
        #expect(try reopen().imageCount == 201)
        #expect(notes.all.first?.contains("stale (kv size changed)") == true)

        let grown = FileStamp(path: kv)!
        Self.setMtime(kv, nanoseconds: grown.mtimeNanoseconds + 1_000)
        _ = try reopen()
        #expect(notes.all.first?.contains("stale (kv mtime changed)") == true)

        // Same size, same mtime, one label changed: only the checksum sees it.
        let same = FileStamp(path: kv)!
        let current = try String(contentsOfFile: kv, encoding: .utf8)
        try current.replacingOccurrences(of: "img_1 5\n", with: "img_1 4\n").write(
            toFile: kv, atomically: false, encoding: .utf8)
        Self.setMtime(kv, nanoseconds: same.mtimeNanoseconds)
        #expect(FileStamp(path: kv)! == same)
        let relabelled = try reopen()
        #expect(notes.all == ["\(kv).ffcindex: stale (kv checksum changed); indexing \(kv)"])
        #expect(relabelled.label(ofImage: 1) == 4)
        #expect(try reopen().label(ofImage: 1) == 4 && notes.all.isEmpty)

        // An index built without checking keys is not good enough for an open that checks them.
        try FileManager.default.removeItem(atPath: kv + ".ffcindex")
        _ = try FaceDatabase.open(paths: [path], verifyKeys: false, reporter: notes.reporter)
        _ = try reopen()
        #expect(notes.all.first?.contains("built without checking keys") == true)
    }

    @Test func damagedIndexIsRebuiltNeverTrusted() throws {
        let scratch = ScratchDirectory()
        let path = try Self.makeDatabase(scratch.path)
        let kv = FaceDatabase.defaultKVPath(for: path)
        let indexPath = kv + ".ffcindex"
        let notes = Notes()
        let reference = try FaceDatabase.open(paths: [path], cacheIndex: false, reporter: notes.reporter)
        _ = try FaceDatabase.open(paths: [path], reporter: notes.reporter)
        let good = [UInt8](FileManager.default.contents(atPath: indexPath)!)

        var flipped = good
        flipped[good.count - 3] ^= 0x40  // a key byte
        var header = good
        header[60] ^= 1  // the image count
        var version = good
        version[8] = 9
        let cases: [(bytes: [UInt8], reason: String)] = [
            (Array(good.dropLast(100)), "truncated"),
            (Array(good.prefix(40)), "truncated"),
            (flipped, "corrupt (payload checksum mismatch)"),
            (header, "corrupt (header checksum mismatch)"),
            (version, "format version 9"),
            ([UInt8](repeating: 0x20, count: 300), "not an index file"),
            ([], "truncated"),
        ]
        for c in cases {
            try Data(c.bytes).write(to: URL(fileURLWithPath: indexPath))
            _ = notes.take()
            let db = try FaceDatabase.open(paths: [path], reporter: notes.reporter)
            #expect(notes.all.count == 1 && notes.all[0].contains(c.reason), "\(c.reason): \(notes.all)")
            Self.expectSame(reference, db)
            #expect([UInt8](FileManager.default.contents(atPath: indexPath)!) == good, "rewritten whole")
        }

        // Checksums right but the identity index wrong (a bug, or a crafted file): checked, refused.
        var index = PartIndex(
            keyBytes: [UInt8]("ab".utf8), keyStarts: [0, 1, 2], labels: [0, 1], identityCount: 2)
        index.imagesByIdentity = [1, 0]
        let stamp = IdentityIndexFile.Stamp(
            database: FileStamp(path: path + "/data.mdb")!, kv: FileStamp(path: kv)!,
            kvCRC: IdentityIndexFile.crc32(ofFile: kv)!, keysVerified: true)
        try Data(IdentityIndexFile.encode(index, stamp: stamp)).write(to: URL(fileURLWithPath: indexPath))
        _ = notes.take()
        Self.expectSame(reference, try FaceDatabase.open(paths: [path], reporter: notes.reporter))
        #expect(notes.all.first?.contains("corrupt (identity 0 lists image 1") == true, "\(notes.all)")
    }

    @Test func readOnlyDirectoryKeepsTheIndexInMemory() throws {
        let scratch = ScratchDirectory()
        let dir = scratch.path + "/ro"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = try Self.makeDatabase(dir)
        let kv = FaceDatabase.defaultKVPath(for: path)
        let reference = try FaceDatabase.open(paths: [path], cacheIndex: false, reporter: .silent)
        // chmod alone does not stop root (tests may run as root); the temporary file's name
        // taken by a directory makes the write fail for anyone, through the same code path.
        try FileManager.default.createDirectory(
            atPath: kv + ".ffcindex" + AtomicFile.temporaryInfix + "\(getpid())", withIntermediateDirectories: false)
        #expect(chmod(dir, 0o555) == 0)
        defer { chmod(dir, 0o755) }
        let notes = Notes()
        let db = try FaceDatabase.open(paths: [path], reporter: notes.reporter)
        Self.expectSame(reference, db)
        #expect(notes.all.count == 2)
        #expect(notes.all.last?.contains("cannot write it") == true)
        #expect(notes.all.last?.contains("kept in memory") == true)
        #expect(!FileManager.default.fileExists(atPath: kv + ".ffcindex"))
    }

    /// The LMDB is 2000 records of 600 bytes, all in leaf pages (under LMDB's overflow size):
    /// looking every key up maps the whole file, reading the cached index maps only the pages
    /// `mdb_txn_begin` reads (the two meta pages, plus the kernel's fault-around window).
    @Test func cachedOpenMapsNoImagePages() throws {
        let scratch = ScratchDirectory()
        let path = try Self.makeDatabase(scratch.path, images: 2000, valueBytes: 600)
        let data = path + "/data.mdb"
        let fileBytes = Int(FileStamp(path: data)!.size)
        #expect(fileBytes > 1 << 20)
        do {
            let parsed = try FaceDatabase.open(paths: [path], cacheIndex: false, reporter: .silent)
            let mapped = ResidentMemory.mappedBytes(ofFile: data)
            #expect(mapped > fileBytes / 2, "checking keys maps \(mapped) of \(fileBytes) bytes")
            #expect(parsed.imageCount == 2000)
        }
        #expect(ResidentMemory.mappedBytes(ofFile: data) == 0, "closing the environment unmaps it")
        do { _ = try FaceDatabase.open(paths: [path], reporter: .silent) }
        let cached = try FaceDatabase.open(paths: [path], reporter: .silent)
        let mapped = ResidentMemory.mappedBytes(ofFile: data)
        #expect(mapped <= 128 << 10, "a cached open maps \(mapped) of \(fileBytes) bytes")
        #expect(cached.imageCount == 2000)
        // Reading one image afterwards maps its pages: the measure sees what is touched.
        _ = try cached.beginRead().record(ofImage: 1999)
        #expect(ResidentMemory.mappedBytes(ofFile: data) >= mapped)
    }
}
