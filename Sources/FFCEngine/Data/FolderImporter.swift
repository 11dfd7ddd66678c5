// Data/FolderImporter: `ffc import` — a folder of identity sub-folders of aligned face images
// → an FFC-format database (NAME.lmdb + NAME_kv.txt), as the original make_lmdb tool does.
// Sub-folder names sorted → labels 0, 1, …; image bytes are stored as they are (JPEG or PNG)
// inside a Caffe-style Datum; files that do not decode are skipped and listed.
import Foundation

public struct ImportSummary: Sendable {
    public var identities = 0
    public var images = 0
    public var bytes = 0
    /// Files that could not be read or decoded, with the reason.
    public var skipped: [(path: String, reason: String)] = []
    /// Identity folders with no usable image (they keep their label, with no images).
    public var emptyIdentities: [String] = []
    public var seconds = 0.0
}

/// An import that cannot start.
public enum ImportError: Error, Equatable, CustomStringConvertible {
    case notAFolder(path: String)
    case noIdentityFolders(path: String)
    case noImages(path: String)
    public var description: String {
        switch self {
        case .notAFolder(let path): return "\(path) is not a folder"
        case .noIdentityFolders(let path): return "\(path) has no identity sub-folders"
        case .noImages(let path): return "no readable image under \(path)"
        }
    }
}

public enum FolderImporter {
    /// Imports `folder` into `out`; `progress(done, total)` after each file.
    public static func run(folder: String, out: String, progress: (Int, Int) -> Void = { _, _ in }) throws
        -> ImportSummary
    {
        let start = Date()
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ImportError.notAFolder(path: folder)
        }
        let identities = try fm.contentsOfDirectory(atPath: folder).filter { name in
            var dir: ObjCBool = false
            return !name.hasPrefix(".") && fm.fileExists(atPath: folder + "/" + name, isDirectory: &dir)
                && dir.boolValue
        }.sorted()
        guard !identities.isEmpty else { throw ImportError.noIdentityFolders(path: folder) }
        let files = try identities.map { name in
            try fm.contentsOfDirectory(atPath: folder + "/" + name).filter { !$0.hasPrefix(".") }.sorted()
        }
        let total = files.reduce(0) { $0 + $1.count }

        try? fm.removeItem(atPath: out)
        let writer = try LMDBWriter(path: out)
        let kvPath = FaceDatabase.defaultKVPath(for: out)
        var kv = ""
        var summary = ImportSummary(identities: identities.count)
        var scratch: [UInt8] = []
        var done = 0
        for (label, name) in identities.enumerated() {
            var kept = 0
            for file in files[label] {
                let path = folder + "/" + name + "/" + file
                done += 1
                defer { progress(done, total) }
                guard let data = fm.contents(atPath: path) else {
                    summary.skipped.append((path, "cannot read"))
                    continue
                }
                let bytes = [UInt8](data)
                do {
                    let (width, height, channels) = try bytes.withUnsafeBytes { raw in
                        let header = try ImageCodec.header(raw)
                        _ = try ImageCodec.decodeRGB(raw, into: &scratch)
                        return header
                    }
                    let key = SyntheticDatabase.key(summary.images)
                    try writer.put(
                        key: key,
                        value: Datum.encode(
                            image: bytes, channels: channels, height: height, width: width, label: label))
                    kv += "\(key) \(label)\n"
                    summary.images += 1
                    summary.bytes += bytes.count
                    kept += 1
                } catch let error as ImageCodecError {
                    summary.skipped.append((path, error.message))
                }
            }
            if kept == 0 { summary.emptyIdentities.append(name) }
        }
        try writer.close()
        guard summary.images > 0 else { throw ImportError.noImages(path: folder) }
        try kv.write(toFile: kvPath, atomically: true, encoding: .utf8)
        summary.seconds = Date().timeIntervalSince(start)
        return summary
    }
}
