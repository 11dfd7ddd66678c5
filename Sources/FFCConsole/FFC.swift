// The `ffc` executable: a thin command-line shell over FFCEngine and the console.
import ArgumentParser

@main
struct FFC: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ffc",
        abstract: "Train face recognition with Fast Face Classification (F²C) on CPUs.",
        subcommands: [
            Bench.self,
        ]
    )
}

/// `ffc bench …`: benchmarks that print a table (or JSON lines with `--json`).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a benchmark and print a table; --json prints one object per row.",
        subcommands: [
            BenchHead.self,
            BenchLRU.self,
        ]
    )
}
