// Shared helpers for the Data tests: fixture paths, scratch directories, tiny databases.
import Foundation

@testable import FFCEngine

enum DataFixtures {
    /// Tests/FFCEngineTests/Fixtures/data, as copied into the test bundle.
    static var directory: String {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures/data").path
    }
    static var caffe: String { directory + "/caffe.lmdb" }
    static var oneField: String { directory + "/onefield.lmdb" }
    static var expected: String { directory + "/expected.safetensors" }
}

/// A fresh directory removed when the value is released.
final class ScratchDirectory {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "ffc-data-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Every record of a database, unflipped, as the network sees it (H·W·3 floats each).
func loadAll(_ db: FaceDatabase, size: Int) throws -> [[Float]] {
    let image = FaceImage(height: size, width: size)
    let txn = try db.beginRead()
    var scratch: [UInt8] = []
    return try (0..<db.imageCount).map { i in
        var out = [Float](repeating: 0, count: image.floatsPerImage)
        try out.withUnsafeMutableBufferPointer { buf in
            try image.load(image: try txn.image(ofImage: i)!, flip: false, into: buf, scratch: &scratch)
        }
        return out
    }
}

/// Writes records (key, Datum bytes, label) as an LMDB + kv pair through our writer.
func writeDatabase(_ path: String, _ records: [(key: String, value: [UInt8], label: Int)]) throws {
    let writer = try LMDBWriter(path: path)
    for r in records { try writer.put(key: r.key, value: r.value) }
    try writer.close()
    let kv = records.map { "\($0.key) \($0.label)\n" }.joined()
    try kv.write(toFile: FaceDatabase.defaultKVPath(for: path), atomically: true, encoding: .utf8)
}
