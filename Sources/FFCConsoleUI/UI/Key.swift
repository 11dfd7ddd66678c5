// Keys as the console understands them, decoupled from curses key codes.

public enum Key: Hashable, Sendable {
    case char(Character)
    case up, down, left, right, pageUp, pageDown, home, end
    case enter, escape, backspace, tab, resize
    case function(Int)

    /// How the help overlay and footer write the key; arrows become words without Unicode.
    func label(unicode: Bool) -> String {
        switch self {
        case .char(" "): "Space"
        case .char(let c): String(c)
        case .up: unicode ? "↑" : "Up"
        case .down: unicode ? "↓" : "Down"
        case .left: unicode ? "←" : "Left"
        case .right: unicode ? "→" : "Right"
        case .pageUp: "PgUp"
        case .pageDown: "PgDn"
        case .home: "Home"
        case .end: "End"
        case .enter: "Enter"
        case .escape: "Esc"
        case .backspace: "Bksp"
        case .tab: "Tab"
        case .resize: "resize"
        case .function(let n): "F\(n)"
        }
    }
}
