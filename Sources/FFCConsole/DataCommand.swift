// `ffc data …`: inspect training databases.
import ArgumentParser
import FFCEngine
import Foundation

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data", abstract: "Inspect FFC-format training databases.", subcommands: [DataInfo.self])
}

struct DataInfo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Identities, images, images-per-identity distribution and a sample decode check.")

    @Argument(
        help:
            "Databases NAME.lmdb, or RecordIO sets (train.rec or a folder holding it); labels of each offset by the ones before."
    ) var databases: [String]
    @Option(help: "kv file for each database in order (default NAME_kv.txt beside it).") var kv: [String] = []
    @Option(help: "Records to decode as a check.") var sample = 64
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        let db = try FaceDatabase.open(paths: databases, kvPaths: kv.map { Optional($0) })
        let info = try DatabaseInfo(database: db, sample: sample)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(info), as: UTF8.self))
            return
        }
        for p in info.parts {
            let index = p.format == .lmdb ? "kv" : "idx"
            let skipped = p.skippedRecords > 0 ? "  \(p.skippedRecords) corrupt records skipped" : ""
            print(
                "\(p.path)  \(index) \(p.kv)  \(p.images) images  \(p.identities) labels  offset \(p.labelOffset)\(skipped)"
            )
        }
        print("identities  \(info.identities) (\(info.identitiesWithImages) with images)")
        print("images      \(info.images)")
        print(
            String(
                format: "per identity  min %d  median %.1f  mean %.2f  max %d", info.imagesPerIdentityMin,
                info.imagesPerIdentityMedian, info.imagesPerIdentityMean, info.imagesPerIdentityMax))
        let widest = max(1, info.histogram.map(\.identities).max() ?? 1)
        for b in info.histogram {
            let range = b.low == b.high ? "\(b.low)" : "\(b.low)–\(b.high)"
            let bar = String(repeating: "█", count: max(b.identities > 0 ? 1 : 0, b.identities * 40 / widest))
            let padded = String(repeating: " ", count: max(0, 11 - range.count)) + range
            print("\(padded) \(String(format: "%9d", b.identities)) \(bar)")
        }
        let sizes = info.sampleSizes.sorted { $0.value > $1.value }.map { "\($0.key) ×\($0.value)" }
        print(
            "decode check  \(info.sampleChecked - info.sampleFailed)/\(info.sampleChecked) ok  sizes \(sizes.joined(separator: ", "))"
        )
        for failure in info.sampleFailures { print("  failed \(failure)") }
    }
}
