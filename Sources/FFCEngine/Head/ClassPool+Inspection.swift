// Head: pool inspection for the console — pages of slots sorted by recency, age, writes or
// drift, and one identity's slot.
import Foundation

extension ClassPool {
    /// Occupied slots sorted by `sort` — recency (most recent first), age (stalest first),
    /// writes (most first) or drift (lowest bank-0/bank-1 cosine first) — from `offset`,
    /// at most `limit` rows. `step` is the current step, for ages.
    /// - Complexity: O(Q·D + Q log Q) for the sort keys, plus one (limit × D)·(D × Q) GEMM for
    ///   the nearest identities of the page.
    public func inspect(sort: PoolSortKey, offset: Int, limit: Int, step: Int) -> [PoolSlotInfo] {
        let order = lru.recencyOrder()
        var rows = order.enumerated().map { rank, entry in
            PoolSlotInfo(
                slot: entry.slot, identity: entry.key, recencyRank: rank,
                ageSteps: step - lastWriteStep[entry.slot],
                writes: writes[entry.slot], positionBit: Int(position[entry.slot]),
                bankCosine: sort == .drift ? bankCosine(entry.slot) : 0, nearestIdentity: -1,
                nearestCosine: 0)
        }
        switch sort {
        case .recency: break
        case .age: rows.sort { ($0.ageSteps, -$0.recencyRank) > ($1.ageSteps, -$1.recencyRank) }
        case .writes: rows.sort { ($0.writes, -$0.recencyRank) > ($1.writes, -$1.recencyRank) }
        case .drift: rows.sort { ($0.bankCosine, $0.recencyRank) < ($1.bankCosine, $1.recencyRank) }
        }
        let start = min(max(offset, 0), rows.count)
        // `limit` comes from the control socket: any Int, so no `start + limit`.
        var page = Array(rows[start..<(start + min(rows.count - start, max(limit, 0)))])
        for i in page.indices { page[i].bankCosine = bankCosine(page[i].slot) }
        fillNearest(&page)
        return page
    }

    /// The slot of `identity`, or nil when it is not in the pool. Does not touch recency.
    /// - Complexity: O(Q) for the recency rank, plus O(Q·D) for the nearest identity.
    public func lookup(identity: Int, step: Int) -> PoolSlotInfo? {
        guard let slot = lru.view(identity) else { return nil }
        let rank = lru.recencyOrder().firstIndex { $0.key == identity } ?? 0
        var page = [
            PoolSlotInfo(
                slot: slot, identity: identity, recencyRank: rank, ageSteps: step - lastWriteStep[slot],
                writes: writes[slot],
                positionBit: Int(position[slot]), bankCosine: bankCosine(slot), nearestIdentity: -1,
                nearestCosine: 0)
        ]
        fillNearest(&page)
        return page[0]
    }

    /// Cosine between the slot's two bank rows; 1 when its identity has only written bank 0.
    func bankCosine(_ slot: Int) -> Float {
        guard writes[slot] >= 2 else { return 1 }
        let d = featureDim
        var dot: Float = 0
        var n0: Float = 0
        var n1: Float = 0
        for j in 0..<d {
            let a = bank0[slot * d + j]
            let b = bank1[slot * d + j]
            dot += a * b
            n0 += a * a
            n1 += b * b
        }
        return dot / max((n0 * n1).squareRoot(), 1e-12)
    }

    /// Nearest other identity in the pool by bank-0 cosine, for each row of `page`.
    private func fillNearest(_ page: inout [PoolSlotInfo]) {
        guard !page.isEmpty else { return }
        let d = featureDim
        let q = capacity
        var queries = [Float](repeating: 0, count: page.count * d)
        for (i, info) in page.enumerated() {
            queries.replaceSubrange(i * d..<(i + 1) * d, with: bank0[info.slot * d..<(info.slot + 1) * d])
        }
        var cos = [Float](repeating: 0, count: page.count * q)
        queries.withUnsafeBufferPointer { a in
            bank0.withUnsafeBufferPointer { b in
                cos.withUnsafeMutableBufferPointer { c in
                    HeadBLAS.gemmABt(
                        m: page.count, n: q, k: d, a: a.baseAddress!, b: b.baseAddress!, c: c.baseAddress!)
                }
            }
        }
        for i in page.indices {
            var best = -Float.infinity
            var bestSlot = -1
            for s in 0..<q where s != page[i].slot && cos[i * q + s] > best && lru.key(atSlot: s) != nil {
                best = cos[i * q + s]
                bestSlot = s
            }
            if bestSlot >= 0 {
                page[i].nearestIdentity = lru.key(atSlot: bestSlot)!
                page[i].nearestCosine = best
            }
        }
    }
}
