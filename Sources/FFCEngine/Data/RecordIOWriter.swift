// Data/RecordIOWriter: writes RecordIO sets the way MXNet does (the framing `RecordIOFile`
// reads, splitting payloads at aligned copies of the magic word), for `ffc bench loader`'s
// RecordIO row and the tests; the byte layout is checked against tools/reference/make_rec.py.
import Foundation

/// Appends records to `NAME.rec` and their `key<TAB>offset` lines to `NAME.idx`.
public final class RecordIOWriter {
    public let path: String
    private var rec: [UInt8] = []
    private var idx = ""

    public init(path: String) { self.path = path }

    /// `mxnet.recordio.pack`: the IRHeader (flag = labels.count, label 0 when there are labels),
    /// the labels, the image.
    public static func pack(label: Float, labels: [Float] = [], id: UInt64, id2: UInt64 = 0, image: [UInt8])
        -> [UInt8]
    {
        var out: [UInt8] = []
        out.reserveCapacity(IRHeader.byteCount + 4 * labels.count + image.count)
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        put(UInt32(labels.count))
        put((labels.isEmpty ? label : 0).bitPattern)
        put(id)
        put(id2)
        for l in labels { put(l.bitPattern) }
        out.append(contentsOf: image)
        return out
    }

    /// Appends one record under `key` (dmlc RecordIOWriter::WriteRecord).
    public func append(key: UInt64, payload: [UInt8]) {
        idx += "\(key)\t\(rec.count)\n"
        let magic = RecordIOFile.magic
        func part(_ flag: UInt32, _ range: Range<Int>) {
            withUnsafeBytes(of: magic.littleEndian) { rec.append(contentsOf: $0) }
            withUnsafeBytes(of: (flag << 29 | UInt32(range.count)).littleEndian) { rec.append(contentsOf: $0) }
            rec.append(contentsOf: payload[range])
        }
        var start = 0
        var i = 0
        while i + 4 <= payload.count {
            if payload[i] == 0x0a && payload[i + 1] == 0x23 && payload[i + 2] == 0xd7 && payload[i + 3] == 0xce {
                part(start == 0 ? 1 : 2, start..<i)
                start = i + 4
            }
            i += 4
        }
        part(start == 0 ? 0 : 3, start..<payload.count)
        rec.append(contentsOf: [UInt8](repeating: 0, count: (4 - payload.count % 4) % 4))
    }

    /// Writes `NAME.rec` and `NAME.idx` (each atomically).
    public func close() throws {
        try AtomicFile.write(rec, to: path)
        try AtomicFile.write(Array(idx.utf8), to: String(path.dropLast(path.hasSuffix(".rec") ? 4 : 0)) + ".idx")
    }

    /// Writes `database` as an insightface set in `folder` (train.rec, train.idx, property): the
    /// header record, image records 1…N in identity order, one identity record per label.
    public static func writeSet(from database: FaceDatabase, to folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let writer = RecordIOWriter(path: folder + "/train.rec")
        let n = database.imageCount
        let classes = database.identityCount
        let firstIdentity = UInt64(n + 1)
        writer.append(
            key: 0, payload: pack(label: 0, labels: [Float(n + 1), Float(n + 1 + classes)], id: 0, image: []))
        let txn = try database.beginRead()
        var key: UInt64 = 1
        var ranges: [Range<UInt64>] = []
        var size = (width: 0, height: 0)
        for y in 0..<classes {
            let first = key
            for i in database.images(ofIdentity: y) {
                guard let image = try txn.image(ofImage: Int(i)) else {
                    throw FaceImageError(reason: "image \(database.key(ofImage: Int(i))) is missing")
                }
                if size.width == 0 {
                    let header = try ImageCodec.header(image)
                    size = (header.width, header.height)
                }
                writer.append(key: key, payload: pack(label: Float(y), id: key, image: Array(image)))
                key += 1
            }
            ranges.append(first..<key)
        }
        for (y, range) in ranges.enumerated() {
            let k = firstIdentity + UInt64(y)
            writer.append(
                key: k,
                payload: pack(label: 0, labels: [Float(range.lowerBound), Float(range.upperBound)], id: k, image: []))
        }
        try writer.close()
        try AtomicFile.write(Array("\(classes),\(size.height),\(size.width)\n".utf8), to: folder + "/property")
    }
}
