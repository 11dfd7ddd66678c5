// Number formatting the way users read a console: 1.2k, 3.4 MiB, 12.5% (durations: FFCEngine's DurationFormat).
import Foundation

enum Format {
    static func bytes(_ n: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n)
        var i = 0
        while v >= 1024 && i < units.count - 1 {
            v /= 1024
            i += 1
        }
        return i == 0 ? "\(n) B" : String(format: v < 10 ? "%.2f %@" : "%.1f %@", v, units[i])
    }

    /// Compact count: 950, 1.2k, 34k, 1.5M.
    static func count(_ v: Double) -> String {
        let a = abs(v)
        if a >= 1e9 { return String(format: "%.1fG", v / 1e9) }
        if a >= 1e6 { return String(format: "%.1fM", v / 1e6) }
        if a >= 1e4 { return String(format: "%.0fk", v / 1e3) }
        if a >= 1e3 { return String(format: "%.1fk", v / 1e3) }
        if a >= 100 || a == a.rounded() { return String(format: "%.0f", v) }
        return String(format: "%.1f", v)
    }

    static func percent(_ share: Double, digits: Int = 0) -> String {
        String(format: "%.\(digits)f%%", share * 100)
    }

    /// A loss or other real value in at most ~6 characters.
    static func value(_ v: Double) -> String {
        let a = abs(v)
        if a == 0 { return "0" }
        if a >= 1000 { return count(v) }
        if a >= 10 { return String(format: "%.1f", v) }
        if a >= 0.01 { return String(format: "%.3f", v) }
        return String(format: "%.1e", v)
    }

    static func learningRate(_ v: Double) -> String {
        v >= 0.001 || v == 0 ? String(format: "%g", v) : String(format: "%.1e", v)
    }

    static func grouped(_ n: Int) -> String {
        let digits = String(abs(n))
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return n < 0 ? "-" + out : out
    }
}
