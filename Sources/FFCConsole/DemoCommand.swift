// `ffc demo`: the first command to try. Makes (once) a small synthetic face database under
// data/demo/ and trains the tiny net on it with FFC, on a terminal with the console.
import ArgumentParser
import FFCEngine
import Foundation

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the tiny net on a small synthetic database (made on first use) with the console.")

    @Option(help: "Where the demo database lives.") var data = "data/demo"
    @Option(help: "Synthetic identities.") var identities = 500
    @Option(help: "Steps to train (0: 20 epochs).") var maxSteps = 0
    @Option(help: "Console theme name or file.") var theme: String?
    @Flag(help: "No console: plain progress lines.") var headless = false

    func run() throws {
        let synth = SynthOptions(
            identities: identities, images: .fixed(8), size: 64, seed: 1, out: data + "/synth.lmdb", holdout: 50,
            pairs: 400)
        let database = synth.out
        // Under mpirun rank 0 makes the database and the others wait for it (same host or a
        // shared directory); the run directory's name is rank 0's.
        let world = World.communicator
        if world.isLeader && !FileManager.default.fileExists(atPath: database) {
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
            print(
                "making the demo database: \(identities) synthetic identities × 8 images of 64×64 in \(database), 50 held out for verification"
            )
            let summary = try SyntheticDatabase.write(synth)
            print(String(format: "wrote %d images in %.1f s", summary.images, summary.seconds))
        }
        world.barrier()
        var arguments = [
            database, "--net-type", "tiny", "--input-size", "32", "--feat-dim", "128", "--batch-size", "32",
            "--queue-size", String(TrainingFlags.demoQueueSize(identities: identities, batchSize: 32)), "--loss-type",
            "AM",
            "--margin", "0.35", "--lr", "0.1",
            "--epochs", "20", "--milestones", "12,16", "--checkpoint-every", "500",
            "--run-dir",
            "runs/demo-"
                + String(decoding: world.broadcast(bytes: Array(TrainingFlags.timestamp().utf8)), as: UTF8.self),
        ]
        if FileManager.default.fileExists(atPath: synth.holdoutPath)
            && FileManager.default.fileExists(atPath: synth.pairsPath)
        {
            arguments += [
                "--validation-every", "100", "--validation-database", synth.holdoutPath, "--validation-pairs",
                synth.pairsPath,
            ]
        }
        if maxSteps > 0 { arguments += ["--max-steps", String(maxSteps)] }
        if let theme { arguments += ["--theme", theme] }
        if headless { arguments.append("--headless") }
        let train = try Train.parse(arguments)
        let config = try train.resolvedConfig()
        if headless || isatty(STDOUT_FILENO) == 0 || World.launchedByMPI {
            try train.trainHere(config)
        } else {
            try train.trainDetached(config, arguments: arguments)
        }
    }
}
