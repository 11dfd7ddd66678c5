// Tests for reading FFC-format databases: Datum layouts, kv files, errors, the identity index,
// and parity with what the original (Python/OpenCV) loader feeds the network.
import Foundation
import Testing

@testable import FFCEngine

@Suite struct FaceDatabaseTests {
    @Test func datumReadsBothLayoutsAndSkipsUnknownFields() throws {
        let image: [UInt8] = [0xFF, 0xD8, 1, 2, 3]
        // One-field layout with unknown fixed64 (field 9, wire 1) and fixed32 (field 12, wire 5) around it.
        var one: [UInt8] = [9 << 3 | 1, 0, 0, 0, 0, 0, 0, 0, 0, 1 << 3 | 2, 5] + image
        one += [12 << 3 | 5, 1, 2, 3, 4]
        let parsedOne = try one.withUnsafeBytes { try Datum.parse($0) }
        #expect(Array(one[parsedOne.image]) == image)

        let caffe = Datum.encode(image: image, channels: 3, height: 112, width: 96, label: 7)
        let parsed = try caffe.withUnsafeBytes { try Datum.parse($0) }
        #expect(Array(caffe[parsed.image]) == image)
        #expect(parsed.channels == 3 && parsed.height == 112 && parsed.width == 96)
        #expect(parsed.label == 7 && parsed.encoded == true)

        let truncated = Array(caffe.dropLast(8))
        #expect(throws: DatumError.self) { try truncated.withUnsafeBytes { try Datum.parse($0) } }
    }

    @Test func originalDatabaseDecodesAsOpenCVDoes() throws {
        let db = try FaceDatabase.open(paths: [DataFixtures.caffe])
        let expected = try SafeTensorsFile.read(path: DataFixtures.expected)
        let want = try expected.require("pixels").floats
        let per = 32 * 32 * 3
        let got = try loadAll(db, size: 32)
        #expect(got.count == 9)
        var worst: Float = 0
        for (i, pixels) in got.enumerated() {
            for j in 0..<per { worst = max(worst, abs(pixels[j] - want[i * per + j])) }
        }
        // Same libjpeg-turbo algorithms on both sides: at most a grey level or two of difference.
        #expect(worst <= 2.5 / 128, "largest difference from cv2.imdecode: \(worst * 128) grey levels")
        #expect((0..<9).map(db.label(ofImage:)) == (try expected.require("labels").ints).map { Int($0) })
    }

    @Test func bothLayoutsAndOurWriterLoadIdentically() throws {
        let caffe = try FaceDatabase.open(paths: [DataFixtures.caffe])
        let oneField = try FaceDatabase.open(paths: [DataFixtures.oneField])
        let scratch = ScratchDirectory()
        let ours = scratch.path + "/ours.lmdb"
        // Re-wrap the original image bytes in the Datum we write.
        let txn = try caffe.beginRead()
        var records: [(key: String, value: [UInt8], label: Int)] = []
        for i in 0..<caffe.imageCount {
            let record = try txn.record(ofImage: i)!
            let datum = try Datum.parse(record)
            let bytes = Array(record[datum.image])
            records.append(
                (
                    caffe.key(ofImage: i),
                    Datum.encode(image: bytes, channels: 3, height: 32, width: 32, label: caffe.label(ofImage: i)),
                    caffe.label(ofImage: i)
                ))
        }
        try writeDatabase(ours, records)
        let rewritten = try FaceDatabase.open(paths: [ours])
        let reference = try loadAll(caffe, size: 32)
        #expect(try loadAll(oneField, size: 32) == reference)
        #expect(try loadAll(rewritten, size: 32) == reference)

        let config = LoaderConfiguration(batchSize: 4, workers: 2, seed: 3, image: FaceImage(height: 32, width: 32))
        for db in [oneField, rewritten] {
            let a = try InstanceLoader(database: caffe, configuration: config)
            let b = try InstanceLoader(database: db, configuration: config)
            for _ in 0..<4 {
                let x = try a.next()
                let y = try b.next()
                #expect(x.pixels == y.pixels && x.labels == y.labels)
            }
            a.stop()
            b.stop()
        }
    }

    @Test func identityIndexKeepsGapsAndSingletons() throws {
        let db = try FaceDatabase.open(paths: [DataFixtures.caffe])
        #expect(db.imageCount == 9)
        #expect(db.identityCount == 6)
        #expect(db.presentIdentities == [0, 1, 2, 3, 5])
        #expect(Array(db.images(ofIdentity: 0)) == [0, 1, 2])
        #expect(db.images(ofIdentity: 4).isEmpty)
        #expect(Array(db.images(ofIdentity: 2)) == [5])
        #expect(db.key(ofImage: 8) == "face_0008")
    }

    @Test func databasesConcatenateWithLabelOffsets() throws {
        let db = try FaceDatabase.open(paths: [DataFixtures.caffe, DataFixtures.oneField])
        #expect(db.imageCount == 18)
        #expect(db.identityCount == 12)
        #expect(db.label(ofImage: 9) == 6)
        #expect(db.label(ofImage: 17) == 11)
        #expect(db.parts[1].labelOffset == 6)
        #expect(Array(db.images(ofIdentity: 6)) == [9, 10, 11])
    }

    @Test func malformedKVLineNamesFileAndLine() throws {
        let scratch = ScratchDirectory()
        let kv = scratch.path + "/bad_kv.txt"
        try "face_0000 0\n\nface_0001 x1\n".write(toFile: kv, atomically: true, encoding: .utf8)
        #expect(throws: FaceDatabaseError.malformedKVLine(file: kv, line: 3, text: "face_0001 x1")) {
            _ = try FaceDatabase.open(paths: [DataFixtures.caffe], kvPaths: [kv])
        }
        try "face_0000 0 extra\n".write(toFile: kv, atomically: true, encoding: .utf8)
        #expect(throws: FaceDatabaseError.malformedKVLine(file: kv, line: 1, text: "face_0000 0 extra")) {
            _ = try FaceDatabase.open(paths: [DataFixtures.caffe], kvPaths: [kv])
        }
    }

    @Test func badInputsGetTypedErrors() throws {
        let scratch = ScratchDirectory()
        let missing = scratch.path + "/nope.lmdb"
        #expect(throws: FaceDatabaseError.missingDatabase(path: missing)) {
            _ = try FaceDatabase.open(paths: [missing])
        }
        let kvMissing = scratch.path + "/none_kv.txt"
        #expect(throws: FaceDatabaseError.missingKVFile(path: kvMissing, database: DataFixtures.caffe)) {
            _ = try FaceDatabase.open(paths: [DataFixtures.caffe], kvPaths: [kvMissing])
        }
        let kv = scratch.path + "/extra_kv.txt"
        try "face_0000 0\nface_9999 1\n".write(toFile: kv, atomically: true, encoding: .utf8)
        #expect(
            throws: FaceDatabaseError.keyNotInDatabase(
                key: "face_9999", kvFile: kv, line: 2, database: DataFixtures.caffe)
        ) {
            _ = try FaceDatabase.open(paths: [DataFixtures.caffe], kvPaths: [kv])
        }
        try "\n".write(toFile: kv, atomically: true, encoding: .utf8)
        #expect(throws: FaceDatabaseError.emptyDatabase(path: DataFixtures.caffe)) {
            _ = try FaceDatabase.open(paths: [DataFixtures.caffe], kvPaths: [kv])
        }
        #expect(FaceDatabase.defaultKVPath(for: "/d/train.lmdb/") == "/d/train_kv.txt")
    }

    @Test func writerGrowsTheMapWhenFull() throws {
        let scratch = ScratchDirectory()
        let path = scratch.path + "/grow.lmdb"
        let writer = try LMDBWriter(path: path, initialMapSizeBytes: 64 << 10, recordsPerCommit: 50)
        let value = [UInt8](repeating: 7, count: 5000)
        for i in 0..<200 { try writer.put(key: SyntheticDatabase.key(i), value: value + [UInt8(i)]) }
        try writer.close()
        #expect(writer.mapSizeBytes > 64 << 10)
        let reader = try LMDBReader(path: path)
        #expect(try reader.count() == 200)
        let txn = try reader.beginRead()
        #expect(try txn.get(SyntheticDatabase.key(123)).map { $0[5000] } == 123)
    }

    @Test func infoReportsCountsDistributionAndDecodeCheck() throws {
        let db = try FaceDatabase.open(paths: [DataFixtures.caffe])
        let info = try DatabaseInfo(database: db, sample: 100)
        #expect(info.identities == 6 && info.identitiesWithImages == 5 && info.images == 9)
        #expect(info.imagesPerIdentityMin == 1 && info.imagesPerIdentityMax == 3 && info.imagesPerIdentityMedian == 2)
        #expect(info.histogram.map(\.identities) == [2, 2, 1])
        #expect(info.sampleChecked == 9 && info.sampleFailed == 0 && info.sampleSizes == ["32x32": 9])
    }
}
