// `ffc import`: identity sub-folders of face images, or an insightface RecordIO set, → an
// FFC-format LMDB + kv file.
import ArgumentParser
import FFCConsoleUI
import FFCEngine
import Foundation

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import identity sub-folders of aligned face images, or a RecordIO set, into an FFC-format database.",
        discussion: """
            --from folder (default): sorted sub-folder names get labels 0, 1, …. --from rec: SOURCE
            is train.rec (train.idx and property beside it) or a folder holding it; images are
            copied bit for bit under their record keys with the set's labels; corrupt records are
            skipped and listed. Writes NAME.lmdb and NAME_kv.txt.
            """)

    @Argument(help: "Folder with one sub-folder of images per identity, or (--from rec) train.rec or its folder.")
    var folder: String
    @Option(help: "Source format: folder or rec.") var from = "folder"
    @Option(help: "Output database NAME.lmdb.") var out: String

    func run() throws {
        var bar = LineProgressBar(label: "import")
        let summary: ImportSummary
        switch from {
        case "folder":
            summary = try FolderImporter.run(folder: folder, out: out) { done, total in
                bar.update(done: done, total: total, force: done == total)
            }
        case "rec":
            guard RecordIOFile.recordPath(for: folder) != nil else {
                throw ValidationError("\(folder) is neither a .rec file nor a folder holding train.rec")
            }
            let source = try FaceDatabase.open(paths: [folder])
            for part in source.parts where part.skippedRecords > 0 {
                print("\(part.path): \(part.skippedRecords) corrupt records skipped while indexing")
            }
            summary = try DatabaseImporter.run(source: source, out: out) { done, total in
                bar.update(done: done, total: total, force: done == total)
            }
        default:
            throw ValidationError("--from \(from): use folder or rec")
        }
        bar.finish()
        for (path, reason) in summary.skipped { print("skipped \(path): \(reason)") }
        for name in summary.emptyIdentities { print("identity \(name) has no readable image") }
        print(
            String(
                format: "imported %d images of %d identities into %@ (%.1f MB) in %.1f s; %d skipped",
                summary.images, summary.identities, out, Double(summary.bytes) / 1e6, summary.seconds,
                summary.skipped.count))
    }
}
