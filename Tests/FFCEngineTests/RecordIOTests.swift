// RecordIO input: the MS1MV2-shaped set tools/reference/make_rec.py writes byte for byte as
// MXNet does (header record, identity records, grey JPEGs, single-image identities, a record
// split in three parts), read, imported to LMDB, mixed with an LMDB, trained on, and damaged.
import CZlib
import Foundation
import Testing

@testable import FFCEngine

enum RecordIOFixture {
    static var directory: String { Bundle.module.resourceURL!.appendingPathComponent("Fixtures/rec").path }
    static var rec: String { directory + "/train.rec" }

    struct Expected: Decodable {
        struct Record: Decodable {
            var key: Int
            var label: Int
            var bytes: Int
            var crc32: UInt32
            var parts: Int
        }
        var identities: Int
        var images: Int
        var size: Int
        var imagesPerIdentity: [Int]
        var records: [Record]
    }

    static let expected: Expected = try! JSONDecoder().decode(
        Expected.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/expected.json")))

    /// A copy of the fixture set in a scratch folder, for damaging.
    static func copy(into scratch: ScratchDirectory) throws -> String {
        let dir = scratch.path + "/set"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for name in ["train.rec", "train.idx", "property"] {
            try FileManager.default.copyItem(atPath: directory + "/" + name, toPath: dir + "/" + name)
        }
        return dir
    }

    /// `idx` offset of record `key`.
    static func offset(ofKey key: Int, in dir: String) throws -> Int {
        let lines = try String(contentsOfFile: dir + "/train.idx", encoding: .utf8).split(separator: "\n")
        let fields = lines.first { $0.hasPrefix("\(key)\t") }!.split(separator: "\t")
        return Int(fields[1])!
    }

    static func patch(_ path: String, at offset: Int, with bytes: [UInt8]) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        try handle.seek(toOffset: UInt64(offset))
        try handle.write(contentsOf: Data(bytes))
        try handle.close()
    }
}

func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    UInt32(CZlib.crc32(0, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), uInt(bytes.count)))
}

@Suite struct RecordIOTests {
    @Test func opensTheMS1MV2ShapedSetWithItsCounts() throws {
        let expected = RecordIOFixture.expected
        for path in [RecordIOFixture.directory, RecordIOFixture.rec] {
            let db = try FaceDatabase.open(paths: [path])
            #expect(db.parts.map(\.format) == [.recordIO])
            #expect(db.identityCount == expected.identities)
            #expect(db.imageCount == expected.images)
            #expect(db.parts[0].skippedRecords == 0)
            #expect((0..<db.identityCount).map { db.images(ofIdentity: $0).count } == expected.imagesPerIdentity)
        }
        let info = try DatabaseInfo(database: try FaceDatabase.open(paths: [RecordIOFixture.directory]))
        #expect(info.identities == 8 && info.images == 18 && info.sampleFailed == 0)
        #expect(info.sampleSizes == ["112x112": 18])
        // The keys `ffc data info --json` reports.
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(info)) as! [String: Any]
        #expect(json["identities"] as? Int == 8 && json["images"] as? Int == 18)
    }

    @Test func readsEveryImageAsWrittenIncludingTheMultiPartRecord() throws {
        let db = try FaceDatabase.open(paths: [RecordIOFixture.rec])
        let txn = try db.beginRead()
        let records = RecordIOFixture.expected.records
        #expect(records.filter { $0.parts == 3 }.count == 1)
        for (i, record) in records.enumerated() {
            #expect(db.key(ofImage: i) == String(record.key))
            #expect(db.label(ofImage: i) == record.label)
            let image = try #require(try txn.image(ofImage: i))
            #expect(image.count == record.bytes, "key \(record.key)")
            #expect(crc32(image) == record.crc32, "key \(record.key)")
        }
        // The reassembled record puts the magic word back where the writer dropped it.
        let multi = records.firstIndex { $0.parts == 3 }!
        let image = Array(try #require(try txn.image(ofImage: multi)))
        let magic: [UInt8] = [0x0a, 0x23, 0xd7, 0xce]
        #expect(Array(image[8..<12]) == magic && Array(image[16..<20]) == magic)
        // Every image decodes to the network's input.
        let pixels = try loadAll(db, size: 112)
        #expect(pixels.count == 18 && pixels.allSatisfy { $0.count == 112 * 112 * 3 })
    }

    @Test func importToLMDBKeepsImagesBitForBit() throws {
        let scratch = ScratchDirectory()
        let source = try FaceDatabase.open(paths: [RecordIOFixture.directory])
        let out = scratch.path + "/ms1m.lmdb"
        let summary = try DatabaseImporter.run(source: source, out: out)
        #expect(summary.images == 18 && summary.skipped.isEmpty && summary.emptyIdentities.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: out + AtomicFile.temporaryInfix + "\(getpid())"))
        let imported = try FaceDatabase.open(paths: [out])
        #expect(imported.identityCount == 8 && imported.imageCount == 18)
        let a = try source.beginRead()
        let b = try imported.beginRead()
        for i in 0..<18 {
            #expect(imported.key(ofImage: i) == source.key(ofImage: i))
            #expect(imported.label(ofImage: i) == source.label(ofImage: i))
            let original = Array(try #require(try a.image(ofImage: i)))
            let copied = Array(try #require(try b.image(ofImage: i)))
            #expect(copied == original)
            #expect(copied.withUnsafeBytes(crc32) == RecordIOFixture.expected.records[i].crc32)
        }
    }

    @Test func mixedInputsOffsetLabelsAsLMDBsDo() throws {
        let db = try FaceDatabase.open(paths: [DataFixtures.caffe, RecordIOFixture.rec])
        #expect(db.parts.map(\.format) == [.lmdb, .recordIO])
        #expect(db.parts[1].labelOffset == 6 && db.parts[1].firstImage == 9)
        #expect(db.identityCount == 14 && db.imageCount == 27)
        #expect(db.label(ofImage: 9) == 6 && db.label(ofImage: 26) == 13)
        let reversed = try FaceDatabase.open(paths: [RecordIOFixture.rec, DataFixtures.caffe])
        #expect(reversed.parts[1].labelOffset == 8 && reversed.label(ofImage: 18) == 8)
        #expect(try loadAll(db, size: 32).count == 27)
    }

    @Test func withoutAHeaderRecordLabelsComeFromTheImageRecords() throws {
        // im2rec-style: only image records in the idx (no record 0, no identity records).
        let scratch = ScratchDirectory()
        let dir = try RecordIOFixture.copy(into: scratch)
        let lines = try String(contentsOfFile: dir + "/train.idx", encoding: .utf8).split(separator: "\n")
        let images = lines.filter {
            Int($0.split(separator: "\t")[0])! >= 1 && Int($0.split(separator: "\t")[0])! <= 18
        }
        try (images.joined(separator: "\n") + "\n").write(toFile: dir + "/train.idx", atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: dir + "/property")
        let db = try FaceDatabase.open(paths: [dir])
        #expect(db.identityCount == 8 && db.imageCount == 18)
        #expect((0..<18).map(db.label(ofImage:)) == RecordIOFixture.expected.records.map(\.label))
    }

    @Test func aCorruptImageRecordIsSkippedAndCounted() throws {
        let scratch = ScratchDirectory()
        let dir = try RecordIOFixture.copy(into: scratch)
        let offset = try RecordIOFixture.offset(ofKey: 5, in: dir)
        try RecordIOFixture.patch(dir + "/train.rec", at: offset, with: [0xde, 0xad, 0xbe, 0xef])
        let db = try FaceDatabase.open(paths: [dir])
        #expect(db.imageCount == 18)
        let txn = try db.beginRead()
        #expect(
            throws: RecordIOError.corruptRecord(
                file: dir + "/train.rec", offset: offset,
                reason: "magic efbeadde at offset \(offset), expected ced7230a")
        ) { _ = try txn.image(ofImage: 4) }
        let info = try DatabaseInfo(database: db)
        #expect(info.sampleFailed == 1 && info.sampleFailures[0].hasPrefix("5: "))
        let summary = try DatabaseImporter.run(source: db, out: scratch.path + "/out.lmdb")
        #expect(summary.images == 17 && summary.skipped.map(\.path) == ["5"])
        // The instance loader substitutes another image and counts the skip.
        let loader = try InstanceLoader(
            database: db,
            configuration: LoaderConfiguration(
                batchSize: 18, workers: 1, ringCapacity: 1, seed: 1, image: FaceImage(height: 32, width: 32)))
        let batch = try loader.next()
        loader.stop()
        #expect(!batch.images.contains(4) && batch.images.count == 18)
        #expect(loader.stats().skippedRecords >= 1)
    }

    @Test func aCorruptIdentityRecordDropsThatIdentitysImagesAndIsCounted() throws {
        let scratch = ScratchDirectory()
        let dir = try RecordIOFixture.copy(into: scratch)
        // Identity records follow the 18 images: keys 19…26; identity 2 (four images) is key 21.
        let offset = try RecordIOFixture.offset(ofKey: 21, in: dir)
        try RecordIOFixture.patch(dir + "/train.rec", at: offset, with: [0, 0, 0, 0])
        let db = try FaceDatabase.open(paths: [dir])
        #expect(db.parts[0].skippedRecords == 1)
        #expect(db.identityCount == 8 && db.imageCount == 14 && db.images(ofIdentity: 2).isEmpty)
    }

    @Test func aTruncatedFileIsRefusedWithFileAndOffset() throws {
        let scratch = ScratchDirectory()
        let dir = try RecordIOFixture.copy(into: scratch)
        let rec = dir + "/train.rec"
        let size = try FileManager.default.attributesOfItem(atPath: rec)[.size] as! Int
        let last = try RecordIOFixture.offset(ofKey: 26, in: dir)
        #expect(truncate(rec, off_t(size - 4)) == 0)
        #expect(throws: RecordIOError.truncated(file: rec, offset: last, needed: size, size: size - 4)) {
            _ = try FaceDatabase.open(paths: [dir])
        }
    }

    @Test func anIndexPointingPastTheEndIsRefusedWithLineAndOffset() throws {
        let scratch = ScratchDirectory()
        let dir = try RecordIOFixture.copy(into: scratch)
        let rec = dir + "/train.rec"
        let size = try FileManager.default.attributesOfItem(atPath: rec)[.size] as! Int
        let idx = dir + "/train.idx"
        let lines = try String(contentsOfFile: idx, encoding: .utf8).split(separator: "\n").count
        try (try String(contentsOfFile: idx, encoding: .utf8) + "27\t\(size + 100)\n")
            .write(toFile: idx, atomically: true, encoding: .utf8)
        #expect(
            throws: RecordIOError.indexPastEnd(
                file: idx, line: lines + 1, offset: size + 100, recordFile: rec, size: size)
        ) {
            _ = try FaceDatabase.open(paths: [dir])
        }
        try "0\t0\nseven\t40\n".write(toFile: idx, atomically: true, encoding: .utf8)
        #expect(throws: RecordIOError.malformedIndexLine(file: idx, line: 2, text: "seven\t40")) {
            _ = try FaceDatabase.open(paths: [dir])
        }
    }

    @Test func trainsOnTheSet() throws {
        var config = TrainerFixture.config("rec", steps: 3)
        config.databases = [RecordIOFixture.directory]
        config.batchSize = 4
        config.queueSize = 4
        let run = try TrainerFixture.run(config)
        let losses = try TrainerFixture.losses(run)
        #expect(losses.count == 3 && losses.values.allSatisfy(\.isFinite))
    }
}

@Suite struct RecordIOWriterTests {
    @Test func writesTheReferenceSetByteForByte() throws {
        // Every record of the fixture, re-packed from its parsed IRHeader and image and framed by
        // our writer, in idx order: the .rec and .idx must equal what make_rec.py wrote.
        let dir = RecordIOFixture.directory
        let index = try RecordIOFile.readIndex(dir + "/train.idx", recordFile: RecordIOFixture.rec, size: .max)
        let file = try MappedFile(path: RecordIOFixture.rec)
        let scratch = RecordScratch()
        let scratchDir = ScratchDirectory()
        let writer = RecordIOWriter(path: scratchDir.path + "/train.rec")
        for (key, offset) in zip(index.keys, index.offsets) {
            let payload = try RecordIOFile.payload(file, at: offset, scratch)
            let h = try #require(IRHeader.parse(payload))
            let image = Array(payload[h.imageStart...])
            writer.append(
                key: key,
                payload: RecordIOWriter.pack(label: h.label, labels: h.labels, id: h.id, id2: h.id2, image: image))
        }
        try writer.close()
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: scratchDir.path + "/train.rec"))
                == Data(contentsOf: URL(fileURLWithPath: RecordIOFixture.rec)))
        #expect(
            try String(contentsOfFile: scratchDir.path + "/train.idx", encoding: .utf8)
                == String(contentsOfFile: dir + "/train.idx", encoding: .utf8))
    }

    @Test func aWrittenSetReadsBackAsTheDatabaseItCameFrom() throws {
        let scratch = ScratchDirectory()
        let source = try FaceDatabase.open(paths: [DataFixtures.caffe])
        try RecordIOWriter.writeSet(from: source, to: scratch.path + "/set")
        let set = try FaceDatabase.open(paths: [scratch.path + "/set"])
        #expect(set.identityCount == source.identityCount && set.imageCount == source.imageCount)
        let a = try source.beginRead()
        let b = try set.beginRead()
        for y in 0..<source.identityCount {
            let original = source.images(ofIdentity: y)
            let written = set.images(ofIdentity: y)
            #expect(original.count == written.count)
            for (i, j) in zip(original, written) {
                #expect(
                    Array(try #require(try a.image(ofImage: Int(i))))
                        == Array(try #require(try b.image(ofImage: Int(j)))))
            }
        }
    }
}
