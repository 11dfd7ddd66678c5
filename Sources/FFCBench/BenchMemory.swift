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
import FFCConsoleUI
import FFCEngine
import Foundation

public struct BenchMemory: ParsableCommand {
    public static let configuration = CommandConfiguration(
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

    /// What opening the database alone adds: anonymous bytes and file-backed bytes.
    struct IndexCost {
        var identities: Int
        var images: Int
        var anonBytes: Int
        var fileBytes: Int
    }

    /// What the training run left: its step records, RSS splits sampled on the way, the pool.
    struct RunMemory {
        var records: [StepRecord]
        var afterSetup: Int
        var setupSplit: (anon: Int, file: Int)
        var splits: [Int: (anon: Int, file: Int)]
        var endSplit: (anon: Int, file: Int)
        var seconds: Double
        var poolBytesPerSlot: Int
        var queueSize: Int
        /// Step 100, step 1000, then every 1000 steps.
        var sampleSteps: [Int]
    }

    public init() {}

    public func validate() throws {
        guard steps >= 1, images >= 2, identities >= 2, size >= 16, batchSize >= 2 else {
            throw ValidationError("need --steps ≥ 1, --images ≥ 2, --identities ≥ 2, --size ≥ 16, --batch-size ≥ 2")
        }
    }

    public func run() throws {
        let uptime = LoadProbe.read()
        try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
        let runDir = workDir + "/run-" + TrainingFlags.timestamp()
        var synthesised: SynthOptions?
        defer { if !keep { removeScratch(runDir: runDir, synthesised: synthesised) } }
        let database: String
        if let db {
            database = db
        } else {
            let s = try synthesise()
            synthesised = s
            database = s.out
        }
        let index = try measureIndex(database)
        let memory = try train(database, identities: index.identities, runDir: runDir)
        let rows = try self.rows(index: index, memory: memory, uptime: uptime) + openRows(database)
        if json {
            for row in rows { try JSONLine.print(row) }
        } else {
            printTable(rows, identities: index.identities, images: index.images)
        }
    }

    /// Deletes the run directory and the synthesised database (with its kv file).
    private func removeScratch(runDir: String, synthesised: SynthOptions?) {
        try? FileManager.default.removeItem(atPath: runDir)
        if let s = synthesised {
            for path in [s.out, s.baseName + "_kv.txt", s.baseName + "_kv.txt.ffcindex"] {
                try? FileManager.default.removeItem(atPath: path)
            }
        }
    }

    /// Writes the synthetic database under `workDir`, with a progress bar unless `--json`.
    private func synthesise() throws -> SynthOptions {
        let s = SynthOptions(
            identities: identities, images: .fixed(images), size: size, seed: 1,
            out: workDir + "/memory-\(identities).lmdb")
        say("synthesising \(identities) identities × \(images) images of \(size)×\(size) in \(s.out)")
        var bar = LineProgressBar(label: "synth")
        let summary = try SyntheticDatabase.write(s) { done, total in
            if !json { bar.update(done: done, total: total) }
        }
        if !json { bar.finish() }
        say(String(format: "wrote %d images in %.1f s", summary.images, summary.seconds))
        return s
    }

    /// What the identity index costs: RSS before and after opening the database alone.
    private func measureIndex(_ database: String) throws -> IndexCost {
        let before = ResidentMemory.split()
        let opened = try FaceDatabase.open(paths: [database])
        let after = ResidentMemory.split()
        return IndexCost(
            identities: opened.identityCount, images: opened.imageCount, anonBytes: after.anon - before.anon,
            fileBytes: after.file - before.file)
    }

    /// The run's configuration: `ffc train`'s flags for the tiny net on `database`.
    private func trainingConfig(_ database: String, queueSize q: Int, runDir: String) throws -> TrainingConfig {
        var flags = TrainingFlags()
        flags.databases = [database]
        flags.netType = "tiny"
        flags.inputSize = size
        flags.featDim = featDim
        flags.batchSize = batchSize
        flags.queueSize = q
        flags.head = head
        flags.lossType = "AM"
        flags.margin = 0.35
        flags.lr = 0.1
        flags.epochs = 1000
        flags.milestones = ""
        flags.maxSteps = steps
        flags.checkpointEvery = 0
        flags.logEvery = 1
        flags.runDir = runDir
        flags.seed = 1
        do {
            return try flags.resolve()
        } catch let error as TrainingFlagError {
            throw ValidationError(error.description)
        }
    }

    /// Trains headless to the end, sampling the RSS split as the run passes the sample steps.
    private func train(_ database: String, identities: Int, runDir: String) throws -> RunMemory {
        let q = queueSize ?? TrainingFlags.demoQueueSize(identities: identities, batchSize: batchSize)
        let config = try trainingConfig(database, queueSize: q, runDir: runDir)
        let started = Date()
        let run = try TrainingRun(config: config, makeHead: Trainer.makeHead, echo: !json)
        let afterSetup = ResidentMemory.bytes()
        let setupSplit = ResidentMemory.split()
        var splits: [Int: (anon: Int, file: Int)] = [:]
        let sampleSteps = [100] + Array(stride(from: 1000, to: steps, by: 1000))
        run.start()
        while !run.snapshot().finished {
            let step = run.snapshot().step
            for at in sampleSteps where step >= at && splits[at] == nil { splits[at] = ResidentMemory.split() }
            usleep(5000)
        }
        run.wait()
        let endSplit = ResidentMemory.split()
        let seconds = Date().timeIntervalSince(started)
        let records = try MetricsStreamContents.read(path: run.directory.metricsPath).steps
        guard !records.isEmpty else { throw ValidationError("the run recorded no steps") }
        return RunMemory(
            records: records, afterSetup: afterSetup, setupSplit: setupSplit, splits: splits, endSplit: endSplit,
            seconds: seconds, poolBytesPerSlot: run.snapshot().poolBytesPerSlot, queueSize: q,
            sampleSteps: sampleSteps)
    }

    /// The table: index and pool costs, RSS after setup, at the sample steps, at the end, and the peak.
    private func rows(index: IndexCost, memory m: RunMemory, uptime: String) throws -> [Row] {
        let perMillion = 1e6 / Double(index.identities)
        let q = m.queueSize
        let poolBytes = m.poolBytesPerSlot * q
        let last = m.records.last!
        var rows = [
            Row(
                measure: "identity index", step: nil, bytes: index.anonBytes,
                bytesPerMillionIdentities: Double(index.anonBytes) * perMillion,
                note:
                    "anonymous RSS added by opening \(index.identities) identities, \(index.images) images (+\(index.fileBytes >> 20) MiB of mapped file pages)"
            ),
            Row(
                measure: "class pool + LRU", step: nil, bytes: head == "ffc" ? poolBytes : 0,
                bytesPerMillionIdentities: head == "ffc" ? Double(poolBytes) * perMillion : nil,
                note: head == "ffc"
                    ? "\(q) slots × \(m.poolBytesPerSlot) bytes (\(String(format: "%.2f", 100 * Double(q) / Double(index.identities)))% of identities)"
                    : "the \(head) head has no pool"),
            Row(
                measure: "rss after setup", step: 0, bytes: m.afterSetup, bytesPerMillionIdentities: nil,
                note: "nets, head, loaders", anonBytes: m.setupSplit.anon, fileBytes: m.setupSplit.file),
        ]
        for at in m.sampleSteps where at < last.step {
            if let r = m.records.first(where: { $0.step == at }) {
                rows.append(
                    Row(
                        measure: "rss", step: at, bytes: r.residentBytes, bytesPerMillionIdentities: nil, note: "",
                        anonBytes: m.splits[at]?.anon, fileBytes: m.splits[at]?.file))
            }
        }
        rows.append(
            Row(
                measure: "rss at end", step: last.step, bytes: last.residentBytes, bytesPerMillionIdentities: nil,
                note: "", anonBytes: m.endSplit.anon, fileBytes: m.endSplit.file))
        rows.append(peakRow(m, uptime: uptime))
        return rows
    }

    /// The highest RSS any step recorded, and how the end compares with step 100.
    private func peakRow(_ m: RunMemory, uptime: String) -> Row {
        let last = m.records.last!
        let reference = m.records.first(where: { $0.step == 100 }) ?? m.records.first!
        let growth = Double(last.residentBytes - reference.residentBytes) / Double(max(1, reference.residentBytes))
        let peak = m.records.map(\.residentBytes).max() ?? 0
        return Row(
            measure: "peak rss", step: m.records.first { $0.residentBytes == peak }?.step, bytes: peak,
            bytesPerMillionIdentities: nil,
            note: String(
                format: "end vs step %d: %+.2f%%; %d steps in %.0f s; load %@", reference.step, 100 * growth,
                last.step, m.seconds, uptime))
    }

    private func printTable(_ rows: [Row], identities: Int, images: Int) {
        print("")
        print(
            "ffc bench memory: \(head), tiny-\(featDim)@\(size), B=\(batchSize), \(identities) identities, \(images) images"
        )
        let table = TextTable(
            [
                .init("measure", 18), .init("step", 7), .init("MiB", 10), .init("anon MiB", 10),
                .init("file MiB", 10), .init("MiB / 1M ids", 14), .init("note", nil),
            ], separator: "", minimumFill: 1)
        print(table.header)
        func mib(_ bytes: Int?) -> String { bytes.map { String(format: "%.1f", Double($0) / 1_048_576) } ?? "-" }
        for row in rows {
            print(
                table.line([
                    row.measure, row.step.map(String.init) ?? "-", mib(row.bytes), mib(row.anonBytes),
                    mib(row.fileBytes),
                    row.bytesPerMillionIdentities.map { String(format: "%.1f", $0 / 1_048_576) } ?? "-",
                    row.note,
                ]))
        }
    }

    private func say(_ line: String) {
        if !json { print(line) }
    }
}
