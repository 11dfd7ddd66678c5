// Tests for `ffc import`'s code path: folders → LMDB + kv that loads like the source images.
import Foundation
import Testing

@testable import FFCEngine

@Suite struct FolderImporterTests {
    @Test func importedFoldersLoadAsTheirImagesAndBadFilesAreListed() throws {
        let scratch = ScratchDirectory()
        let root = scratch.path + "/faces"
        var sources: [String: [UInt8]] = [:]
        for (label, name) in ["bob", "alice", "carol"].sorted().enumerated() {
            try FileManager.default.createDirectory(atPath: root + "/" + name, withIntermediateDirectories: true)
            for v in 0..<(label + 1) {
                let rgb = SyntheticFaces.render(identity: label, variant: v, size: 24, seed: 3)
                let jpeg = try ImageCodec.encodeJPEG(rgb, width: 24, height: 24)
                let path = root + "/\(name)/\(v).jpg"
                _ = FileManager.default.createFile(atPath: path, contents: Data(jpeg))
                sources[path] = jpeg
            }
        }
        _ = FileManager.default.createFile(
            atPath: root + "/bob/broken.jpg", contents: Data([0xFF, 0xD8, 0xFF, 0xE0, 1]))
        _ = FileManager.default.createFile(atPath: root + "/carol/notes.txt", contents: Data("hello".utf8))

        let out = scratch.path + "/imported.lmdb"
        var calls = 0
        let summary = try FolderImporter.run(folder: root, out: out) { _, _ in calls += 1 }
        #expect(summary.identities == 3 && summary.images == 6)
        #expect(Set(summary.skipped.map(\.path)) == [root + "/bob/broken.jpg", root + "/carol/notes.txt"])
        #expect(calls == 8)

        let db = try FaceDatabase.open(paths: [out])
        #expect((0..<6).map(db.label(ofImage:)) == [0, 1, 1, 2, 2, 2])  // alice, bob, carol
        let loaded = try loadAll(db, size: 24)
        let image = FaceImage(height: 24, width: 24)
        let expected = try ["alice/0", "bob/0", "bob/1", "carol/0", "carol/1", "carol/2"].map { name in
            var out = [Float](repeating: 0, count: image.floatsPerImage)
            var scratch: [UInt8] = []
            let datum = Datum.encode(
                image: sources[root + "/\(name).jpg"]!, channels: 3, height: 24, width: 24, label: 0)
            try datum.withUnsafeBytes { raw in
                try out.withUnsafeMutableBufferPointer {
                    try image.load(record: raw, flip: false, into: $0, scratch: &scratch)
                }
            }
            return out
        }
        #expect(loaded == expected)
    }

    @Test func emptyFolderIsRefused() throws {
        let scratch = ScratchDirectory()
        #expect(throws: ImportError.noIdentityFolders(path: scratch.path)) {
            _ = try FolderImporter.run(folder: scratch.path, out: scratch.path + "/x.lmdb")
        }
    }
}
