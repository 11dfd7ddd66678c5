// Data/FaceDatabase+Index: an LMDB part's index, read from its cache beside the kv file when
// that is valid, else built from the kv (keys checked against the LMDB) and written back
// atomically; a directory that cannot be written only costs the cache.
import Foundation

extension FaceDatabase {
    /// Index writes of this process, one at a time: `AtomicFile` names its temporary file by
    /// process, so two threads opening one database must not write it at once.
    private static let indexWriteLock = NSLock()

    /// The keys, labels and identity index of LMDB `path` with kv `kvPath`.
    static func lmdbIndex(
        path: String, kvPath: String, reader: LMDBReader, verifyKeys: Bool, cacheIndex: Bool,
        reporter: IndexReporter
    ) throws -> PartIndex {
        let indexPath = IdentityIndexFile.path(forKV: kvPath)
        // Stamps are taken before the files are read: a change while indexing leaves a stamp
        // that no longer matches, so the next open rebuilds rather than trusting it.
        let databaseStamp = FileStamp(path: LMDBReader.dataFile(for: path))
        let kvStamp = FileStamp(path: kvPath)
        if cacheIndex, let databaseStamp, let kvStamp {
            let cached = IdentityIndexFile.read(
                path: indexPath, database: databaseStamp, kv: kvStamp, requireVerifiedKeys: verifyKeys,
                kvCRC: { IdentityIndexFile.crc32(ofFile: kvPath) })
            switch cached {
            case .success(let index): return index
            case .failure(let why): reporter.note("\(indexPath): \(why); indexing \(kvPath)")
            }
        }
        guard let data = FileManager.default.contents(atPath: kvPath) else {
            throw FaceDatabaseError.missingKVFile(path: kvPath, database: path)
        }
        let bytes = [UInt8](data)
        let kvCRC = bytes.withUnsafeBytes { IdentityIndexFile.crc32($0) }
        let kv = try KVFile(bytes: bytes, path: kvPath)
        guard kv.count > 0 else { throw FaceDatabaseError.emptyDatabase(path: path) }
        if verifyKeys { try verify(kv, in: reader, database: path, reporter: reporter) }
        let index = PartIndex(
            keyBytes: kv.keyBytes, keyStarts: kv.keyStarts, labels: kv.labels,
            identityCount: Int(kv.labels.max()!) + 1)
        guard cacheIndex, let databaseStamp, let kvStamp else { return index }
        let file = IdentityIndexFile.encode(
            index, stamp: .init(database: databaseStamp, kv: kvStamp, kvCRC: kvCRC, keysVerified: verifyKeys))
        do {
            try indexWriteLock.withLock { try AtomicFile.write(file, to: indexPath) }
        } catch {
            reporter.note("\(indexPath): cannot write it (\(error)); the index is kept in memory for this run")
        }
        return index
    }

    /// Looks every kv key up once, reporting progress every 64 Ki keys.
    private static func verify(_ kv: KVFile, in reader: LMDBReader, database: String, reporter: IndexReporter) throws {
        let txn = try reader.beginRead()
        let every = 1 << 16
        try kv.keyBytes.withUnsafeBytes { keys in
            for i in 0..<kv.count {
                let key = UnsafeRawBufferPointer(rebasing: keys[kv.keyStarts[i]..<kv.keyStarts[i + 1]])
                guard try txn.get(bytes: key) != nil else {
                    throw FaceDatabaseError.keyNotInDatabase(
                        key: kv.key(i), kvFile: kv.path, line: Int(kv.lines[i]), database: database)
                }
                if (i + 1) % every == 0 { reporter.progress(i + 1, kv.count) }
            }
        }
        if kv.count >= every { reporter.progress(kv.count, kv.count) }
    }
}
