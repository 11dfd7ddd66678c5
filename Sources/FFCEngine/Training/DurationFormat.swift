// Training: how a duration reads — the one formatter behind the headless progress line's ETA,
// the console header's ETA and the command-line progress bars.
import Foundation

public enum DurationFormat {
    /// Two units at most: 45s, 12m05s, 3h02m, 2d04h; "--" for a negative or unknown duration.
    public static func compact(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--" }
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
        if s < 86400 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
        return String(format: "%dd%02dh", s / 86400, (s % 86400) / 3600)
    }

    /// A clock: 0:00:45, 1:02:03, 27:00:00; "-:--:--" for a negative or unknown duration.
    public static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "-:--:--" }
        let s = Int(seconds.rounded())
        return String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
    }
}
