// `ffc bench open`: how long opening a large database takes, and how much of its LMDB it maps,
// without the identity index cache (parse the kv, look every key up), when the cache is built
// (first open) and when it is read (every later open). The database is synthesised with a million
// identities of tiny images (one 8×8 JPEG in every record: the sizes that matter are the key
// count and the B-tree, not the pixels), or given with --db. Mapped bytes are the Rss of this
// process's mappings of the LMDB data file (/proc/self/smaps), not page-cache residency.
import ArgumentParser
import FFCConsoleUI
import FFCEngine
import Foundation

public struct BenchOpen: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "open",
        abstract: "Database open time and mapped LMDB pages: no index cache, building it, reading it.")

    @Option(help: "Database NAME.lmdb; without it one is synthesised under --work-dir.") var db: String?
    @Option(help: "Identities to synthesise (without --db).") var identities = 1_000_000
    @Option(help: "Images per synthesised identity.") var images = 2
    @Option(help: "Where the synthesised database goes (reused when --keep left it there).")
    var workDir = "data/bench-open"
    @Option(help: "Timed opens of the cached index (the median is shown).") var runs = 3
    @Flag(help: "Keep the synthesised database (the next run reuses it).") var keep = false
    @Flag(help: "Print one JSON object per row instead of a table.") var json = false

    public init() {}

    public func validate() throws {
        guard identities >= 1, images >= 1, runs >= 1 else {
            throw ValidationError("need --identities ≥ 1, --images ≥ 1, --runs ≥ 1")
        }
    }

    public func run() throws {
        let path: String
        if let db {
            path = db
        } else {
            path = workDir + "/open-\(identities)x\(images).lmdb"
            if !(FileManager.default.fileExists(atPath: path)
                && FileManager.default.fileExists(atPath: FaceDatabase.defaultKVPath(for: path)))
            {
                try synthesise(path)
            }
        }
        defer {
            if db == nil && !keep {
                for p in [path, FaceDatabase.defaultKVPath(for: path), Self.indexPath(path)] {
                    try? FileManager.default.removeItem(atPath: p)
                }
            }
        }
        let rows = try Self.measure(path, runs: runs)
        if json {
            for row in rows { try JSONLine.print(row) }
            return
        }
        let dataBytes = rows.first?.dataFileBytes ?? 0
        print("")
        print(
            "ffc bench open: \(path), \(rows.first?.identities ?? 0) identities, \(rows.first?.images ?? 0) images, "
                + String(format: "LMDB %.0f MiB; load %@", Double(dataBytes) / 1_048_576, LoadProbe.read()))
        let table = TextTable(
            [
                .init("open", 24), .init("seconds", 9), .init("anon MiB", 10), .init("LMDB mapped MiB", 17),
                .init("note", nil),
            ],
            separator: "", minimumFill: 1)
        print(table.header)
        for row in rows {
            print(
                table.line([
                    row.measure, String(format: "%.3f", row.seconds),
                    String(format: "%.1f", Double(row.anonBytes) / 1_048_576),
                    String(format: "%.2f", Double(row.mappedBytes) / 1_048_576), row.note,
                ]))
        }
    }

    /// One way of opening, measured.
    public struct Row: Codable {
        public var measure: String
        public var seconds: Double
        /// Anonymous RSS the open database holds.
        public var anonBytes: Int
        /// Rss of the LMDB data file's mappings while it is open.
        public var mappedBytes: Int
        public var dataFileBytes: Int
        public var identities: Int
        public var images: Int
        public var note: String
    }

    static func indexPath(_ database: String) -> String {
        FaceDatabase.defaultKVPath(for: database) + ".ffcindex"
    }

    /// Opens `database` without the cache, then with it after deleting it (the build), then
    /// `runs` times more (the cached open; median). Each opened database is closed before the
    /// next open, so each mapped figure is that open's alone. Deletes the index before it starts
    /// and leaves the built one.
    public static func measure(_ database: String, runs: Int = 3) throws -> [Row] {
        let dataFile = LMDBReader.dataFile(for: database)
        let dataBytes = (try? FileManager.default.attributesOfItem(atPath: dataFile)[.size] as? Int) ?? 0
        try? FileManager.default.removeItem(atPath: indexPath(database))
        func once(_ measure: String, cache: Bool, note: String) throws -> Row {
            let before = ResidentMemory.split().anon
            let start = Date()
            let opened = try FaceDatabase.open(paths: [database], cacheIndex: cache, reporter: .silent)
            let seconds = Date().timeIntervalSince(start)
            return Row(
                measure: measure, seconds: seconds, anonBytes: ResidentMemory.split().anon - before,
                mappedBytes: ResidentMemory.mappedBytes(ofFile: dataFile), dataFileBytes: dataBytes,
                identities: opened.identityCount, images: opened.imageCount, note: note)
        }
        var rows = [
            try once("no index cache", cache: false, note: "parse the kv, look every key up, sort by label"),
            try once("cache cold (builds it)", cache: true, note: "as above, then write the index"),
        ]
        let warm = try (0..<runs).map { _ in
            try once("cache warm (reads it)", cache: true, note: "read + check the index, CRC-32 of the kv")
        }
        var median = warm.sorted { $0.seconds < $1.seconds }[runs / 2]
        let indexBytes = (try? FileManager.default.attributesOfItem(atPath: indexPath(database))[.size] as? Int) ?? 0
        median.note += String(format: "; index %.0f MiB; median of %d", Double(indexBytes) / 1_048_576, runs)
        rows.append(median)
        return rows
    }

    /// `identities × images` records of one 8×8 JPEG in a Datum, keys in write order, and the kv.
    private func synthesise(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: path)
        let total = identities * images
        if !json { print("synthesising \(identities) identities × \(images) tiny images in \(path)") }
        let start = Date()
        let jpeg = try ImageCodec.encodeJPEG([UInt8](repeating: 128, count: 64), width: 8, height: 8, channels: 1)
        let writer = try LMDBWriter(path: path, initialMapSizeBytes: 1 << 30, recordsPerCommit: 8192)
        var kv: [UInt8] = []
        kv.reserveCapacity(total * 20)
        var bar = LineProgressBar(label: "synth")
        for i in 0..<total {
            let label = i / images
            let key = SyntheticDatabase.key(i)
            try writer.put(key: key, value: Datum.encode(image: jpeg, channels: 1, height: 8, width: 8, label: label))
            kv.append(contentsOf: "\(key) \(label)\n".utf8)
            if !json && (i + 1) % 65536 == 0 { bar.update(done: i + 1, total: total) }
        }
        try writer.close()
        try AtomicFile.write(kv, to: FaceDatabase.defaultKVPath(for: path))
        if !json {
            bar.update(done: total, total: total, force: true)
            bar.finish()
            print(String(format: "wrote %d records in %.1f s", total, Date().timeIntervalSince(start)))
        }
    }
}
