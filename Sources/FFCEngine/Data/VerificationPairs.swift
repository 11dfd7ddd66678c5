// Data/VerificationPairs: the pairs file `ffc synth --pairs` writes beside a held-out
// database — one `keyA keyB same` line per pair (same = 1 or 0) — read for evaluation.
import Foundation

public struct VerificationPairs: Sendable, Equatable {
    public struct Pair: Sendable, Equatable {
        public var first: String
        public var second: String
        public var same: Bool
    }
    public var pairs: [Pair]

    /// Reads `path`; a malformed line is reported with its file and line number.
    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FaceDatabaseError.missingKVFile(path: path, database: "(verification pairs)")
        }
        pairs = []
        for (n, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .enumerated()
        {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if fields.isEmpty { continue }
            guard fields.count == 3, fields[2] == "0" || fields[2] == "1" else {
                throw FaceDatabaseError.malformedKVLine(file: path, line: n + 1, text: String(line))
            }
            pairs.append(Pair(first: String(fields[0]), second: String(fields[1]), same: fields[2] == "1"))
        }
    }

    /// The pairs as image indices of `database` (which must hold every key).
    /// - Complexity: O(images + pairs), building one key → index table.
    public func imageIndices(in database: FaceDatabase) throws -> [(first: Int, second: Int, same: Bool)] {
        var index: [String: Int] = [:]
        index.reserveCapacity(database.imageCount)
        for i in 0..<database.imageCount { index[database.key(ofImage: i)] = i }
        return try pairs.map { pair in
            guard let a = index[pair.first] else {
                throw FaceDatabaseError.keyNotInDatabase(
                    key: pair.first, kvFile: database.parts[0].kvPath, line: 0, database: database.parts[0].path)
            }
            guard let b = index[pair.second] else {
                throw FaceDatabaseError.keyNotInDatabase(
                    key: pair.second, kvFile: database.parts[0].kvPath, line: 0, database: database.parts[0].path)
            }
            return (a, b, pair.same)
        }
    }
}
