// A one-line progress bar with rate and ETA on stderr, for long command-line jobs
// (`ffc synth`, `ffc import`, `ffc bench memory`). Redraws at most 5 times a second.
import FFCEngine
import Foundation

public struct LineProgressBar {
    public let label: String
    public let unit: String
    private let start = Date()
    private var lastDraw = Date.distantPast

    public init(label: String, unit: String = "images") {
        self.label = label
        self.unit = unit
    }

    public mutating func update(done: Int, total: Int, force: Bool = false) {
        let now = Date()
        guard force || now.timeIntervalSince(lastDraw) >= 0.2 else { return }
        lastDraw = now
        let elapsed = max(now.timeIntervalSince(start), 1e-6)
        let rate = Double(done) / elapsed
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 0
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let eta = rate > 0 && total > done ? Double(total - done) / rate : 0
        let line = String(
            format: "\r%@ [%@] %3.0f%% %d/%d %@  %.0f/s  ETA %@ ", label, bar, fraction * 100, done, total,
            unit, rate, DurationFormat.clock(eta))
        FileHandle.standardError.write(Data(line.utf8))
    }

    public func finish() { FileHandle.standardError.write(Data("\n".utf8)) }
}
