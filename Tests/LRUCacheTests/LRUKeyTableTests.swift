// LRUKeyTableTests: the key table's rare paths — full groups that overflow into the next ones
// (with wrap-around) and fingerprint collisions — which random keys almost never reach.

import FFCEngine
import Testing

@testable import LRUCache

@Suite("LRUKeyTable overflow and fingerprint collisions")
struct LRUKeyTableTests {
    @Test func collidingFingerprintsAcrossOverflowingGroupsAreFoundAndRemoved() {
        let capacity = 64
        let table = LRUKeyTable.allocate(capacity: capacity)
        let records = UnsafeMutablePointer<LRUSlotRecord>.allocate(capacity: capacity)
        defer {
            table.groups.deallocate()
            records.deallocate()
        }
        records.initialize(repeating: .free, count: capacity)
        // 40 keys that all claim the last group and one fingerprint: they fill it, wrap around
        // to group 0 and on, and every lookup must fall back to checking the records.
        let probe = LRUKeyTable.Probe(home: table.groupCount - 1, tag: 0x8000_0000)
        let slots = Array(0..<40).map { Int32($0) }
        for slot in slots {
            records[Int(slot)].key = 1_000 + slot
            table.insert(probe, slot: slot)
        }
        #expect(table.word(table.groupCount - 1, LRUKeyTable.controlLane) == 15 + 25 * LRUKeyTable.overflowUnit)
        #expect(table.word(0, LRUKeyTable.controlLane) == 15 + 10 * LRUKeyTable.overflowUnit)
        for slot in slots {
            #expect(table.slot(of: 1_000 + slot, probe, records: records) == slot)
        }
        #expect(table.slot(of: 999, probe, records: records) == -1)
        var rng = SeededRandom(seed: 0x7AB1E)
        var remaining = slots.shuffled(using: &rng)
        while let slot = remaining.popLast() {
            table.remove(probe, slot: slot)
            records[Int(slot)] = .free
            #expect(table.slot(of: 1_000 + slot, probe, records: records) == -1)
            for other in remaining {
                #expect(table.slot(of: 1_000 + other, probe, records: records) == other)
            }
        }
        for group in 0..<table.groupCount {
            #expect(table.word(group, LRUKeyTable.controlLane) == 0)
        }
    }

    @Test func cacheWithKeysSharingOneHomeGroupMatchesTheModel() throws {
        let capacity = 48
        var cache = try LRUCache(capacity: capacity)
        var model = ReferenceLRU(capacity: capacity)
        // Keys whose home is group 0: three groups' worth, so inserts overflow and wrap.
        let table = cache.keys
        let keys = (0...).lazy.filter { table.probe(Int32($0)).home == 0 }.prefix(45)
        let pool = Array(keys) + [1, 2, 3, 4, 5]
        var rng = SeededRandom(seed: 0x0F10)
        for operation in 0..<4_000 {
            let key = pool.randomElement(using: &rng)!
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<4:
                #expect(cache.get(key) == model.access(key, step: nil, journaled: false))
            case 4..<8:
                #expect(cache.tryGet(key) == model.access(key, step: nil, journaled: true))
            default:
                let steps = Int.random(in: 0...8, using: &rng)
                cache.rollback(steps)
                model.rollback(steps)
            }
            #expect(cache.exportState().elementsEqual(model.pairs, by: ==))
            if operation % 16 == 0 {
                cache._checkInvariants()
                for key in pool { #expect(cache.view(key) == model.view(key)) }
            }
        }
    }
}
