// Characters for boxes, gauges and charts, in a Unicode set and an ASCII set for terminals
// (or locales) without UTF-8. Widgets draw only through a GlyphSet, never with literals.

/// How line charts are drawn: braille dots (2×4 per cell), eighth blocks, or ASCII marks.
public enum ChartStyle: String, Sendable, CaseIterable {
    case braille, block, ascii
}

/// The characters widgets use.
public struct GlyphSet: Sendable, Equatable {
    public var topLeft: Unicode.Scalar
    public var topRight: Unicode.Scalar
    public var bottomLeft: Unicode.Scalar
    public var bottomRight: Unicode.Scalar
    public var horizontal: Unicode.Scalar
    public var vertical: Unicode.Scalar
    public var gaugeFull: Unicode.Scalar
    public var gaugeEmpty: Unicode.Scalar
    /// Bar heights from one eighth to full; ASCII has coarser steps.
    public var bars: [Unicode.Scalar]
    public var separator: String
    public var isUnicode: Bool

    public static let unicode = GlyphSet(
        topLeft: "╭", topRight: "╮", bottomLeft: "╰", bottomRight: "╯", horizontal: "─", vertical: "│",
        gaugeFull: "█", gaugeEmpty: "░", bars: ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"],
        separator: "·", isUnicode: true)

    public static let ascii = GlyphSet(
        topLeft: "+", topRight: "+", bottomLeft: "+", bottomRight: "+", horizontal: "-", vertical: "|",
        gaugeFull: "#", gaugeEmpty: ".", bars: ["_", "_", ".", ".", "-", "-", "=", "#"],
        separator: "|", isUnicode: false)
}

/// Everything about the terminal a renderer needs to choose glyphs.
public struct RenderContext: Sendable, Equatable {
    public var glyphs: GlyphSet
    public var chartStyle: ChartStyle
    /// Whether half-block pictures can be shown (a 256-colour or better terminal).
    public var pictures: Bool

    public init(glyphs: GlyphSet, chartStyle: ChartStyle, pictures: Bool) {
        self.glyphs = glyphs
        self.chartStyle = glyphs.isUnicode ? chartStyle : .ascii
        self.pictures = pictures && glyphs.isUnicode
    }

    public static let unicode = RenderContext(glyphs: .unicode, chartStyle: .braille, pictures: true)
    public static let ascii = RenderContext(glyphs: .ascii, chartStyle: .ascii, pictures: false)
}
