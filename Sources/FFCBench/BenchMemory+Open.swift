// `ffc bench memory`: the identity index rows, before and after the cache beside the kv file —
// what opening the database takes without it and with it (`ffc bench open` measures the same on
// a million identities).
import FFCEngine
import Foundation

extension BenchMemory {
    /// Rows for opening `database` without the index cache and with it (read, not built).
    func openRows(_ database: String) throws -> [Row] {
        let measured = try BenchOpen.measure(database, runs: 1)
        return measured.filter { $0.measure != "cache cold (builds it)" }.map { r in
            Row(
                measure: r.measure == "no index cache" ? "open, no cache" : "open, cached",
                step: nil, bytes: r.anonBytes,
                bytesPerMillionIdentities: Double(r.anonBytes) * 1e6 / Double(max(1, r.identities)),
                note: String(
                    format: "%.3f s; %.2f MiB of the %.0f MiB LMDB mapped (file column)", r.seconds,
                    Double(r.mappedBytes) / 1_048_576, Double(r.dataFileBytes) / 1_048_576),
                anonBytes: r.anonBytes, fileBytes: r.mappedBytes)
        }
    }
}
