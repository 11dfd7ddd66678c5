// Style roles: what a cell means (title, border, chart series …), never which colour it has.
// A theme maps roles to colours; the terminal layer maps colours to what the terminal can show.

/// The meaning of a cell, resolved to colours by the theme and to attributes by the terminal.
public enum StyleRole: String, Sendable, CaseIterable, Hashable {
    case text, dim, title, border, accent, good, warn, bad
    case chart1, chart2, chart3, chartRaw
    case header, selection, gaugeFill, gaugeEmpty
}
