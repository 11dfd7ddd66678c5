// `ffc runs`: the run directories under runs/ — live (its control socket answers), finished or
// stopped — with the last logged step and loss.
import ArgumentParser
import FFCEngine
import Foundation

struct Runs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List runs: live ones (attach with `ffc attach NAME`), finished and stopped ones.")

    @Option(name: .long, help: "Directory holding run directories.")
    var root = "runs"

    func run() throws {
        let runs = RunDirectory.list(under: root)
        guard !runs.isEmpty else {
            print("no runs under \(root)/")
            return
        }
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        let nameWidth = max(4, runs.map(\.directory.name.count).max() ?? 4)
        func pad(_ s: String, _ width: Int) -> String { s + String(repeating: " ", count: max(0, width - s.count)) }
        print(pad("RUN", nameWidth) + "  STATE     STEP      LOSS      UPDATED")
        for run in runs {
            let loss = run.loss.map { String(format: "%.4f", $0) } ?? "-"
            print(
                pad(run.directory.name, nameWidth) + "  " + pad(run.state.rawValue, 8) + "  " + pad(String(run.step), 8)
                    + "  "
                    + pad(loss, 8) + "  " + formatter.string(from: run.modified))
        }
    }
}
