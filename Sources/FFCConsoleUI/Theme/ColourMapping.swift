// Colour degradation: 24-bit theme colours to the xterm 256-colour palette, to the 16 ANSI
// colours, or to none (monochrome, attributes only).

/// How many colours the terminal can show.
public enum ColourDepth: String, Sendable, CaseIterable {
    case palette256, ansi16, ansi8, mono

    /// From curses' COLORS (and whether the terminal has colours at all).
    static func from(colours: Int, hasColours: Bool) -> ColourDepth {
        guard hasColours else { return .mono }
        if colours >= 256 { return .palette256 }
        if colours >= 16 { return .ansi16 }
        if colours >= 8 { return .ansi8 }
        return .mono
    }
}

enum ColourMapping {
    private static let cubeLevels: [Int] = [0, 95, 135, 175, 215, 255]

    /// The standard xterm values of the 16 ANSI colours.
    static let ansi: [RGB] = [
        RGB(0, 0, 0), RGB(205, 0, 0), RGB(0, 205, 0), RGB(205, 205, 0), RGB(0, 0, 238), RGB(205, 0, 205),
        RGB(0, 205, 205), RGB(229, 229, 229), RGB(127, 127, 127), RGB(255, 0, 0), RGB(0, 255, 0),
        RGB(255, 255, 0), RGB(92, 92, 255), RGB(255, 0, 255), RGB(0, 255, 255), RGB(255, 255, 255),
    ]

    private static func distance(_ a: RGB, _ b: RGB) -> Int {
        let dr = Int(a.r) - Int(b.r)
        let dg = Int(a.g) - Int(b.g)
        let db = Int(a.b) - Int(b.b)
        return dr * dr + dg * dg + db * db
    }

    private static func nearestLevel(_ v: UInt8) -> Int {
        (0..<6).min { abs(cubeLevels[$0] - Int(v)) < abs(cubeLevels[$1] - Int(v)) }!
    }

    /// Nearest of the 6×6×6 cube (16…231) and the grey ramp (232…255).
    static func index256(_ c: RGB) -> Int {
        let (ri, gi, bi) = (nearestLevel(c.r), nearestLevel(c.g), nearestLevel(c.b))
        let cube = RGB(UInt8(cubeLevels[ri]), UInt8(cubeLevels[gi]), UInt8(cubeLevels[bi]))
        let mean = (Int(c.r) + Int(c.g) + Int(c.b)) / 3
        let greyStep = min(23, max(0, (mean - 8 + 5) / 10))
        let grey = UInt8(8 + 10 * greyStep)
        return distance(c, RGB(grey, grey, grey)) < distance(c, cube) ? 232 + greyStep : 16 + 36 * ri + 6 * gi + bi
    }

    /// Nearest of the first `count` ANSI colours (16, or 8 on old terminals).
    static func indexANSI(_ c: RGB, count: Int = 16) -> Int {
        (0..<count).min { distance(c, ansi[$0]) < distance(c, ansi[$1]) }!
    }

    /// The curses colour number for `c` at `depth` (nil in monochrome).
    static func index(_ c: RGB, depth: ColourDepth) -> Int? {
        switch depth {
        case .palette256: index256(c)
        case .ansi16: indexANSI(c)
        case .ansi8: indexANSI(c, count: 8)
        case .mono: nil
        }
    }
}
