// Data/FaceDatabase: one or more FFC-format databases (or insightface RecordIO sets) opened as
// one labelled image set, with the identity → images index the identity loader samples from.
import Foundation

/// Several LMDB + kv databases (or RecordIO `train.rec` + `train.idx` sets) concatenated;
/// database d's labels are offset by the label counts (max label + 1, or a RecordIO set's
/// identity count) of the databases before it, as in the original FFC.
///
/// Memory is flat arrays only: per image its key bytes + 8 (key start) + 4 (label) + 4 (place
/// in the identity index) bytes; per identity 12 bytes (index start, present-identity list).
/// A million identities with ten images of 10-byte keys take about 12 MB + 10M × 26 B ≈ 272 MB.
public final class FaceDatabase: Sendable {
    /// One database of the set.
    public struct Part: Sendable, Equatable {
        public enum Format: String, Sendable, Codable {
            case lmdb
            case recordIO = "rec"
        }
        public var format = Format.lmdb
        /// The LMDB, or the `.rec` file.
        public var path: String
        /// The kv file, or the `.idx` file.
        public var kvPath: String
        public var labelOffset: Int
        public var identityCount: Int
        public var firstImage: Int
        public var imageCount: Int
        /// Records skipped as corrupt while indexing (RecordIO; LMDB records are checked as read).
        public var skippedRecords = 0
    }

    /// Where a part's records come from.
    enum Source: Sendable {
        case lmdb(LMDBReader)
        case recordIO(RecordIOFile)
    }

    public let parts: [Part]
    private let readers: [Source]
    private let keyBytes: [UInt8]
    private let keyStarts: [Int]
    /// Global label of each image (kv order, databases back to back).
    private let labels: [Int32]
    /// Images of identity y are `imagesByIdentity[identityStarts[y]..<identityStarts[y+1]]`.
    private let identityStarts: [Int]
    private let imagesByIdentity: [UInt32]
    /// Identities with at least one image, ascending.
    public let presentIdentities: [UInt32]

    public var imageCount: Int { labels.count }
    /// Label count: every label below it is a class, even one with no images.
    public var identityCount: Int { identityStarts.count - 1 }

    /// The kv file the original FFC names beside `NAME.lmdb`: `NAME_kv.txt`.
    public static func defaultKVPath(for databasePath: String) -> String {
        var base = databasePath
        while base.hasSuffix("/") { base.removeLast() }
        if base.hasSuffix(".lmdb") { base.removeLast(5) }
        return base + "_kv.txt"
    }

    /// Opens databases `paths`, each with the kv file at the same place in `kvPaths` (nil: the
    /// default name beside it). A path ending in `.rec`, or a folder holding `train.rec`, is a
    /// RecordIO set (its `.idx` and `property` beside it; its kv entry is ignored). With `verifyKeys`, every kv key is looked up once (about 1 µs
    /// per key), so a key missing from its LMDB is reported now rather than mid-training.
    ///
    /// With `cacheIndex`, an LMDB part's keys, labels and identity index come from
    /// `KV.ffcindex` beside its kv file when that is still valid (FaceDatabase+Index.swift), and
    /// are rebuilt and rewritten when not, `reporter` saying why and showing progress.
    public static func open(
        paths: [String], kvPaths: [String?] = [], verifyKeys: Bool = true, cacheIndex: Bool = true,
        reporter: IndexReporter = .standardError
    ) throws -> FaceDatabase {
        guard kvPaths.isEmpty || kvPaths.count == paths.count else {
            throw FaceDatabaseError.countMismatch(databases: paths.count, kvFiles: kvPaths.count)
        }
        var parts: [Part] = []
        var readers: [Source] = []
        var indexes: [PartIndex] = []
        var labelOffset = 0
        var imageCount = 0
        for (d, path) in paths.enumerated() {
            if let recPath = RecordIOFile.recordPath(for: path) {
                guard FileManager.default.fileExists(atPath: recPath) else {
                    throw FaceDatabaseError.missingDatabase(path: recPath)
                }
                let set = try RecordIOFile(path: recPath)
                parts.append(
                    Part(
                        format: .recordIO, path: recPath, kvPath: set.indexPath, labelOffset: labelOffset,
                        identityCount: set.identityCount, firstImage: imageCount, imageCount: set.imageCount,
                        skippedRecords: set.skippedRecords))
                var keyBytes: [UInt8] = []
                var keyStarts = [0]
                for key in set.imageKeys {
                    keyBytes.append(contentsOf: String(key).utf8)
                    keyStarts.append(keyBytes.count)
                }
                indexes.append(
                    PartIndex(
                        keyBytes: keyBytes, keyStarts: keyStarts, labels: set.imageLabels,
                        identityCount: set.identityCount))
                labelOffset += set.identityCount
                imageCount += set.imageCount
                readers.append(.recordIO(set))
                continue
            }
            guard FileManager.default.fileExists(atPath: path) else {
                throw FaceDatabaseError.missingDatabase(path: path)
            }
            let kvPath = (kvPaths.isEmpty ? nil : kvPaths[d]) ?? defaultKVPath(for: path)
            guard FileManager.default.fileExists(atPath: kvPath) else {
                throw FaceDatabaseError.missingKVFile(path: kvPath, database: path)
            }
            let reader = try LMDBReader(path: path)
            let index = try lmdbIndex(
                path: path, kvPath: kvPath, reader: reader, verifyKeys: verifyKeys, cacheIndex: cacheIndex,
                reporter: reporter)
            parts.append(
                Part(
                    path: path, kvPath: kvPath, labelOffset: labelOffset, identityCount: index.identityCount,
                    firstImage: imageCount, imageCount: index.imageCount))
            indexes.append(index)
            labelOffset += index.identityCount
            imageCount += index.imageCount
            readers.append(.lmdb(reader))
        }
        return FaceDatabase(parts: parts, readers: readers, indexes: indexes)
    }

    /// Concatenates the parts' indexes: part d's labels offset by `labelOffset`, its images by
    /// `firstImage`, so the identity index is the same stable sort by global label.
    private init(parts: [Part], readers: [Source], indexes: [PartIndex]) {
        self.parts = parts
        self.readers = readers
        if indexes.count == 1 {
            let only = indexes[0]
            keyBytes = only.keyBytes
            keyStarts = only.keyStarts
            labels = only.labels
            identityStarts = only.identityStarts
            imagesByIdentity = only.imagesByIdentity
        } else {
            var keyBytes: [UInt8] = []
            var keyStarts = [0]
            var labels: [Int32] = []
            var identityStarts = [0]
            var imagesByIdentity: [UInt32] = []
            for (part, index) in zip(parts, indexes) {
                let base = keyBytes.count
                keyBytes.append(contentsOf: index.keyBytes)
                keyStarts.append(contentsOf: index.keyStarts.dropFirst().map { $0 + base })
                labels.append(contentsOf: index.labels.map { $0 + Int32(part.labelOffset) })
                identityStarts.append(contentsOf: index.identityStarts.dropFirst().map { $0 + part.firstImage })
                imagesByIdentity.append(contentsOf: index.imagesByIdentity.map { $0 + UInt32(part.firstImage) })
            }
            self.keyBytes = keyBytes
            self.keyStarts = keyStarts
            self.labels = labels
            self.identityStarts = identityStarts
            self.imagesByIdentity = imagesByIdentity
        }
        let starts = identityStarts
        presentIdentities = (0..<(starts.count - 1)).filter { starts[$0 + 1] > starts[$0] }.map { UInt32($0) }
    }

    /// Global label of image i. - Complexity: O(1).
    public func label(ofImage i: Int) -> Int { Int(labels[i]) }

    /// kv key of image i. - Complexity: O(key length).
    public func key(ofImage i: Int) -> String {
        String(decoding: keyBytes[keyStarts[i]..<keyStarts[i + 1]], as: UTF8.self)
    }

    /// Images of identity y, in kv order. - Complexity: O(1).
    public func images(ofIdentity y: Int) -> ArraySlice<UInt32> {
        imagesByIdentity[identityStarts[y]..<identityStarts[y + 1]]
    }

    /// Which part holds image i. - Complexity: O(log parts).
    public func part(ofImage i: Int) -> Int {
        var lo = 0
        var hi = parts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if parts[mid].firstImage <= i { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    /// Width and height of the first readable image among the first few (nil when none reads):
    /// what the run summary compares with the net's input side.
    public func storedImageSize() -> (width: Int, height: Int)? {
        guard let txn = try? beginRead() else { return nil }
        for i in 0..<min(imageCount, 8) {
            if let bytes = try? txn.image(ofImage: i), let h = try? ImageCodec.header(bytes) {
                return (h.width, h.height)
            }
        }
        return nil
    }

    /// Opens one read transaction per part for a batch of lookups.
    public func beginRead() throws -> FaceDatabaseReadTransaction {
        FaceDatabaseReadTransaction(
            database: self,
            transactions: try readers.map {
                switch $0 {
                case .lmdb(let reader): return .lmdb(try reader.beginRead())
                case .recordIO(let set): return .recordIO(set)
                }
            })
    }
}

/// Read transactions on every part of a `FaceDatabase`; one thread at a time.
public struct FaceDatabaseReadTransaction {
    enum Part {
        case lmdb(LMDBReadTransaction)
        case recordIO(RecordIOFile)
    }
    let database: FaceDatabase
    let transactions: [Part]
    /// Where multi-part RecordIO records are reassembled.
    private let scratch = RecordScratch()

    init(database: FaceDatabase, transactions: [Part]) {
        self.database = database
        self.transactions = transactions
    }

    /// The raw record of image i as stored (a protobuf Datum for an LMDB part, the reassembled
    /// IRHeader + image payload for a RecordIO part), valid while this transaction lives and
    /// until its next read, or nil when its key is absent.
    public func record(ofImage i: Int) throws -> UnsafeRawBufferPointer? {
        let p = database.part(ofImage: i)
        switch transactions[p] {
        case .lmdb(let txn): return try txn.get(database.key(ofImage: i))
        case .recordIO(let set):
            return try RecordIOFile.payload(set.file, at: set.imageOffsets[i - database.parts[p].firstImage], scratch)
        }
    }

    /// The encoded image (JPEG or PNG) of image i, valid while this transaction lives and until
    /// its next read, or nil when its key is absent. A malformed record throws (`DatumError`,
    /// `RecordIOError.corruptRecord`): the loaders skip and count it.
    public func image(ofImage i: Int) throws -> UnsafeRawBufferPointer? {
        let p = database.part(ofImage: i)
        switch transactions[p] {
        case .lmdb(let txn):
            guard let record = try txn.get(database.key(ofImage: i)) else { return nil }
            return UnsafeRawBufferPointer(rebasing: record[try Datum.parse(record).image])
        case .recordIO(let set):
            return try set.image(i - database.parts[p].firstImage, scratch: scratch)
        }
    }
}
