// Evaluation: pair lists for verification, in the three forms users have them.
//   index  `i j same`            rows of an embeddings matrix (same: 1/0, true/false, same/diff)
//   keys   `keyA keyB same`      database keys (what `ffc synth` writes) or image paths
//   lfw    LFW's pairs.txt       optional header `folds n`, then `name n1 n2` (same person)
//                                and `name1 n1 name2 n2` (different), images at
//                                root/name/name_0001.jpg
// Every pair keeps its line number so a bad line or a missing image is reported where it is.
import Foundation

public enum PairListError: Error, CustomStringConvertible, Equatable {
    case cannotRead(path: String)
    case badLine(path: String, line: Int, text: String, expected: String)
    case unknownKey(path: String, line: Int, key: String)
    case missingImage(path: String, line: Int, image: String)
    case empty(path: String)

    public var description: String {
        switch self {
        case .cannotRead(let path): return "\(path): cannot read the pairs file"
        case .badLine(let path, let line, let text, let expected):
            return "\(path):\(line): '\(text)' is not \(expected)"
        case .unknownKey(let path, let line, let key): return "\(path):\(line): key '\(key)' is not in the key list"
        case .missingImage(let path, let line, let image): return "\(path):\(line): image '\(image)' does not exist"
        case .empty(let path): return "\(path): no pairs"
        }
    }
}

/// A parsed pairs file: each pair's two items as written, with its label and line.
public struct PairList: Sendable {
    public enum Format: String, Sendable, CaseIterable {
        case index, keys, lfw
    }

    public struct Entry: Sendable, Equatable {
        /// Row numbers (index), keys (keys) or image paths relative to the root (lfw).
        public var first: String
        public var second: String
        public var same: Bool
        public var line: Int
    }

    public var path: String
    public var format: Format
    public var entries: [Entry]

    /// Reads a pairs file. With `format` nil the form is detected from its first data line:
    /// four fields or a two-number header line → lfw; three numbers → index; else keys.
    public static func read(path: String, format: Format? = nil) throws -> PairList {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw PairListError.cannotRead(path: path)
        }
        return try parse(text: text, path: path, format: format)
    }

    /// Parses a pairs file's text; `path` only labels errors (the fuzz harness calls this).
    public static func parse(text: String, path: String, format: Format? = nil) throws -> PairList {
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated().compactMap {
            (i, l) -> (Int, [Substring])? in
            let fields = l.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            return fields.isEmpty || fields[0].hasPrefix("#") ? nil : (i + 1, fields)
        }
        guard let first = lines.first else { throw PairListError.empty(path: path) }
        let fmt = format ?? detect(first.1)
        var entries: [Entry] = []
        for (n, f) in lines {
            let text = f.joined(separator: " ")
            switch fmt {
            case .index:
                guard f.count == 3, Int(f[0]) != nil, Int(f[1]) != nil, let s = parseSame(f[2]) else {
                    throw PairListError.badLine(path: path, line: n, text: text, expected: "'i j same'")
                }
                entries.append(Entry(first: String(f[0]), second: String(f[1]), same: s, line: n))
            case .keys:
                guard f.count == 3, let s = parseSame(f[2]) else {
                    throw PairListError.badLine(path: path, line: n, text: text, expected: "'keyA keyB same'")
                }
                entries.append(Entry(first: String(f[0]), second: String(f[1]), same: s, line: n))
            case .lfw:
                if n == first.0 && f.count == 2 && f.allSatisfy({ Int($0) != nil }) { continue }
                if f.count == 3, let a = Int(f[1]), let b = Int(f[2]) {
                    entries.append(Entry(first: lfwImage(f[0], a), second: lfwImage(f[0], b), same: true, line: n))
                } else if f.count == 4, let a = Int(f[1]), let b = Int(f[3]) {
                    entries.append(Entry(first: lfwImage(f[0], a), second: lfwImage(f[2], b), same: false, line: n))
                } else {
                    throw PairListError.badLine(
                        path: path, line: n, text: text, expected: "'name n1 n2' or 'name1 n1 name2 n2'")
                }
            }
        }
        guard !entries.isEmpty else { throw PairListError.empty(path: path) }
        return PairList(path: path, format: fmt, entries: entries)
    }

    /// Pairs of embedding rows for an `index` file.
    public func indexPairs() throws -> [VerificationPair] {
        try entries.map { e in
            guard let a = Int(e.first), let b = Int(e.second) else {
                throw PairListError.badLine(
                    path: path, line: e.line, text: "\(e.first) \(e.second)", expected: "'i j same' (row numbers)")
            }
            return VerificationPair(a, b, same: e.same)
        }
    }

    /// Pairs of rows of an embeddings matrix whose row r belongs to `keys[r]`.
    public func keyPairs(keys: [String]) throws -> [VerificationPair] {
        var row: [String: Int] = [:]
        for (r, k) in keys.enumerated() where row[k] == nil { row[k] = r }
        return try entries.map { e in
            guard let a = row[e.first] else { throw PairListError.unknownKey(path: path, line: e.line, key: e.first) }
            guard let b = row[e.second] else { throw PairListError.unknownKey(path: path, line: e.line, key: e.second) }
            return VerificationPair(a, b, same: e.same)
        }
    }

    /// The distinct images the pairs name, as paths under `root` (checked to exist), and the
    /// pairs as indices into that list, for an image folder (lfw, or keys that are paths).
    public func imagePairs(root: String) throws -> (images: [String], pairs: [VerificationPair]) {
        var images: [String] = []
        var index: [String: Int] = [:]
        var pairs: [VerificationPair] = []
        for e in entries {
            var rows: [Int] = []
            for name in [e.first, e.second] {
                if let r = index[name] {
                    rows.append(r)
                    continue
                }
                let full = (root as NSString).appendingPathComponent(name)
                guard FileManager.default.fileExists(atPath: full) else {
                    throw PairListError.missingImage(path: path, line: e.line, image: full)
                }
                index[name] = images.count
                rows.append(images.count)
                images.append(full)
            }
            pairs.append(VerificationPair(rows[0], rows[1], same: e.same))
        }
        return (images, pairs)
    }

    static func detect(_ fields: [Substring]) -> Format {
        if fields.count == 4 || (fields.count == 2 && fields.allSatisfy { Int($0) != nil }) { return .lfw }
        if fields.count == 3, Int(fields[0]) != nil, Int(fields[1]) != nil { return .index }
        if fields.count == 3, Int(fields[1]) != nil, Int(fields[2]) != nil { return .lfw }
        return .keys
    }

    static func parseSame(_ s: Substring) -> Bool? {
        switch s.lowercased() {
        case "1", "true", "same", "yes": return true
        case "0", "false", "diff", "different", "no", "-1": return false
        default: return nil
        }
    }

    /// LFW's layout: `name/name_0001.jpg`.
    static func lfwImage(_ name: Substring, _ number: Int) -> String {
        let digits = String(number)
        return "\(name)/\(name)_\(String(repeating: "0", count: max(0, 4 - digits.count)))\(digits).jpg"
    }
}
