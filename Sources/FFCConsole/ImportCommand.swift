// `ffc import`: identity sub-folders of face images → an FFC-format LMDB + kv file.
import ArgumentParser
import FFCConsoleUI
import FFCEngine
import Foundation

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import identity sub-folders of aligned face images into an FFC-format database.",
        discussion: "Sorted sub-folder names get labels 0, 1, …; writes NAME.lmdb and NAME_kv.txt.")

    @Argument(help: "Folder with one sub-folder of images per identity.") var folder: String
    @Option(help: "Output database NAME.lmdb.") var out: String

    func run() throws {
        var bar = LineProgressBar(label: "import")
        let summary = try FolderImporter.run(folder: folder, out: out) { done, total in
            bar.update(done: done, total: total, force: done == total)
        }
        bar.finish()
        for (path, reason) in summary.skipped { print("skipped \(path): \(reason)") }
        for name in summary.emptyIdentities { print("identity folder \(name) has no readable image") }
        print(
            String(
                format: "imported %d images of %d identities into %@ (%.1f MB) in %.1f s; %d skipped",
                summary.images, summary.identities, out, Double(summary.bytes) / 1e6, summary.seconds,
                summary.skipped.count))
    }
}
