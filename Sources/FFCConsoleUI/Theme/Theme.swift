// A theme: colours for every style role, read from a `key = #rrggbb` file (themes/README.md).
// The compiled-in default equals themes/default.theme, so the console works without the folder.

/// Colours for the style roles; `colours(for:)` gives a role's foreground and background.
public struct Theme: Sendable, Equatable {
    public var name: String
    /// Colour per file key (`background`, `text`, `header_bg`, …); complete for `Theme.keys`.
    public private(set) var colours: [String: RGB]

    /// Every key a theme file may set (themes/README.md says what each colours).
    public static let keys: [String] = [
        "background", "text", "dim", "title", "border", "accent", "good", "warn", "bad", "chart1", "chart2", "chart3",
        "chart_raw", "header_fg", "header_bg", "selection_fg", "selection_bg", "gauge_fill", "gauge_empty",
    ]

    /// Creates a theme; keys missing from `colours` take the default theme's colour.
    public init(name: String, colours: [String: RGB]) {
        self.name = name
        self.colours = Theme.defaultColours.merging(colours) { _, new in new }
    }

    /// The file key holding a role's foreground colour.
    static func foregroundKey(_ role: StyleRole) -> String {
        switch role {
        case .text: "text"
        case .dim: "dim"
        case .title: "title"
        case .border: "border"
        case .accent: "accent"
        case .good: "good"
        case .warn: "warn"
        case .bad: "bad"
        case .chart1: "chart1"
        case .chart2: "chart2"
        case .chart3: "chart3"
        case .chartRaw: "chart_raw"
        case .header: "header_fg"
        case .selection: "selection_fg"
        case .gaugeFill: "gauge_fill"
        case .gaugeEmpty: "gauge_empty"
        }
    }

    public func colours(for role: StyleRole) -> (foreground: RGB, background: RGB) {
        let background: String =
            switch role {
            case .header: "header_bg"
            case .selection: "selection_bg"
            default: "background"
            }
        return (colours[Theme.foregroundKey(role)]!, colours[background]!)
    }

    static let defaultColours: [String: RGB] = [
        "background": RGB(0x1c, 0x1c, 0x1c), "text": RGB(0xd0, 0xd0, 0xd0), "dim": RGB(0x80, 0x80, 0x80),
        "title": RGB(0xff, 0xff, 0xff), "border": RGB(0x5f, 0x87, 0xaf), "accent": RGB(0x5f, 0xd7, 0xff),
        "good": RGB(0x87, 0xd7, 0x5f), "warn": RGB(0xff, 0xd7, 0x5f), "bad": RGB(0xff, 0x5f, 0x5f),
        "chart1": RGB(0x5f, 0xd7, 0xff), "chart2": RGB(0xff, 0xaf, 0x5f), "chart3": RGB(0xd7, 0x87, 0xff),
        "chart_raw": RGB(0x58, 0x58, 0x58), "header_fg": RGB(0xff, 0xff, 0xff),
        "header_bg": RGB(0x00, 0x5f, 0x87), "selection_fg": RGB(0x1c, 0x1c, 0x1c),
        "selection_bg": RGB(0x5f, 0xd7, 0xff), "gauge_fill": RGB(0x87, 0xd7, 0x5f),
        "gauge_empty": RGB(0x44, 0x44, 0x44),
    ]

    /// The compiled-in default; identical to themes/default.theme.
    public static let builtInDefault = Theme(name: "default", colours: [:])
}
