// `ffc synth`: write a database of procedural face-like identities in the FFC format.
import ArgumentParser
import FFCConsoleUI
import FFCEngine
import Foundation

struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write procedural face-like identities as an FFC-format LMDB + kv file.",
        discussion: """
            Writes NAME.lmdb and NAME_kv.txt. With --holdout M, M more identities go to
            NAME_holdout.lmdb (+ NAME_holdout_kv.txt), and --pairs P writes NAME_pairs.txt:
            lines `keyA keyB same` (keys of the holdout database, same = 1 or 0, half each).
            """)

    @Option(help: "Training identities.") var identities: Int
    @Option(help: "Images per identity (fixed).") var images: Int?
    @Option(name: .customLong("long-tail"), help: "Long-tailed images per identity, 1…MAX.") var longTail: Int?
    @Option(help: "Image side in pixels.") var size = 112
    @Option(help: "Seed: identity codes and nuisance derive from it.") var seed: UInt64 = 0
    @Option(help: "Output database NAME.lmdb.") var out: String
    @Option(help: "Held-out identities for verification.") var holdout = 0
    @Option(help: "Verification pairs over the held-out identities.") var pairs = 0
    @Option(help: "Render workers.") var workers = 2
    @Option(help: "JPEG quality.") var quality = 90

    func validate() throws {
        guard (images == nil) != (longTail == nil) else {
            throw ValidationError("give exactly one of --images K or --long-tail MAX")
        }
        guard identities > 0, size >= 16 else { throw ValidationError("need --identities > 0 and --size ≥ 16") }
        guard pairs == 0 || holdout >= 2 else { throw ValidationError("--pairs needs --holdout ≥ 2") }
    }

    func run() throws {
        let options = SynthOptions(
            identities: identities, images: images.map { .fixed($0) } ?? .longTail(max: longTail!), size: size,
            seed: seed, out: out, holdout: holdout, pairs: pairs, workers: workers, jpegQuality: quality)
        var bar = LineProgressBar(label: "synth")
        let summary = try SyntheticDatabase.write(options) { done, total in bar.update(done: done, total: total) }
        bar.finish()
        print(
            String(
                format: "wrote %d images of %d identities to %@ (%.1f MB) in %.1f s: %.0f images/s",
                summary.images, identities, out, Double(summary.bytes) / 1e6, summary.seconds,
                summary.imagesPerSecond))
        if holdout > 0 {
            print("held out \(holdout) identities, \(summary.holdoutImages) images in \(options.holdoutPath)")
        }
        if summary.pairs > 0 { print("\(summary.pairs) verification pairs in \(options.pairsPath)") }
    }
}
