// CPUFeatures: the engine is compiled for AVX2 and FMA (Package.swift), so `ffc` checks the
// CPU before calling into it and stops with a clear message instead of an illegal instruction.
// This file's target is compiled for the baseline x86-64, so the check itself runs anywhere.
import Foundation

enum CPUFeatures {
    /// The instruction-set extensions FFCEngine's code uses.
    static let required = ["avx2", "fma"]

    /// Names from `required` that /proc/cpuinfo's first `flags` line does not list; empty when
    /// the file cannot be read (not Linux), so the check never blocks a run it cannot judge.
    static func missing() -> [String] {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return [] }
        let flags = Set(line.split(separator: " ").map(String.init))
        return required.filter { !flags.contains($0) }
    }

    /// Exits with status 1 and the reason when the CPU lacks what the engine was built for.
    static func requireEngineFeatures() {
        #if arch(x86_64)
            let absent = missing()
            guard absent.isEmpty else {
                FileHandle.standardError.write(
                    Data(
                        ("ffc: this CPU lacks \(absent.joined(separator: ", ")); FFCEngine is built for AVX2 and FMA "
                            + "(remove the -mavx2/-mfma flags in Package.swift to build for older CPUs)\n").utf8))
                exit(1)
            }
        #endif
    }
}
