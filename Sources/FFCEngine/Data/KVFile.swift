// Data/KVFile: the text file beside each LMDB that lists its images, one `key label` per line
// (labels 0-based per database), as the original FFC writes it.
import Foundation

/// The parsed lines of one kv file: keys packed into one byte array plus offsets.
public struct KVFile: Sendable {
    public let path: String
    /// UTF-8 bytes of all keys, back to back.
    public var keyBytes: [UInt8] = []
    /// Start of key i in `keyBytes`; count + 1 entries.
    public var keyStarts: [Int] = [0]
    public var labels: [Int32] = []
    /// 1-based line number of entry i, for errors.
    public var lines: [Int32] = []

    public var count: Int { labels.count }

    /// Parses `path`. Blank lines are ignored; anything else must be `key label`.
    /// - Complexity: O(file size).
    public init(path: String) throws(FaceDatabaseError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .missingKVFile(path: path, database: "")
        }
        try self.init(bytes: [UInt8](data), path: path)
    }

    /// Parses a kv file's bytes; `path` only labels errors (the fuzz harness calls this).
    public init(bytes: [UInt8], path: String) throws(FaceDatabaseError) {
        self.path = path
        var lineNumber = 0
        var lineStart = 0
        let n = bytes.count
        while lineStart < n {
            lineNumber += 1
            var lineEnd = lineStart
            while lineEnd < n && bytes[lineEnd] != 0x0A { lineEnd += 1 }
            try parseLine(bytes, lineStart, lineEnd, lineNumber)
            lineStart = lineEnd + 1
        }
    }

    private mutating func parseLine(
        _ raw: [UInt8], _ start: Int, _ end: Int, _ lineNumber: Int
    ) throws(FaceDatabaseError) {
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D }
        var fields: [Range<Int>] = []
        var i = start
        while i < end {
            while i < end && isSpace(raw[i]) { i += 1 }
            if i == end { break }
            let fieldStart = i
            while i < end && !isSpace(raw[i]) { i += 1 }
            fields.append(fieldStart..<i)
        }
        if fields.isEmpty { return }
        let malformed = FaceDatabaseError.malformedKVLine(
            file: path, line: lineNumber,
            text: String(decoding: raw[start..<end], as: UTF8.self))
        guard fields.count == 2 else { throw malformed }
        var label: Int64 = 0
        for j in fields[1] {
            let digit = raw[j] &- 0x30
            guard digit < 10, label < Int64(Int32.max) else { throw malformed }
            label = label * 10 + Int64(digit)
        }
        guard label <= Int64(Int32.max) else { throw malformed }
        keyBytes.append(contentsOf: raw[fields[0]])
        keyStarts.append(keyBytes.count)
        labels.append(Int32(label))
        lines.append(Int32(lineNumber))
    }

    /// Key of entry i.
    public func key(_ i: Int) -> String {
        String(decoding: keyBytes[keyStarts[i]..<keyStarts[i + 1]], as: UTF8.self)
    }
}
