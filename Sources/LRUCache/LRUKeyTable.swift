// LRUKeyTable: the key → slot index behind LRUCache, one cache line per lookup.
//
// The table is an array of 64-byte groups (one cache line each). A group holds up to 15
// entries, packed at its start, and in its last 32-bit lane a control word: the number of
// entries (low 4 bits) and the number of keys whose insertion passed over the group because it
// was full (its overflow count, above). An entry is 32 bits: the key's fingerprint in the high
// bits (top bit always set, so 0 means empty and no control word looks like an entry) and the
// slot in the low `slotBits`. A key lives in its home group unless that was full. The whole
// group is compared at once with SIMD, so a lookup, insertion or removal touches one line and
// takes no data-dependent branch in the common case — which matters more than instruction
// count: a mispredicted branch that waits on a cache miss serialises the operations. A
// fingerprint match is confirmed against the slot record's key. There are ⌈capacity / 8⌉
// groups (load ≤ 8/15), 8 bytes per slot.

/// A non-owning view of the groups (LRUCacheStorage owns them), so the hot path reaches them
/// without reference counting.
struct LRUKeyTable {
    typealias Group = SIMD16<UInt32>

    /// (groupCount × 64 bytes, 64-aligned) the groups.
    let groups: UnsafeMutableRawPointer
    let groupCount: Int
    /// Slots are `0..<capacity`.
    let capacity: Int
    /// Low bits of an entry that hold the slot.
    let slotMask: UInt32
    /// 2^i in lane i. Stored rather than a literal: given the constant, the optimiser rewrites
    /// the masking and OR into three times as many shuffles.
    let laneWeights = Group(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768)

    static let groupBytes = 64
    /// Entries per group; lane 15 is the control word.
    static let entriesPerGroup = 15
    static let controlLane = 15
    /// Control word: entry count in the low bits, overflow count above.
    static let countMask: UInt32 = 0xF
    static let overflowUnit: UInt32 = 0x10
    /// An overflow count this high stays (lookups then always go on to the next group).
    static let overflowSaturated: UInt32 = 0x7FFF_FFF0

    /// Where a key's search starts and the fingerprint its entry carries: computed once per
    /// operation and shared by lookup and insertion.
    struct Probe {
        let home: Int
        /// Fingerprint bits of the entry (slot bits zero, top bit set).
        let tag: UInt32
    }

    /// Groups for `capacity` keys: at most 8 keys per 15 entries on average.
    static func groupCount(capacity: Int) -> Int {
        (capacity + 7) / 8
    }

    /// An empty table for slots `0..<capacity`.
    static func allocate(capacity: Int) -> LRUKeyTable {
        let groupCount = groupCount(capacity: capacity)
        let groups = UnsafeMutableRawPointer.allocate(
            byteCount: groupCount * groupBytes, alignment: groupBytes)
        groups.initializeMemory(as: UInt32.self, repeating: 0, count: groupCount * 16)
        let slotBits = max(1, Int.bitWidth - (capacity - 1).leadingZeroBitCount)
        return LRUKeyTable(
            groups: groups, groupCount: groupCount, capacity: capacity, slotMask: UInt32((1 << slotBits) - 1))
    }

    var byteCount: Int { groupCount * Self.groupBytes }

    // MARK: - Groups

    @inline(__always)
    func group(_ index: Int) -> Group {
        groups.load(fromByteOffset: index &* Self.groupBytes, as: Group.self)
    }

    @inline(__always)
    func setGroup(_ index: Int, _ group: Group) {
        groups.storeBytes(of: group, toByteOffset: index &* Self.groupBytes, as: Group.self)
    }

    @inline(__always)
    func word(_ index: Int, _ lane: Int) -> UInt32 {
        groups.load(fromByteOffset: index &* Self.groupBytes &+ lane &* 4, as: UInt32.self)
    }

    @inline(__always)
    func setWord(_ index: Int, _ lane: Int, _ value: UInt32) {
        groups.storeBytes(of: value, toByteOffset: index &* Self.groupBytes &+ lane &* 4, as: UInt32.self)
    }

    @inline(__always)
    func next(_ index: Int) -> Int {
        index &+ 1 == groupCount ? 0 : index &+ 1
    }

    // MARK: - Operations

    /// The home group (multiplicative hash, range-reduced by the high half of a product) and
    /// the fingerprint (from the low half, which the home hardly depends on) of `key`.
    @inline(__always)
    func probe(_ key: Int32) -> Probe {
        let hash = UInt64(UInt32(bitPattern: key)) &* 0x9E37_79B9_7F4A_7C15
        let home = Int(truncatingIfNeeded: hash.multipliedFullWidth(by: UInt64(groupCount)).high)
        return Probe(home: home, tag: (UInt32(truncatingIfNeeded: hash) | 0x8000_0000) & ~slotMask)
    }

    /// Bit `i` set where lane `i` of `mask` is set (what SSE2's `pmovmskb` gives; Swift has no
    /// such call): each set lane keeps its weight 2^i, and the lanes are ORed together.
    @inline(__always)
    func laneBits(_ mask: SIMDMask<Group.MaskStorage>) -> UInt32 {
        Self.orAcross(unsafeBitCast(mask, to: Group.self) & laneWeights)
    }

    /// Bitwise OR of the 16 lanes. (Written out: the standard library's reductions are not
    /// inlined into the operations, and a call costs more than the work.)
    @inline(__always)
    static func orAcross(_ group: Group) -> UInt32 {
        let quarters = unsafeBitCast(
            group, to: (SIMD4<UInt32>, SIMD4<UInt32>, SIMD4<UInt32>, SIMD4<UInt32>).self)
        let halves = unsafeBitCast(quarters.0 | quarters.1 | quarters.2 | quarters.3, to: (UInt64, UInt64).self)
        let both = halves.0 | halves.1
        return UInt32(truncatingIfNeeded: both) | UInt32(truncatingIfNeeded: both &>> 32)
    }

    /// The lanes of group `index` whose fingerprint is the probe's, as bits.
    @inline(__always)
    func fingerprintMatches(_ index: Int, _ probe: Probe) -> UInt32 {
        laneBits(group(index) & Group(repeating: ~slotMask) .== Group(repeating: probe.tag))
    }

    /// The slot holding `key`, or -1; `records` confirms fingerprint matches.
    /// - Complexity: O(1) expected: one group unless the home group overflowed.
    @inline(__always)
    func slot(of key: Int32, _ probe: Probe, records: UnsafeMutablePointer<LRUSlotRecord>) -> Int32 {
        let found = slot(of: key, probe, inGroup: probe.home, records: records)
        if found >= 0 || word(probe.home, Self.controlLane) < Self.overflowUnit { return found }
        return slot(of: key, probe, after: probe.home, records: records)
    }

    /// The slot holding `key` among the entries of group `index`, or -1.
    @inline(__always)
    func slot(of key: Int32, _ probe: Probe, inGroup index: Int, records: UnsafeMutablePointer<LRUSlotRecord>)
        -> Int32
    {
        var matches = fingerprintMatches(index, probe)
        while matches != 0 {
            let slot = Int32(bitPattern: word(index, matches.trailingZeroBitCount) & slotMask)
            if records[Int(slot)].key == key { return slot }
            matches &= matches &- 1
        }
        return -1
    }

    /// The rest of a lookup whose home group overflowed: the groups after `home` its key's
    /// insertion may have passed over. Kept out of line so the common case stays small.
    @inline(never)
    func slot(of key: Int32, _ probe: Probe, after home: Int, records: UnsafeMutablePointer<LRUSlotRecord>)
        -> Int32
    {
        var index = next(home)
        for _ in 1..<max(groupCount, 1) {
            let found = slot(of: key, probe, inGroup: index, records: records)
            if found >= 0 || word(index, Self.controlLane) < Self.overflowUnit { return found }
            index = next(index)
        }
        return -1
    }

    /// The slot of `key`, or -1.
    /// - Complexity: O(1) expected.
    func slot(of key: Int32, records: UnsafeMutablePointer<LRUSlotRecord>) -> Int32 {
        slot(of: key, probe(key), records: records)
    }

    /// Files `slot` under the key of `probe`, which must be absent: after the entries of the
    /// home group, or of the first group after it with room, counting the overflow in every
    /// full group passed.
    /// - Complexity: O(1) expected.
    @inline(__always)
    func insert(_ probe: Probe, slot: Int32) {
        let control = word(probe.home, Self.controlLane)
        let count = Int(control & Self.countMask)
        guard count < Self.entriesPerGroup else { return insertPastFullHome(probe, slot: slot) }
        setWord(probe.home, count, probe.tag | UInt32(bitPattern: slot))
        setWord(probe.home, Self.controlLane, control &+ 1)
    }

    /// `insert` when the home group is full (out of line, so the common case stays small).
    @inline(never)
    func insertPastFullHome(_ probe: Probe, slot: Int32) {
        var index = probe.home
        for _ in 0..<groupCount {
            let control = word(index, Self.controlLane)
            let count = Int(control & Self.countMask)
            if count < Self.entriesPerGroup {
                setWord(index, count, probe.tag | UInt32(bitPattern: slot))
                setWord(index, Self.controlLane, control &+ 1)
                return
            }
            if control < Self.overflowSaturated {
                setWord(index, Self.controlLane, control &+ Self.overflowUnit)
            }
            index = next(index)
        }
        preconditionFailure("LRU key table has no free entry")
    }

    /// Files `slot` under `key`, which must be absent.
    /// - Complexity: O(1) expected.
    @inline(__always)
    func insert(_ key: Int32, slot: Int32) {
        insert(probe(key), slot: slot)
    }

    /// Removes the entry of the key of `probe`, which must be filed under `slot`: the group's
    /// last entry takes its place, and the overflow counts its insertion added are undone.
    /// - Complexity: O(1) expected.
    @inline(__always)
    func remove(_ probe: Probe, slot: Int32) {
        if !remove(probe.tag | UInt32(bitPattern: slot), inGroup: probe.home) {
            removePastHome(probe, slot: slot)
        }
    }

    /// Removes `entry` from group `index` if it is there; returns whether it was.
    @inline(__always)
    func remove(_ entry: UInt32, inGroup index: Int) -> Bool {
        // Entries are unique: at most one lane matches.
        let match = laneBits(group(index) .== Group(repeating: entry))
        guard match != 0 else { return false }
        let control = word(index, Self.controlLane)
        let last = Int(control & Self.countMask) &- 1
        setWord(index, match.trailingZeroBitCount, word(index, last))
        setWord(index, last, 0)
        setWord(index, Self.controlLane, control &- 1)
        return true
    }

    /// `remove` when the entry is not in its home group: it lies in a later one, and every
    /// group before it counted its insertion as an overflow (out of line, so the common case
    /// stays small).
    @inline(never)
    func removePastHome(_ probe: Probe, slot: Int32) {
        let entry = probe.tag | UInt32(bitPattern: slot)
        var index = probe.home
        for _ in 0..<groupCount {
            if remove(entry, inGroup: index) { return }
            let control = word(index, Self.controlLane)
            if control < Self.overflowSaturated {
                setWord(index, Self.controlLane, control &- Self.overflowUnit)
            }
            index = next(index)
        }
        preconditionFailure("LRU key table does not file slot \(slot)")
    }

    /// Removes `key`, which must be filed under `slot`.
    /// - Complexity: O(1) expected.
    @inline(__always)
    func remove(_ key: Int32, slot: Int32) {
        remove(probe(key), slot: slot)
    }

    /// Calls `body` with the slot of every entry, group by group.
    /// - Complexity: O(groups).
    func forEachSlot(_ body: (Int32) -> Void) {
        for index in 0..<groupCount {
            for lane in 0..<Int(word(index, Self.controlLane) & Self.countMask) {
                body(Int32(bitPattern: word(index, lane) & slotMask))
            }
        }
    }

    /// The control word of every group, recomputed from the packed entries and from where each
    /// key sits relative to its home; `_checkInvariants` compares it with the stored words.
    /// - Complexity: O(groups × 15 × walk).
    func expectedControlWords(records: UnsafeMutablePointer<LRUSlotRecord>) -> [UInt32] {
        var words = [UInt32](repeating: 0, count: groupCount)
        for index in 0..<groupCount {
            for lane in 0..<Self.entriesPerGroup where word(index, lane) != 0 {
                words[index] += 1
                let slot = Int(word(index, lane) & slotMask)
                var passed = probe(records[slot].key).home
                while passed != index {
                    words[passed] += Self.overflowUnit
                    passed = next(passed)
                }
            }
        }
        return words
    }
}
