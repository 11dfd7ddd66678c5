// The off-screen canvas every widget, panel and overlay draws into. Unit tests read it as text;
// the terminal layer copies it to curses. One cell holds one single-width character.

/// A 24-bit colour.
public struct RGB: Hashable, Sendable {
    public var r: UInt8
    public var g: UInt8
    public var b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }
}

/// Colours of a half-block picture cell: '▀' drawn with `top` as foreground and `bottom` as background.
public struct PictureColours: Hashable, Sendable {
    public var top: RGB
    public var bottom: RGB
}

/// One character cell.
public struct Cell: Equatable, Sendable {
    public var glyph: Unicode.Scalar
    public var role: StyleRole
    /// Set only for picture cells, which carry their own colours instead of a theme role.
    public var picture: PictureColours?
    public static let blank = Cell(glyph: " ", role: .text, picture: nil)
}

/// A width × height grid of cells; writes outside the grid are dropped (clipping).
public struct CellCanvas: Equatable, Sendable {
    public private(set) var width: Int
    public private(set) var height: Int
    /// Row-major, (height, width).
    private var cells: [Cell]

    public init(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: .blank, count: self.width * self.height)
    }

    public var bounds: Rect { Rect(x: 0, y: 0, width: width, height: height) }

    /// - Complexity: O(1)
    public subscript(x: Int, y: Int) -> Cell {
        get { contains(x: x, y: y) ? cells[y * width + x] : .blank }
        set { if contains(x: x, y: y) { cells[y * width + x] = newValue } }
    }

    public func contains(x: Int, y: Int) -> Bool { x >= 0 && y >= 0 && x < width && y < height }

    public mutating func put(_ glyph: Unicode.Scalar, x: Int, y: Int, role: StyleRole) {
        self[x, y] = Cell(glyph: glyph, role: role, picture: nil)
    }

    /// Writes `string` from (x, y), at most `maxWidth` cells; returns the number of cells written.
    /// Control characters become spaces so a message can never move the cursor.
    @discardableResult
    public mutating func text(_ string: String, x: Int, y: Int, role: StyleRole, maxWidth: Int = .max) -> Int {
        var column = 0
        for scalar in string.unicodeScalars {
            if column >= maxWidth { break }
            put(scalar.value < 0x20 ? " " : scalar, x: x + column, y: y, role: role)
            column += 1
        }
        return column
    }

    public mutating func fill(_ rect: Rect, glyph: Unicode.Scalar = " ", role: StyleRole = .text) {
        for y in rect.y..<rect.maxY {
            for x in rect.x..<rect.maxX { put(glyph, x: x, y: y, role: role) }
        }
    }

    /// Row `y` as a string, trailing spaces kept (fixed width).
    public func line(_ y: Int) -> String {
        var s = String.UnicodeScalarView()
        for x in 0..<width { s.append(self[x, y].glyph) }
        return String(s)
    }

    /// The whole canvas as text, one line per row.
    public var text: String { (0..<height).map(line).joined(separator: "\n") }

    /// Whether any cell's text contains `needle` (searching row by row).
    public func contains(_ needle: String) -> Bool {
        (0..<height).contains { line($0).contains(needle) }
    }
}

extension CellCanvas {
    /// Writes coloured pieces one after another from (x, y), clipped to `maxWidth`; returns the width used.
    @discardableResult
    public mutating func segments(_ parts: [(String, StyleRole)], x: Int, y: Int, maxWidth: Int) -> Int {
        var used = 0
        for (text, role) in parts where used < maxWidth {
            used += self.text(text, x: x + used, y: y, role: role, maxWidth: maxWidth - used)
        }
        return used
    }
}
