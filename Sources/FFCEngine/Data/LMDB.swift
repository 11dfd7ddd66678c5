// Data/LMDB: the only file that talks to the LMDB C API. A read-only environment for the
// loaders (MDB_NOTLS, because Dispatch workers hop threads) and a writer whose map grows on
// MDB_MAP_FULL, for `ffc synth` and `ffc import`.
import CLMDB
import Foundation

/// An LMDB failure, with the environment path and LMDB's own message.
public struct LMDBError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var operation: String
    public var code: Int32
    public var description: String {
        let message = String(cString: mdb_strerror(code))
        return "LMDB \(operation) failed for \(path): \(message) (code \(code))"
    }
}

@inline(__always)
private func check(_ code: Int32, _ path: String, _ operation: String) throws(LMDBError) {
    if code != 0 { throw LMDBError(path: path, operation: operation, code: code) }
}

/// A read-only LMDB environment shared by all loader workers.
///
/// Each `read` opens its own read transaction, so any thread may call it at any time.
public final class LMDBReader: @unchecked Sendable {
    // @unchecked: the environment handle is immutable after init and LMDB environments are
    // thread-safe for read transactions opened with MDB_NOTLS.
    public let path: String
    private let env: OpaquePointer
    private let dbi: MDB_dbi

    /// Opens `path` (a directory holding data.mdb, or a single file) read-only.
    public init(path: String) throws(LMDBError) {
        self.path = path
        var env: OpaquePointer?
        try check(mdb_env_create(&env), path, "env_create")
        guard let env else { throw LMDBError(path: path, operation: "env_create", code: -1) }
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        var flags = UInt32(MDB_RDONLY) | UInt32(MDB_NOTLS) | UInt32(MDB_NOLOCK)
        if exists && !isDirectory.boolValue { flags |= UInt32(MDB_NOSUBDIR) }
        mdb_env_set_maxreaders(env, 512)
        let opened = mdb_env_open(env, path, flags, 0o444)
        if opened != 0 {
            mdb_env_close(env)
            throw LMDBError(path: path, operation: "open", code: opened)
        }
        var txn: OpaquePointer?
        var dbi: MDB_dbi = 0
        var code = mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn)
        if code == 0 {
            code = mdb_dbi_open(txn, nil, 0, &dbi)
            mdb_txn_abort(txn)
        }
        if code != 0 {
            mdb_env_close(env)
            throw LMDBError(path: path, operation: "dbi_open", code: code)
        }
        self.env = env
        self.dbi = dbi
    }

    deinit { mdb_env_close(env) }

    /// The file holding the records of the environment at `path`: `path/data.mdb` for a
    /// directory, else `path` itself (an MDB_NOSUBDIR environment).
    public static func dataFile(for path: String) -> String {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        return exists && !isDirectory.boolValue ? path : path + "/data.mdb"
    }

    /// Number of records.
    public func count() throws(LMDBError) -> Int {
        var stat = MDB_stat()
        try check(mdb_env_stat(env, &stat), path, "env_stat")
        return Int(stat.ms_entries)
    }

    /// Begins a read transaction; it ends when the returned object is released. Buffers its
    /// `get` returns stay valid while it lives.
    public func beginRead() throws(LMDBError) -> LMDBReadTransaction {
        var txn: OpaquePointer?
        try check(mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn), path, "txn_begin")
        return LMDBReadTransaction(txn: txn!, dbi: dbi, path: path, owner: self)
    }
}

/// A live read transaction, aborted (LMDB's way to end a reader) on release.
/// Use from one thread at a time.
public final class LMDBReadTransaction {
    private let txn: OpaquePointer
    private let dbi: MDB_dbi
    private let path: String
    private let owner: LMDBReader  // keeps the environment open while the transaction lives

    fileprivate init(txn: OpaquePointer, dbi: MDB_dbi, path: String, owner: LMDBReader) {
        self.txn = txn
        self.dbi = dbi
        self.path = path
        self.owner = owner
    }

    deinit { mdb_txn_abort(txn) }

    /// The value stored under `key`, or nil when the key is absent. Memory-mapped, not copied.
    /// - Complexity: O(log n) B-tree lookup.
    public func get(_ key: String) throws(LMDBError) -> UnsafeRawBufferPointer? {
        var utf8 = Array(key.utf8)
        var value = MDB_val()
        let code = utf8.withUnsafeMutableBytes { k in
            var keyVal = MDB_val(mv_size: k.count, mv_data: k.baseAddress)
            return mdb_get(txn, dbi, &keyVal, &value)
        }
        if code == MDB_NOTFOUND { return nil }
        try check(code, path, "get")
        return UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size)
    }

    /// The value stored under the key `bytes`, as `get(_:)`, without building a String.
    /// - Complexity: O(log n) B-tree lookup.
    public func get(bytes key: UnsafeRawBufferPointer) throws(LMDBError) -> UnsafeRawBufferPointer? {
        var value = MDB_val()
        var keyVal = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        let code = mdb_get(txn, dbi, &keyVal, &value)
        if code == MDB_NOTFOUND { return nil }
        try check(code, path, "get")
        return UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size)
    }

    /// Calls `body` with every key and value in key order.
    public func forEach(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void) throws {
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(txn, dbi, &cursor), path, "cursor_open")
        defer { mdb_cursor_close(cursor) }
        var key = MDB_val()
        var value = MDB_val()
        var op = MDB_FIRST
        while true {
            let code = mdb_cursor_get(cursor, &key, &value, op)
            if code == MDB_NOTFOUND { return }
            try check(code, path, "cursor_get")
            try body(
                UnsafeRawBufferPointer(start: key.mv_data, count: key.mv_size),
                UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size))
            op = MDB_NEXT
        }
    }
}

/// Writes records into a new or existing LMDB environment, growing the map on MDB_MAP_FULL.
///
/// Puts are grouped into transactions of `recordsPerCommit`. The writer keeps the pending
/// records of the open transaction so that, when the map fills (at put *or* commit — a failed
/// commit has already freed the transaction), it can grow the map and replay them.
/// Use from one thread only: an LMDB write transaction belongs to the thread that began it.
public final class LMDBWriter {
    public let path: String
    public let recordsPerCommit: Int
    private let env: OpaquePointer
    private var dbi: MDB_dbi = 0
    private var txn: OpaquePointer?
    private var pending: [(key: [UInt8], value: [UInt8])] = []
    public private(set) var mapSizeBytes: Int
    public private(set) var recordsWritten = 0

    /// Creates the directory `path` if needed and opens it for writing.
    public init(path: String, initialMapSizeBytes: Int = 64 << 20, recordsPerCommit: Int = 512)
        throws(LMDBError)
    {
        self.path = path
        self.recordsPerCommit = recordsPerCommit
        self.mapSizeBytes = initialMapSizeBytes
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        var env: OpaquePointer?
        try check(mdb_env_create(&env), path, "env_create")
        self.env = env!
        let code0 = mdb_env_set_mapsize(self.env, initialMapSizeBytes)
        let code = code0 != 0 ? code0 : mdb_env_open(self.env, path, UInt32(MDB_NOTLS), 0o644)
        if code != 0 {
            mdb_env_close(self.env)
            throw LMDBError(path: path, operation: "open for writing", code: code)
        }
        var info = MDB_envinfo()
        mdb_env_info(self.env, &info)
        mapSizeBytes = max(mapSizeBytes, info.me_mapsize)
    }

    deinit {
        if txn != nil { mdb_txn_abort(txn) }
        mdb_env_close(env)
    }

    /// Stores `value` under `key` (replacing an older value). Commits every `recordsPerCommit`.
    public func put(key: String, value: [UInt8]) throws(LMDBError) {
        pending.append((Array(key.utf8), value))
        if txn == nil { try begin() }
        let code = apply(pending[pending.count - 1])
        if code == MDB_MAP_FULL {
            mdb_txn_abort(txn)
            txn = nil
            try growAndReplay()
        } else {
            try check(code, path, "put")
        }
        if pending.count >= recordsPerCommit { try commit() }
    }

    /// Commits the open transaction, growing the map and replaying if it is full.
    public func commit() throws(LMDBError) {
        guard txn != nil else { return }
        let code = mdb_txn_commit(txn)
        txn = nil  // commit frees the transaction whether or not it succeeded
        if code == MDB_MAP_FULL {
            try growAndReplay()
            return try commit()
        }
        try check(code, path, "commit")
        recordsWritten += pending.count
        pending.removeAll(keepingCapacity: true)
    }

    /// Commits what is pending and flushes to disk.
    public func close() throws(LMDBError) {
        try commit()
        try check(mdb_env_sync(env, 1), path, "sync")
    }

    private func begin() throws(LMDBError) {
        try check(mdb_txn_begin(env, nil, 0, &txn), path, "txn_begin")
        try check(mdb_dbi_open(txn, nil, 0, &dbi), path, "dbi_open")
    }

    private func apply(_ record: (key: [UInt8], value: [UInt8])) -> Int32 {
        var key = record.key
        var value = record.value
        return key.withUnsafeMutableBytes { k in
            value.withUnsafeMutableBytes { v in
                var keyVal = MDB_val(mv_size: k.count, mv_data: k.baseAddress)
                var valueVal = MDB_val(mv_size: v.count, mv_data: v.baseAddress)
                return mdb_put(txn, dbi, &keyVal, &valueVal, 0)
            }
        }
    }

    /// Doubles the map (legal only with no open transaction) and replays the pending records.
    private func growAndReplay() throws(LMDBError) {
        while true {
            mapSizeBytes *= 2
            try check(mdb_env_set_mapsize(env, mapSizeBytes), path, "set_mapsize")
            try begin()
            var full = false
            for record in pending {
                let code = apply(record)
                if code == MDB_MAP_FULL {
                    full = true
                    break
                }
                try check(code, path, "put")
            }
            if !full { return }
            mdb_txn_abort(txn)
            txn = nil
        }
    }
}
