// Debian's OpenBLAS 0.3.21 picks its kernels when the library loads. It does not know some
// newer Intel Xeons (AVX-512 parts reporting a generic model) and falls back to its slowest
// generic kernels ("Prescott"), which run sgemm 3–5× slower. OpenBLAS reads OPENBLAS_CORETYPE
// only at load time, so the fix has to happen before the process starts: when the detection
// fell back and the CPU has AVX2 and FMA, `ffc` sets OPENBLAS_CORETYPE=Haswell and re-executes
// itself once. A value the user set is always respected.
import FFCEngine
import Foundation

enum OpenBLASCore {
    static func reexecIfMisdetected() {
        guard getenv("OPENBLAS_CORETYPE") == nil else { return }
        guard BLAS.coreName.lowercased() == "prescott", cpuHasAVX2AndFMA() else { return }
        setenv("OPENBLAS_CORETYPE", "Haswell", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // execv returns only on failure; carry on with the slow kernels rather than stop.
    }

    private static func cpuHasAVX2AndFMA() -> Bool {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let flagsLine = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return false }
        let flags = Set(flagsLine.split(separator: " "))
        return flags.contains("avx2") && flags.contains("fma")
    }
}
