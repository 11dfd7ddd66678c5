// Training: the process's resident memory, as the console and logs show it — and the one
// reader of it for everything else (`ffc bench …` included): current, peak, and the split
// into anonymous and file-backed pages.
import Foundation

public enum ResidentMemory {
    /// Resident set size in bytes from /proc/self/statm (second field, in pages); 0 where
    /// /proc is missing.
    public static func bytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Peak resident set size in bytes (VmHWM of /proc/self/status); 0 where /proc is missing.
    public static func peakBytes() -> Int {
        statusField("VmHWM", in: status())
    }

    /// (RssAnon, RssFile) in bytes: heap and other anonymous pages, and pages of mapped files
    /// (which the kernel can drop), from /proc/self/status; zeros where /proc is missing.
    public static func split() -> (anon: Int, file: Int) {
        let text = status()
        return (statusField("RssAnon", in: text), statusField("RssFile", in: text))
    }

    /// The `NAME:   123 kB` line of a /proc/PID/status text, in bytes; 0 when absent.
    public static func statusField(_ name: String, in text: String) -> Int {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }),
            let kb = Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "")
        else { return 0 }
        return kb * 1024
    }

    private static func status() -> String {
        (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    }
}
