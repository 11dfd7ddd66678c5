// Data: training databases in the original FFC's format (LMDB of protobuf `Datum`-wrapped JPEG
// or PNG images plus a `key label` kv file), their decoding and augmentation, the procedural
// identities of `ffc synth`, the folder importer, and the dual (instance + identity) loaders.
// This file owns the errors a user sees when a database or its kv file is wrong.

/// What is wrong with a training database, with what a user needs to fix it.
public enum FaceDatabaseError: Error, Equatable, CustomStringConvertible {
    case missingDatabase(path: String)
    case missingKVFile(path: String, database: String)
    case malformedKVLine(file: String, line: Int, text: String)
    case keyNotInDatabase(key: String, kvFile: String, line: Int, database: String)
    case emptyDatabase(path: String)
    case countMismatch(databases: Int, kvFiles: Int)
    case tooManySkippedRecords(skipped: Int, limit: Int, lastKey: String, reason: String)

    public var description: String {
        switch self {
        case .missingDatabase(let path):
            return "training database \(path) does not exist"
        case .missingKVFile(let path, let database):
            return "kv file \(path) for database \(database) does not exist (give it with --kv FILE)"
        case .malformedKVLine(let file, let line, let text):
            return "\(file):\(line): expected `key label` (label a non-negative integer), got \"\(text)\""
        case .keyNotInDatabase(let key, let kvFile, let line, let database):
            return "\(kvFile):\(line): key \"\(key)\" is not in \(database)"
        case .emptyDatabase(let path):
            return "training database \(path) has no images in its kv file"
        case .countMismatch(let databases, let kvFiles):
            return "\(databases) databases but \(kvFiles) kv files were given"
        case .tooManySkippedRecords(let skipped, let limit, let lastKey, let reason):
            return "\(skipped) undecodable records (limit \(limit)); last: \(lastKey): \(reason)"
        }
    }
}
