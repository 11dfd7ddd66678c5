// `ffc bench memory`: is training memory flat? Runs the trainer headless (the same
// `TrainingRun` as `ffc train --headless`) for N steps on a given database, or on one
// synthesised for the purpose and deleted afterwards, and reads the resident set size the
// trainer recorded at every step from its metrics stream: at step 100, at step 1000 and at the
// end (and every 1000 steps of a longer run) — and, sampled from /proc/self/status as the run passes those steps, how much of it is
// anonymous (heap: nets, head, index, buffers) and how much file-backed (pages of the
// memory-mapped LMDB the loaders touched, which the kernel can drop). Also measured: what
// opening the database's identity index adds to anonymous memory, and the class pool's bytes
// (slots × bytes per slot, LRU included), per million identities.
import ArgumentParser
import FFCEngine
import Foundation

struct BenchMemory: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory",
        abstract: "Resident memory of a headless training run at step 100, 1000 and the end.")

    @Option(help: "Training database; without it one is synthesised (and deleted afterwards).") var db: String?
    @Option(help: "Identities to synthesise (without --db).") var identities = 500
    @Option(help: "Images per synthesised identity (≥ 2: the pair part needs two).") var images = 8
    @Option(help: "Side of synthesised images and the net's input, in pixels.") var size = 32
    @Option(help: "Steps to train.") var steps = 1000
    @Option(help: "Identity pairs per step, B.") var batchSize = 32
    @Option(help: "Class pool slots (default: `ffc demo`'s rule, 20% of identities, at least 3·B).")
    var queueSize: Int?
    @Option(help: "Head: ffc, fc or pfc.") var head = "ffc"
    @Option(help: "Embedding size D.") var featDim = 128
    @Option(help: "Where the synthesised database and the run go (deleted afterwards).")
    var workDir = "data/bench-memory"
    @Flag(help: "Keep the synthesised database and run directory.") var keep = false
    @Flag(help: "Print one JSON object per row instead of a table.") var json = false

    struct Row: Codable {
        var measure: String
        var step: Int?
        var bytes: Int
        var bytesPerMillionIdentities: Double?
        var note: String
        var anonBytes: Int?
        var fileBytes: Int?
    }

    /// (RssAnon, RssFile) of this process in bytes, from /proc/self/status; zeros without /proc.
    static func residentSplit() -> (anon: Int, file: Int) {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return (0, 0) }
        func field(_ name: String) -> Int {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }),
                let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
            else { return 0 }
            return kb * 1024
        }
        return (field("RssAnon"), field("RssFile"))
    }

    func validate() throws {
        guard steps >= 1, images >= 2, identities >= 2, size >= 16, batchSize >= 2 else {
            throw ValidationError("need --steps ≥ 1, --images ≥ 2, --identities ≥ 2, --size ≥ 16, --batch-size ≥ 2")
        }
    }

    func run() throws {
        let uptime =
            (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?
            .split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
        try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
        let runDir = workDir + "/run-" + Train.timestamp()
        var synthesised: SynthOptions?
        defer {
            if !keep {
                try? FileManager.default.removeItem(atPath: runDir)
                if let s = synthesised {
                    for path in [s.out, s.baseName + "_kv.txt"] { try? FileManager.default.removeItem(atPath: path) }
                }
            }
        }
        let database: String
        if let db {
            database = db
        } else {
            let s = SynthOptions(
                identities: identities, images: .fixed(images), size: size, seed: 1,
                out: workDir + "/memory-\(identities).lmdb")
            synthesised = s
            say("synthesising \(identities) identities × \(images) images of \(size)×\(size) in \(s.out)")
            var bar = ProgressBar(label: "synth")
            let summary = try SyntheticDatabase.write(s) { done, total in
                if !json { bar.update(done: done, total: total) }
            }
            if !json { bar.finish() }
            say(String(format: "wrote %d images in %.1f s", summary.images, summary.seconds))
            database = s.out
        }

        // What the identity index costs: RSS before and after opening the database alone.
        let beforeOpen = Self.residentSplit()
        let (identityCount, imageCount, indexBytes, indexFileBytes): (Int, Int, Int, Int) = try {
            let opened = try FaceDatabase.open(paths: [database])
            let after = Self.residentSplit()
            return (opened.identityCount, opened.imageCount, after.anon - beforeOpen.anon, after.file - beforeOpen.file)
        }()
        let perMillion = 1e6 / Double(identityCount)

        let q = queueSize ?? Demo.queueSize(identities: identityCount, batchSize: batchSize)
        let arguments = [
            database, "--net-type", "tiny", "--input-size", String(size), "--feat-dim", String(featDim),
            "--batch-size", String(batchSize), "--queue-size", String(q), "--head", head, "--loss-type", "AM",
            "--margin", "0.35", "--lr", "0.1", "--epochs", "1000", "--milestones", "", "--max-steps", String(steps),
            "--checkpoint-every", "0", "--log-every", "1", "--run-dir", runDir, "--seed", "1",
        ]
        let config = try Train.parse(arguments).resolvedConfig()
        let started = Date()
        let run = try TrainingRun(config: config, makeHead: Trainer.makeHead, echo: !json)
        let afterSetup = ResidentMemory.bytes()
        let setupSplit = Self.residentSplit()
        var splits: [Int: (anon: Int, file: Int)] = [:]
        // Step 100, step 1000, then every 1000 steps.
        let sampleSteps = [100] + Array(stride(from: 1000, to: steps, by: 1000))
        run.start()
        while !run.snapshot().finished {
            let step = run.snapshot().step
            for at in sampleSteps where step >= at && splits[at] == nil { splits[at] = Self.residentSplit() }
            usleep(5000)
        }
        run.wait()
        let endSplit = Self.residentSplit()
        let seconds = Date().timeIntervalSince(started)
        let records = try MetricsStreamContents.read(path: run.directory.metricsPath).steps
        guard let last = records.last else { throw ValidationError("the run recorded no steps") }
        let snapshot = run.snapshot()
        let poolBytes = snapshot.poolBytesPerSlot * q

        var rows = [
            Row(
                measure: "identity index", step: nil, bytes: indexBytes,
                bytesPerMillionIdentities: Double(indexBytes) * perMillion,
                note:
                    "anonymous RSS added by opening \(identityCount) identities, \(imageCount) images (+\(indexFileBytes >> 20) MiB of mapped file pages)"
            ),
            Row(
                measure: "class pool + LRU", step: nil, bytes: head == "ffc" ? poolBytes : 0,
                bytesPerMillionIdentities: head == "ffc" ? Double(poolBytes) * perMillion : nil,
                note: head == "ffc"
                    ? "\(q) slots × \(snapshot.poolBytesPerSlot) bytes (\(String(format: "%.2f", 100 * Double(q) / Double(identityCount)))% of identities)"
                    : "the \(head) head has no pool"),
            Row(
                measure: "rss after setup", step: 0, bytes: afterSetup, bytesPerMillionIdentities: nil,
                note: "nets, head, loaders", anonBytes: setupSplit.anon, fileBytes: setupSplit.file),
        ]
        for at in sampleSteps where at < last.step {
            if let r = records.first(where: { $0.step == at }) {
                rows.append(
                    Row(
                        measure: "rss", step: at, bytes: r.residentBytes, bytesPerMillionIdentities: nil, note: "",
                        anonBytes: splits[at]?.anon, fileBytes: splits[at]?.file))
            }
        }
        rows.append(
            Row(
                measure: "rss at end", step: last.step, bytes: last.residentBytes, bytesPerMillionIdentities: nil,
                note: "", anonBytes: endSplit.anon, fileBytes: endSplit.file))
        let reference = records.first(where: { $0.step == 100 }) ?? records.first!
        let growth = Double(last.residentBytes - reference.residentBytes) / Double(max(1, reference.residentBytes))
        let peak = records.map(\.residentBytes).max() ?? 0
        rows.append(
            Row(
                measure: "peak rss", step: records.first { $0.residentBytes == peak }?.step, bytes: peak,
                bytesPerMillionIdentities: nil,
                note: String(
                    format: "end vs step %d: %+.2f%%; %d steps in %.0f s; load %@", reference.step, 100 * growth,
                    last.step, seconds, uptime)))
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            for row in rows { print(String(decoding: try encoder.encode(row), as: UTF8.self)) }
            return
        }
        print("")
        print(
            "ffc bench memory: \(head), tiny-\(featDim)@\(size), B=\(batchSize), \(identityCount) identities, \(imageCount) images"
        )
        print(
            pad("measure", 18) + pad("step", 7) + pad("MiB", 10) + pad("anon MiB", 10) + pad("file MiB", 10)
                + pad("MiB / 1M ids", 14) + "note")
        func mib(_ bytes: Int?) -> String { bytes.map { String(format: "%.1f", Double($0) / 1_048_576) } ?? "-" }
        for row in rows {
            print(
                pad(row.measure, 18) + pad(row.step.map(String.init) ?? "-", 7)
                    + pad(mib(row.bytes), 10) + pad(mib(row.anonBytes), 10) + pad(mib(row.fileBytes), 10)
                    + pad(row.bytesPerMillionIdentities.map { String(format: "%.1f", $0 / 1_048_576) } ?? "-", 14)
                    + row.note)
        }
    }

    private func say(_ line: String) {
        if !json { print(line) }
    }

    private func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
    }
}
