// Data/DatabaseImporter: `ffc import --from rec` — any database set `FaceDatabase` opens (an
// insightface RecordIO set, say) → an FFC-format LMDB + kv file holding the same encoded image
// bytes, each in a Caffe-style Datum under the source's key, with the source's labels.
// Records that do not read or decode are skipped and listed. The LMDB and kv are written under
// temporary names and renamed over the targets only when complete.
import Foundation

public enum DatabaseImporter {
    /// Copies every image of `source` into `out` (NAME.lmdb, NAME_kv.txt beside it);
    /// `progress(done, total)` after each image.
    public static func run(source: FaceDatabase, out: String, progress: (Int, Int) -> Void = { _, _ in }) throws
        -> ImportSummary
    {
        let start = Date()
        let fm = FileManager.default
        var target = out
        while target.hasSuffix("/") { target.removeLast() }
        let suffix = AtomicFile.temporaryInfix + "\(getpid())"
        let tmp = target + suffix
        try? fm.removeItem(atPath: tmp)
        var summary = ImportSummary(identities: source.identityCount)
        var kv = ""
        do {
            let writer = try LMDBWriter(path: tmp)
            let txn = try source.beginRead()
            var seen = Set<Int>()
            for i in 0..<source.imageCount {
                defer { progress(i + 1, source.imageCount) }
                let key = source.key(ofImage: i)
                do {
                    guard let encoded = try txn.image(ofImage: i) else {
                        throw FaceImageError(reason: "key missing from its database")
                    }
                    let (width, height, channels) = try ImageCodec.header(encoded)
                    let label = source.label(ofImage: i)
                    try writer.put(
                        key: key,
                        value: Datum.encode(
                            image: Array(encoded), channels: channels, height: height, width: width, label: label))
                    kv += "\(key) \(label)\n"
                    summary.images += 1
                    summary.bytes += encoded.count
                    seen.insert(label)
                } catch let error as LMDBError {
                    throw error
                } catch {
                    summary.skipped.append((key, "\(error)"))
                }
            }
            try writer.close()
            summary.emptyIdentities = (0..<source.identityCount).filter { !seen.contains($0) }.map(String.init)
            guard summary.images > 0 else {
                throw ImportError.noImages(path: source.parts.map(\.path).joined(separator: ", "))
            }
            try AtomicFile.write(Array(kv.utf8), to: FaceDatabase.defaultKVPath(for: target))
            try? fm.removeItem(atPath: target)
            guard rename(tmp, target) == 0 else {
                throw AtomicFileError.failed(path: target, operation: "rename", errno: errno)
            }
        } catch {
            try? fm.removeItem(atPath: tmp)
            throw error
        }
        summary.seconds = Date().timeIntervalSince(start)
        return summary
    }
}
