// `ffc bench loader`: instance-loader images/s (LMDB read + Datum parse + JPEG decode + flip +
// normalise) with 1 and 2 workers, the same loader on the same images as an insightface RecordIO
// set (mmap read + IRHeader instead of LMDB + Datum), next to the original FFC's per-image Python path
// (tools/reference/loader_bench.py) run as a subprocess in the same invocation.
import ArgumentParser
import FFCEngine
import Foundation

public struct BenchLoader: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "loader",
        abstract: "Loader images/s for 1 and 2 workers, from LMDB and from RecordIO, vs the Python per-image path.")

    @Option(help: "Database NAME.lmdb (default: a temporary synthetic one, 112×112).") var db: String?
    @Option(help: "Images in the temporary synthetic database.") var synthImages = 3000
    @Option(help: "Batch size.") var batch = 64
    @Option(help: "Images per timed run.") var images = 3000
    @Option(help: "Runs per row (the median is shown).") var runs = 3
    @Option(help: "Python reference script.") var python = "tools/reference/loader_bench.py"
    @Flag(help: "One JSON object per row.") var json = false

    public init() {}

    public func run() throws {
        var scratchDirectory: String?
        defer { if let scratchDirectory { try? FileManager.default.removeItem(atPath: scratchDirectory) } }
        let path: String
        if let db {
            path = db
        } else {
            let dir = NSTemporaryDirectory() + "ffc-bench-loader-\(getpid())"
            scratchDirectory = dir
            path = dir + "/bench.lmdb"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            _ = try SyntheticDatabase.write(
                SynthOptions(identities: max(1, synthImages / 10), images: .fixed(10), seed: 1, out: path))
        }
        let database = try FaceDatabase.open(paths: [path])
        let size = try DatabaseInfo(database: database, sample: 1).sampleSizes.keys.first ?? "112x112"
        let side = Int(size.split(separator: "x")[0]) ?? 112
        let load = "load " + LoadProbe.read()

        // The same images as a RecordIO set, written beside a temporary copy.
        let recDirectory = NSTemporaryDirectory() + "ffc-bench-loader-rec-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: recDirectory) }
        try RecordIOWriter.writeSet(from: database, to: recDirectory)
        let recordIO = try FaceDatabase.open(paths: [recDirectory])

        var rows: [Row] = []
        for (name, source) in [("swift instance loader", database), ("swift loader, RecordIO", recordIO)] {
            for workers in [1, 2] {
                var rates: [Double] = []
                var cpuRates: [Double] = []
                for run in 0..<runs {
                    let config = LoaderConfiguration(
                        batchSize: batch, workers: workers, ringCapacity: 4, seed: UInt64(run),
                        image: FaceImage(height: side, width: side))
                    let loader = try InstanceLoader(database: source, configuration: config)
                    let batches = max(1, images / batch)
                    let start = Date()
                    let cpuStart = CPUTime.process()
                    for _ in 0..<batches { _ = try loader.next() }
                    let seconds = Date().timeIntervalSince(start)
                    loader.stop()
                    rates.append(Double(batches * batch) / seconds)
                    cpuRates.append(Double(batches * batch) / (CPUTime.process() - cpuStart))
                }
                rows.append(
                    Row(
                        name: name, workers: workers, imagesPerSecond: Harness.median(rates),
                        imagesPerCPUSecond: Harness.median(cpuRates)))
            }
        }
        let python = pythonRates(path)
        rows.append(
            Row(
                name: "python lmdb+protobuf+cv2", workers: 1, imagesPerSecond: python?.wall,
                imagesPerCPUSecond: python?.cpu))

        if json {
            for row in rows { try JSONLine.print(row.json(imageSize: side, batch: batch, load: load)) }
            return
        }
        print("loader benchmark: \(database.imageCount) images of \(size), batch \(batch), median of \(runs) runs")
        let table = TextTable([
            .init("name", 27), .init("workers", 7, .right), .init("images/s", 10, .right),
            .init("per worker", 12, .right), .init("per CPU-second", 16, .right),
        ])
        print(table.header)
        for row in rows {
            func rate(_ value: Double?) -> String { value.map { String(format: "%.0f", $0) } ?? "n/a" }
            print(
                table.line([
                    row.name, "\(row.workers)", rate(row.imagesPerSecond),
                    rate(row.imagesPerSecond.map { $0 / Double(row.workers) }), rate(row.imagesPerCPUSecond),
                ]))
        }
        print("uptime: \(load)")
    }

    private struct Row {
        var name: String
        var workers: Int
        var imagesPerSecond: Double?
        /// Images per second of this process's CPU time: comparable on a shared machine.
        var imagesPerCPUSecond: Double?

        /// The `--json` object; rates to 0.1 image/s, null where not measured.
        func json(imageSize: Int, batch: Int, load: String) -> [String: Any] {
            func rate(_ value: Double?) -> Any { value.map { JSONLine.rounded($0, 1) } ?? NSNull() }
            return [
                "bench": "loader", "name": name, "workers": workers, "images_per_second": rate(imagesPerSecond),
                "images_per_second_per_worker": rate(imagesPerSecond.map { $0 / Double(workers) }),
                "images_per_cpu_second": rate(imagesPerCPUSecond), "image_size": imageSize, "batch": batch,
                "uptime": load,
            ]
        }
    }

    /// Median images/s (wall and CPU) of the Python reference, or nil when it or its modules are missing.
    private func pythonRates(_ path: String) -> (wall: Double, cpu: Double)? {
        let object = PythonReference(script: python).lastObject([
            "--db", path, "--images", "\(images)", "--runs", "\(runs)",
        ])
        guard let wall = object?["images_per_second"] as? Double, let cpu = object?["images_per_cpu_second"] as? Double
        else { return nil }
        return (wall, cpu)
    }
}
