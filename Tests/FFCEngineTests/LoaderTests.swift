// Tests for the dual loaders and `ffc synth` output: determinism across worker counts,
// epoch coverage, identity pairs, resume, corrupt-record handling.
import Foundation
import Testing

@testable import FFCEngine

@Suite struct LoaderTests {
    /// 7 identities × 3 images plus one singleton (identity 7), 24×24, written by `ffc synth`'s code.
    static func synthDatabase(_ scratch: ScratchDirectory, holdout: Int = 0, pairs: Int = 0) throws -> SynthOptions {
        let options = SynthOptions(
            identities: 8, images: .fixed(3), size: 24, seed: 9, out: scratch.path + "/s.lmdb", holdout: holdout,
            pairs: pairs)
        _ = try SyntheticDatabase.write(options)
        return options
    }

    static func config(workers: Int, batch: Int = 5, seed: UInt64 = 1) -> LoaderConfiguration {
        LoaderConfiguration(
            batchSize: batch, workers: workers, ringCapacity: 3, seed: seed, image: FaceImage(height: 24, width: 24))
    }

    /// The run summary's "resized to the net's input" line compares this with the input side.
    @Test func storedImageSizeIsTheDatabasesOwn() throws {
        let scratch = ScratchDirectory()
        let db = try FaceDatabase.open(paths: [try Self.synthDatabase(scratch).out])
        let size = try #require(db.storedImageSize())
        #expect(size.width == 24 && size.height == 24)
    }

    @Test func synthWritesHoldoutAndHalfSamePairs() throws {
        let scratch = ScratchDirectory()
        let options = try Self.synthDatabase(scratch, holdout: 3, pairs: 10)
        let train = try FaceDatabase.open(paths: [options.out])
        #expect(train.imageCount == 24 && train.identityCount == 8)
        let holdout = try FaceDatabase.open(paths: [options.holdoutPath])
        #expect(holdout.identityCount == 3)
        let lines = try String(contentsOfFile: options.pairsPath, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 10)
        let keys = Set((0..<holdout.imageCount).map(holdout.key(ofImage:)))
        var same = 0
        for line in lines {
            let f = line.split(separator: " ").map(String.init)
            #expect(keys.contains(f[0]) && keys.contains(f[1]) && f[0] != f[1])
            same += f[2] == "1" ? 1 : 0
        }
        #expect(same == 5)
        let parsed = try VerificationPairs(path: options.pairsPath)
        let resolved = try parsed.imageIndices(in: holdout)
        #expect(resolved.count == 10 && resolved.filter(\.same).count == 5)
        for pair in resolved {
            let sameLabel = holdout.label(ofImage: pair.first) == holdout.label(ofImage: pair.second)
            #expect(sameLabel == pair.same)
        }
        #expect(try loadAll(holdout, size: 24).count == 9)
    }

    @Test func renderIsDeterministicAndIdentitiesDiffer() {
        let a = SyntheticFaces.render(identity: 3, variant: 1, size: 32, seed: 5)
        #expect(a == SyntheticFaces.render(identity: 3, variant: 1, size: 32, seed: 5))
        #expect(a.count == 32 * 32 * 3)
        #expect(a != SyntheticFaces.render(identity: 3, variant: 2, size: 32, seed: 5))
        #expect(a != SyntheticFaces.render(identity: 4, variant: 1, size: 32, seed: 5))
    }

    @Test func instanceBatchesDoNotDependOnWorkerCount() throws {
        let scratch = ScratchDirectory()
        let db = try FaceDatabase.open(paths: [try Self.synthDatabase(scratch).out])
        let one = try InstanceLoader(database: db, configuration: Self.config(workers: 1))
        let two = try InstanceLoader(database: db, configuration: Self.config(workers: 2))
        defer {
            one.stop()
            two.stop()
        }
        #expect(one.batchesPerEpoch == 4)  // 24 images / 5, last 4 dropped
        var epoch0: [Int] = []
        for i in 0..<8 {
            let x = try one.next()
            let y = try two.next()
            #expect(x.index == i && x.pixels == y.pixels && x.labels == y.labels && x.images == y.images)
            #expect(x.pixels.count == 5 * 24 * 24 * 3)
            if i < 4 { epoch0 += x.images }
        }
        #expect(Set(epoch0).count == 20)  // no image twice within an epoch
        #expect(one.epoch == 2)
    }

    @Test func restoredLoaderContinuesTheSameStream() throws {
        let scratch = ScratchDirectory()
        let db = try FaceDatabase.open(paths: [try Self.synthDatabase(scratch).out])
        let original = try InstanceLoader(database: db, configuration: Self.config(workers: 2))
        for _ in 0..<3 { _ = try original.next() }
        let state = original.state
        #expect(state == LoaderState(seed: 1, nextBatch: 3))
        let expected = try original.next()
        original.stop()
        let restored = try InstanceLoader(database: db, configuration: Self.config(workers: 1, seed: 77), state: state)
        defer { restored.stop() }
        let again = try restored.next()
        #expect(again.index == 3 && again.pixels == expected.pixels && again.labels == expected.labels)
    }

    @Test func identityPairsShareLabelsAndCoverEveryIdentity() throws {
        let scratch = ScratchDirectory()
        let options = SynthOptions(identities: 6, images: .fixed(2), size: 24, seed: 2, out: scratch.path + "/p.lmdb")
        _ = try SyntheticDatabase.write(options)
        // Add a singleton identity through a second database (label offset 6).
        let single = scratch.path + "/one.lmdb"
        let rgb = SyntheticFaces.render(identity: 99, variant: 0, size: 24, seed: 2)
        let jpeg = try ImageCodec.encodeJPEG(rgb, width: 24, height: 24)
        try writeDatabase(
            single, [("solo", Datum.encode(image: jpeg, channels: 3, height: 24, width: 24, label: 0), 0)])
        let db = try FaceDatabase.open(paths: [options.out, single])
        let loader = try IdentityLoader(database: db, configuration: Self.config(workers: 2, batch: 7))
        let other = try IdentityLoader(database: db, configuration: Self.config(workers: 1, batch: 7))
        defer {
            loader.stop()
            other.stop()
        }
        for round in 0..<3 {
            let batch = try loader.next()
            let twin = try other.next()
            #expect(batch.firsts.pixels == twin.firsts.pixels && batch.seconds.images == twin.seconds.images)
            #expect(batch.firsts.labels == batch.seconds.labels)
            #expect(Set(batch.firsts.labels) == Set(0..<7), "round \(round): every identity once per epoch")
            for k in 0..<7 {
                let distinct = batch.firsts.images[k] != batch.seconds.images[k]
                #expect(distinct == (batch.firsts.labels[k] != 6))
            }
        }
        #expect(loader.epoch == 3)
        let stats = loader.stats()
        #expect(stats.name == "identity" && stats.ringCapacity == 3 && stats.epoch == 3)
    }

    @Test func corruptRecordsAreReplacedCountedAndBounded() throws {
        let scratch = ScratchDirectory()
        let path = scratch.path + "/bad.lmdb"
        var records: [(key: String, value: [UInt8], label: Int)] = []
        for i in 0..<6 {
            let rgb = SyntheticFaces.render(identity: i / 2, variant: i, size: 24, seed: 4)
            let jpeg = try ImageCodec.encodeJPEG(rgb, width: 24, height: 24)
            records.append(
                ("k\(i)", Datum.encode(image: jpeg, channels: 3, height: 24, width: 24, label: i / 2), i / 2))
        }
        records[2].value = Datum.encode(
            image: [0xFF, 0xD8, 0xFF, 0, 1, 2], channels: 3, height: 24, width: 24, label: 1)
        try writeDatabase(path, records)
        let db = try FaceDatabase.open(paths: [path])
        var config = Self.config(workers: 1, batch: 6)
        let tolerant = try InstanceLoader(database: db, configuration: config)
        let batch = try tolerant.next()
        tolerant.stop()
        #expect(!batch.images.contains(2))
        #expect(tolerant.stats().skippedRecords >= 1)

        config.maxSkippedRecords = 0
        let strict = try InstanceLoader(database: db, configuration: config)
        defer { strict.stop() }
        #expect {
            _ = try strict.next()
        } throws: { error in
            guard case FaceDatabaseError.tooManySkippedRecords(_, 0, "k2", _) = error else { return false }
            return true
        }
    }

    @Test func flipMirrorsTheImage() throws {
        let rgb = SyntheticFaces.render(identity: 1, variant: 0, size: 8, seed: 0)
        let image = FaceImage(height: 8, width: 8)
        var plain = [Float](repeating: 0, count: 192)
        var mirrored = plain
        try rgb.withUnsafeBufferPointer { p in
            try plain.withUnsafeMutableBufferPointer {
                try image.fitAndNormalise(rgb: p, width: 8, height: 8, flip: false, into: $0)
            }
            try mirrored.withUnsafeMutableBufferPointer {
                try image.fitAndNormalise(rgb: p, width: 8, height: 8, flip: true, into: $0)
            }
        }
        for y in 0..<8 {
            for x in 0..<8 {
                let a = (y * 8 + x) * 3
                let b = (y * 8 + 7 - x) * 3
                #expect(mirrored[a..<(a + 3)] == plain[b..<(b + 3)], "pixel \(x),\(y)")
            }
        }
        // BGR order and (v − 127.5) / 128.
        #expect(plain[0] == (Float(rgb[2]) - 127.5) / 128 && plain[2] == (Float(rgb[0]) - 127.5) / 128)
    }

    @Test func statsDescribeTheRingAndEpochProgress() throws {
        let scratch = ScratchDirectory()
        let db = try FaceDatabase.open(paths: [try Self.synthDatabase(scratch).out])
        let loader = try InstanceLoader(database: db, configuration: Self.config(workers: 2))
        defer { loader.stop() }
        _ = loader.stats()
        for _ in 0..<6 { _ = try loader.next() }
        let stats = loader.stats()
        #expect(stats.name == "instance" && stats.ringCapacity == 3 && stats.ringFill <= 3)
        #expect(stats.batchesPerSecond > 0)
        #expect(stats.workerBusyShare > 0 && stats.workerBusyShare <= 1)
        #expect(stats.trainerWaitShare >= 0 && stats.trainerWaitShare <= 1)
        #expect(stats.epoch == 1 && stats.epochProgress == 0.5)
        #expect(stats.skippedRecords == 0)
    }

    @Test func longTailCountsAreBoundedAndSkewed() {
        let counts = (0..<2000).map { SyntheticFaces.longTailCount(identity: $0, seed: 1, maxImages: 50) }
        #expect(counts.min() == 1 && counts.max()! <= 50)
        let singletons = counts.filter { $0 == 1 }.count
        #expect(singletons > 600 && singletons < 1400, "about half the identities have one image: \(singletons)")
        #expect(counts.filter { $0 >= 20 }.count > 10)
    }
}
