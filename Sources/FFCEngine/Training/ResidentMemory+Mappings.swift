// Training: how much of one file this process has mapped in, for "opening the database maps no
// image pages". The measure is the Rss of the file's mappings in /proc/self/smaps: pages present
// in this process's page tables. mincore(2) would not do — it reports whether a page is in the
// OS page cache, which holds the whole LMDB right after it was written (or after any other
// process read it), whether or not this process ever touched it.
import Foundation

extension ResidentMemory {
    /// Resident bytes of every mapping of `path` (symlinks resolved) in this process, summed
    /// from /proc/self/smaps; 0 when none, or where /proc is missing. The kernel maps a small
    /// window around each faulting page (fault-around, 64 KiB by default), so one touched
    /// page can count for up to 16.
    public static func mappedBytes(ofFile path: String) -> Int {
        guard let resolved = realpath(path, nil) else { return 0 }
        let target = String(cString: resolved)
        free(resolved)
        // Read to the end: `String(contentsOfFile:)` stops after the first few KiB of a /proc file.
        guard let handle = FileHandle(forReadingAtPath: "/proc/self/smaps"),
            let data = try? handle.readToEnd()
        else { return 0 }
        try? handle.close()
        let text = String(decoding: data, as: UTF8.self)
        var total = 0
        var inTarget = false
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let first = fields.first else { continue }
            if first.contains("-") && !first.hasSuffix(":") {
                // A mapping's first line: range perms offset dev inode [path, which may hold spaces].
                inTarget = fields.count >= 6 && fields[5...].joined(separator: " ") == target
            } else if inTarget && first == "Rss:", fields.count >= 2, let kb = Int(fields[1]) {
                total += kb * 1024
            }
        }
        return total
    }
}
