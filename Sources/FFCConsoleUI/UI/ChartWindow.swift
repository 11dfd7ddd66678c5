// The chart view settings shared by the time-series panels: window (zoom), log scale, and the
// EMA smoothing used for "smoothed" series.
import FFCEngine

struct ChartWindow: Equatable {
    /// Steps shown, newest last; nil shows the whole history the trainer keeps.
    static let zoomLevels: [Int?] = [nil, 5000, 2000, 1000, 500, 200, 100, 50]
    var zoomIndex = 0
    var logScale = false

    var steps: Int? { Self.zoomLevels[zoomIndex] }
    var label: String { steps.map { "last \($0)" } ?? "all" }

    mutating func zoomIn() { zoomIndex = min(zoomIndex + 1, Self.zoomLevels.count - 1) }
    mutating func zoomOut() { zoomIndex = max(zoomIndex - 1, 0) }

    func records(_ history: [StepRecord]) -> [StepRecord] {
        steps.map { Array(history.suffix($0)) } ?? history
    }

    /// Exponential moving average with weight `alpha` on the newest value, seeded with the first.
    static func ema(_ values: [Double], alpha: Double = 0.1) -> [Double] {
        var out: [Double] = []
        out.reserveCapacity(values.count)
        var m = values.first ?? 0
        for v in values where v.isFinite {
            m = alpha * v + (1 - alpha) * m
            out.append(m)
        }
        return out
    }
}
