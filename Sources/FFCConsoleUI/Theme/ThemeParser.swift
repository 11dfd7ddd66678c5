// Parsing theme files: `key = #rrggbb` lines, `name = Text`, blank lines and `#` comment lines.

/// A theme file problem, with what a user needs to fix it.
public enum ThemeError: Error, Equatable, CustomStringConvertible {
    case notFound(name: String, searched: [String])
    case unreadable(path: String)
    case badLine(path: String, line: Int, text: String, reason: String)

    public var description: String {
        switch self {
        case .notFound(let name, let searched):
            "theme '\(name)' not found (looked in \(searched.joined(separator: ", ")))"
        case .unreadable(let path):
            "theme file \(path) cannot be read"
        case .badLine(let path, let line, let text, let reason):
            "theme file \(path) line \(line): \(reason): \"\(text)\""
        }
    }
}

enum ThemeParser {
    /// Parses a theme file's text; `path` only labels errors. The name defaults to `fallbackName`.
    static func parse(_ text: String, path: String, fallbackName: String) throws(ThemeError) -> Theme {
        var name = fallbackName
        var colours: [String: RGB] = [:]
        let known = Set(Theme.keys)
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            func fail(_ reason: String) -> ThemeError {
                .badLine(path: path, line: index + 1, text: String(line), reason: reason)
            }
            guard let eq = line.firstIndex(of: "=") else { throw fail("expected 'key = #rrggbb'") }
            let key = line[..<eq].trimmingWhitespace()
            let value = line[line.index(after: eq)...].trimmingWhitespace()
            if key == "name" {
                guard !value.isEmpty else { throw fail("empty name") }
                name = String(value)
                continue
            }
            guard known.contains(String(key)) else { throw fail("unknown key '\(key)'") }
            guard let colour = parseColour(value) else { throw fail("colour must be #rrggbb, got '\(value)'") }
            colours[String(key)] = colour
        }
        return Theme(name: name, colours: colours)
    }

    static func parseColour(_ text: Substring) -> RGB? {
        // Six ASCII hex digits: UInt32(_:radix:) alone would also take "#+12345".
        let digits = text.dropFirst()
        guard text.hasPrefix("#"), digits.count == 6, digits.allSatisfy({ $0.isASCII && $0.isHexDigit }),
            let v = UInt32(digits, radix: 16)
        else { return nil }
        return RGB(UInt8(v >> 16), UInt8((v >> 8) & 0xff), UInt8(v & 0xff))
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var s = self
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return s
    }
}
