// The `ffc` executable: a thin command-line shell over FFCEngine and the console.
import ArgumentParser
import FFCBench
import FFCEngine

@main
struct FFC: ParsableCommand {
    static func main() {
        // OpenBLAS picks its kernels at load time; restart with the right ones when it fell back.
        BLAS.restartWithFastKernelsIfNeeded()
        main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "ffc",
        abstract: "Train face recognition with Fast Face Classification (F²C) on CPUs.",
        subcommands: [
            Train.self,
            Demo.self,
            Attach.self,
            Runs.self,
            Synth.self,
            Import.self,
            DataCommand.self,
            Model.self,
            Eval.self,
            Report.self,
            Embed.self,
            Export.self,
            Bench.self,
        ]
    )
}

/// `ffc bench …`: benchmarks that print a table (or JSON lines with `--json`).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a benchmark and print a table; --json prints one object per row.",
        subcommands: [
            BenchLRU.self,
            EngineBench.self,
            BenchLoader.self,
            BenchHead.self,
            BenchEval.self,
            BenchConsole.self,
            BenchMemory.self,
            BenchOpen.self,
            BenchScale.self,
        ]
    )
}
