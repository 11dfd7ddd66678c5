// `ffc bench loader`: instance-loader images/s (LMDB read + Datum parse + JPEG decode + flip +
// normalise) with 1 and 2 workers, next to the original FFC's per-image Python path
// (tools/reference/loader_bench.py) run as a subprocess in the same invocation.
import ArgumentParser
import FFCEngine
import Foundation

struct BenchLoader: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loader", abstract: "Loader images/s for 1 and 2 workers vs the Python per-image path.")

    @Option(help: "Database NAME.lmdb (default: a temporary synthetic one, 112×112).") var db: String?
    @Option(help: "Images in the temporary synthetic database.") var synthImages = 3000
    @Option(help: "Batch size.") var batch = 64
    @Option(help: "Images per timed run.") var images = 3000
    @Option(help: "Runs per row (the median is shown).") var runs = 3
    @Option(help: "Python reference script.") var python = "tools/reference/loader_bench.py"
    @Flag(help: "One JSON object per row.") var json = false

    func run() throws {
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
        let load = uptimeText()

        var rows: [Row] = []
        for workers in [1, 2] {
            var rates: [Double] = []
            var cpuRates: [Double] = []
            for run in 0..<runs {
                let config = LoaderConfiguration(
                    batchSize: batch, workers: workers, ringCapacity: 4, seed: UInt64(run),
                    image: FaceImage(height: side, width: side))
                let loader = try InstanceLoader(database: database, configuration: config)
                let batches = max(1, images / batch)
                let start = Date()
                let cpuStart = cpuSeconds()
                for _ in 0..<batches { _ = try loader.next() }
                let seconds = Date().timeIntervalSince(start)
                loader.stop()
                rates.append(Double(batches * batch) / seconds)
                cpuRates.append(Double(batches * batch) / (cpuSeconds() - cpuStart))
            }
            rows.append(
                Row(
                    name: "swift instance loader", workers: workers, imagesPerSecond: median(rates),
                    imagesPerCPUSecond: median(cpuRates)))
        }
        let python = pythonRates(path)
        rows.append(
            Row(
                name: "python lmdb+protobuf+cv2", workers: 1, imagesPerSecond: python?.wall,
                imagesPerCPUSecond: python?.cpu))

        for row in rows {
            if json {
                let value = row.imagesPerSecond.map { String(format: "%.1f", $0) } ?? "null"
                let perWorker = row.imagesPerSecond.map { String(format: "%.1f", $0 / Double(row.workers)) } ?? "null"
                let perCPU = row.imagesPerCPUSecond.map { String(format: "%.1f", $0) } ?? "null"
                print(
                    "{\"bench\":\"loader\",\"name\":\"\(row.name)\",\"workers\":\(row.workers),\"images_per_second\":\(value),"
                        + "\"images_per_second_per_worker\":\(perWorker),\"images_per_cpu_second\":\(perCPU),\"image_size\":\(side),\"batch\":\(batch),"
                        + "\"uptime\":\"\(load)\"}")
            }
        }
        guard !json else { return }
        print("loader benchmark: \(database.imageCount) images of \(size), batch \(batch), median of \(runs) runs")
        print("name                        workers   images/s   per worker   per CPU-second")
        for row in rows {
            let rate = row.imagesPerSecond.map { String(format: "%10.0f", $0) } ?? "       n/a"
            let per = row.imagesPerSecond.map { String(format: "%12.0f", $0 / Double(row.workers)) } ?? "         n/a"
            let cpu = row.imagesPerCPUSecond.map { String(format: "%16.0f", $0) } ?? "             n/a"
            let name = row.name.padding(toLength: 28, withPad: " ", startingAt: 0)
            print("\(name)\(String(format: "%7d", row.workers)) \(rate) \(per) \(cpu)")
        }
        print("uptime: \(load)")
    }

    private struct Row {
        var name: String
        var workers: Int
        var imagesPerSecond: Double?
        /// Images per second of this process's CPU time: comparable on a shared machine.
        var imagesPerCPUSecond: Double?
    }

    private func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) * 1e-6
        return user + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) * 1e-6
    }

    private func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted[sorted.count / 2]
    }

    /// Median images/s (wall and CPU) of the Python reference, or nil when it or its modules are missing.
    private func pythonRates(_ path: String) -> (wall: Double, cpu: Double)? {
        guard FileManager.default.fileExists(atPath: python) else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", python, "--db", path, "--images", "\(images)", "--runs", "\(runs)"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
            let object = try? JSONSerialization.jsonObject(with: output) as? [String: Any]
        else { return nil }
        guard let wall = object["images_per_second"] as? Double, let cpu = object["images_per_cpu_second"] as? Double
        else { return nil }
        return (wall, cpu)
    }

    private func uptimeText() -> String {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "?" }
        return "load " + text.split(separator: " ").prefix(3).joined(separator: " ")
    }
}
