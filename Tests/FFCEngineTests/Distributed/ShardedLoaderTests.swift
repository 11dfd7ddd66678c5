// Tests for the distributed sampler: R ranks' shards of a global batch are disjoint and are,
// row for row, the batch one process loads (images, labels, flips: the pixels), so the
// multi-rank runs of scripts/mpi-test see the same data as the single process. The MPI
// side itself runs under mpirun in scripts/mpi-test and scripts/mpi-netns-test.
import Foundation
import Testing

@testable import FFCEngine

@Suite struct ShardedLoaderTests {
    static func config(batch: Int, rank: Int, ranks: Int) -> LoaderConfiguration {
        var c = LoaderTests.config(workers: 1, batch: batch)
        c.shard = LoaderShard(rank: rank, ranks: ranks)
        return c
    }

    @Test func shardRowsAreDisjointAndCoverTheGlobalBatch() {
        for (b, ranks) in [(6, 2), (4, 3), (5, 2), (12, 1)] {
            let split = (0..<ranks).flatMap { r in
                (0..<b).map { LoaderShard(rank: r, ranks: ranks).splitRow($0, batchSize: b) }
            }
            let plain = (0..<ranks).flatMap { r in
                (0..<b).map { LoaderShard(rank: r, ranks: ranks).row($0, batchSize: b) }
            }
            #expect(Set(split) == Set(0..<(ranks * b)) && split.count == ranks * b)
            #expect(plain == Array(0..<(ranks * b)))
        }
        // First halves of every rank come first: rank 1's first row of B = 6 over 2 ranks is row 3.
        #expect(LoaderShard(rank: 1, ranks: 2).splitRow(0, batchSize: 6) == 3)
        #expect(LoaderShard(rank: 0, ranks: 2).splitRow(3, batchSize: 6) == 6)
    }

    @Test func twoRanksOfInstancesAreTheSingleProcessBatch() throws {
        let scratch = ScratchDirectory()
        let db = try FaceDatabase.open(paths: [try LoaderTests.synthDatabase(scratch).out])
        let whole = try InstanceLoader(database: db, configuration: Self.config(batch: 8, rank: 0, ranks: 1))
        let ranks = try (0..<2).map {
            try InstanceLoader(database: db, configuration: Self.config(batch: 4, rank: $0, ranks: 2))
        }
        defer { ([whole] + ranks).forEach { $0.stop() } }
        #expect(ranks[0].batchesPerEpoch == whole.batchesPerEpoch)
        let per = 24 * 24 * 3
        for _ in 0..<5 {
            let w = try whole.next()
            let parts = try ranks.map { try $0.next() }
            // Halves as the step splits them: x takes rows [0, B/2) of each, y the rest.
            let firstHalves = parts.flatMap { $0.images[0..<2] }
            let secondHalves = parts.flatMap { $0.images[2...] }
            #expect(firstHalves + secondHalves == w.images)
            #expect(
                Array(parts[0].pixels[0..<(2 * per)]) + parts[1].pixels[0..<(2 * per)] == Array(w.pixels[0..<(4 * per)])
            )
            #expect(Set(parts[0].images).isDisjoint(with: parts[1].images))
        }
    }

    @Test func twoRanksOfPairsAreTheSingleProcessBatch() throws {
        let scratch = ScratchDirectory()
        let db = try FaceDatabase.open(paths: [try LoaderTests.synthDatabase(scratch).out])
        let whole = try IdentityLoader(database: db, configuration: Self.config(batch: 6, rank: 0, ranks: 1))
        let ranks = try (0..<2).map {
            try IdentityLoader(database: db, configuration: Self.config(batch: 3, rank: $0, ranks: 2))
        }
        defer { ([whole] + ranks).forEach { $0.stop() } }
        for _ in 0..<4 {
            let w = try whole.next()
            let parts = try ranks.map { try $0.next() }
            #expect(parts.flatMap(\.firsts.images) == w.firsts.images)
            #expect(parts.flatMap(\.seconds.labels) == w.seconds.labels)
            #expect(parts.flatMap(\.seconds.pixels) == w.seconds.pixels)
        }
        #expect(ranks[1].epoch == whole.epoch)
    }

    @Test func singleProcessCommunicatorIsTheIdentity() {
        let one = SingleProcessCommunicator()
        var values: [Float] = [1, 2, 3]
        one.allReduceAverage(&values)
        #expect(values == [1, 2, 3] && one.allGather([7, 8]) == [7, 8] && one.broadcast(bytes: [1, 2]) == [1, 2])
        #expect(one.rank == 0 && one.size == 1 && one.isLeader)
    }
}
