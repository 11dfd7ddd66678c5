// Plot: line charts for reports — ROC curves on a log-FAR axis (several models on one chart)
// and a run's loss / accuracy curves — laid out into a `PlotScene` (a list of lines, boxes and
// labels in pixels) that `PlotScene` writes as SVG.
import Foundation

/// One named curve: (x, y) points in data units, drawn in order.
public struct PlotSeries: Sendable {
    public var name: String
    public var points: [(x: Double, y: Double)]
    public init(name: String, points: [(x: Double, y: Double)]) {
        self.name = name
        self.points = points
    }
}

public enum PlotAxisScale: Sendable { case linear, log10 }

public struct Chart: Sendable {
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var xScale: PlotAxisScale = .linear
    /// Data range shown; nil: the series' extent (positive values only on a log axis).
    public var xRange: ClosedRange<Double>?
    public var yRange: ClosedRange<Double>?
    public var series: [PlotSeries]

    public init(
        title: String, xLabel: String, yLabel: String, xScale: PlotAxisScale = .linear,
        xRange: ClosedRange<Double>? = nil, yRange: ClosedRange<Double>? = nil, series: [PlotSeries]
    ) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.xScale = xScale
        self.xRange = xRange
        self.yRange = yRange
        self.series = series
    }

    /// Colours of series 0, 1, … (dark enough to read on white, distinct in grey print too).
    public static let palette = [
        "#1b7fc4", "#d9480f", "#2b8a3e", "#862e9c", "#c2255c", "#5c940d", "#e67700", "#495057",
    ]

    /// ROC curves (FPR on a log axis from 1e-6, TPR) of one or several models.
    public static func roc(title: String = "ROC", curves: [(name: String, fpr: [Double], tpr: [Double])]) -> Chart {
        let series = curves.map { c in PlotSeries(name: c.name, points: zip(c.fpr, c.tpr).map { ($0, $1) }) }
        let minFar = curves.flatMap(\.fpr).filter { $0 > 0 }.min() ?? 1e-6
        let low = pow(10, min(-1, max(-6, (log10(minFar)).rounded(.down))))
        var yLow = 1.0
        for c in curves { for (f, t) in zip(c.fpr, c.tpr) where f >= low { yLow = min(yLow, t) } }
        yLow = max(0, (yLow * 10).rounded(.down) / 10)
        return Chart(
            title: title, xLabel: "False accept rate", yLabel: "True accept rate", xScale: .log10,
            xRange: low...1, yRange: min(yLow, 0.9)...1, series: series)
    }

    func transform(_ v: Double, scale: PlotAxisScale) -> Double { scale == .log10 ? log10(v) : v }

    /// The ranges drawn, after defaults and padding of a flat range.
    func ranges() -> (x: ClosedRange<Double>, y: ClosedRange<Double>) {
        let pts = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite && (xScale == .linear || $0.x > 0) }
        func extent(_ values: [Double], fallback: ClosedRange<Double>) -> ClosedRange<Double> {
            guard let lo = values.min(), let hi = values.max() else { return fallback }
            if lo == hi { return (lo - (lo == 0 ? 1 : abs(lo) * 0.1))...(hi + (hi == 0 ? 1 : abs(hi) * 0.1)) }
            return lo...hi
        }
        let x = xRange ?? extent(pts.map(\.x), fallback: xScale == .log10 ? 1e-6...1 : 0...1)
        let y = yRange ?? extent(pts.map(\.y), fallback: 0...1)
        return (x, y)
    }

    /// Tick positions and labels in data units.
    static func ticks(_ r: ClosedRange<Double>, scale: PlotAxisScale) -> [(value: Double, label: String)] {
        if scale == .log10 {
            let lo = Int(log10(r.lowerBound).rounded(.up))
            let hi = Int(log10(r.upperBound).rounded(.down))
            guard lo <= hi else { return [] }
            return (lo...hi).map { e in (pow(10, Double(e)), e == 0 ? "1" : "1e\(e)") }
        }
        let span = r.upperBound - r.lowerBound
        let raw = span / 5
        let magnitude = pow(10, log10(raw).rounded(.down))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        var out: [(Double, String)] = []
        var v = (r.lowerBound / step).rounded(.up) * step
        let digits = max(0, -Int(log10(step).rounded(.down)) + (step / magnitude == 2.5 ? 1 : 0))
        while v <= r.upperBound + step * 1e-9 {
            out.append((v, String(format: "%.\(digits)f", abs(v) < step * 1e-9 ? 0 : v)))
            v += step
        }
        return out
    }

    /// Draws the chart into `scene` inside the pixel rectangle (x, y, width, height).
    public func draw(into scene: inout PlotScene, x x0: Double, y y0: Double, width: Double, height: Double) {
        let (xr, yr) = ranges()
        let left = x0 + 64
        let right = x0 + width - 16
        let top = y0 + 34
        let bottom = y0 + height - 48
        let (tx0, tx1) = (transform(xr.lowerBound, scale: xScale), transform(xr.upperBound, scale: xScale))
        func px(_ v: Double) -> Double { left + (transform(v, scale: xScale) - tx0) / (tx1 - tx0) * (right - left) }
        func py(_ v: Double) -> Double {
            bottom - (v - yr.lowerBound) / (yr.upperBound - yr.lowerBound) * (bottom - top)
        }
        let plot = PlotRect(x: left, y: top, width: right - left, height: bottom - top)

        scene.add(.rect(plot, fill: "#ffffff", stroke: nil))
        for t in Self.ticks(xr, scale: xScale) {
            let x = px(t.value)
            scene.add(.line([(x, top), (x, bottom)], colour: "#dee2e6", width: 1, dashed: true, clip: nil))
            scene.add(.line([(x, bottom), (x, bottom + 4)], colour: "#343a40", width: 1, dashed: false, clip: nil))
            scene.add(
                .text(t.label, x: x, y: bottom + 17, size: 11, anchor: .middle, vertical: false, colour: "#343a40"))
        }
        for t in Self.ticks(yr, scale: .linear) {
            let y = py(t.value)
            scene.add(.line([(left, y), (right, y)], colour: "#dee2e6", width: 1, dashed: true, clip: nil))
            scene.add(.line([(left - 4, y), (left, y)], colour: "#343a40", width: 1, dashed: false, clip: nil))
            scene.add(.text(t.label, x: left - 7, y: y + 4, size: 11, anchor: .end, vertical: false, colour: "#343a40"))
        }
        scene.add(.rect(plot, fill: nil, stroke: "#343a40"))
        scene.add(
            .text(
                title, x: (left + right) / 2, y: y0 + 21, size: 14, anchor: .middle, vertical: false, colour: "#212529")
        )
        scene.add(
            .text(
                xLabel, x: (left + right) / 2, y: bottom + 36, size: 12, anchor: .middle, vertical: false,
                colour: "#212529"))
        scene.add(
            .text(
                yLabel, x: x0 + 16, y: (top + bottom) / 2, size: 12, anchor: .middle, vertical: true, colour: "#212529")
        )

        for (i, s) in series.enumerated() {
            var pts: [(Double, Double)] = []
            for p in s.points where p.x.isFinite && p.y.isFinite && (xScale == .linear || p.x > 0) {
                let q = (px(p.x), py(p.y))
                // Points closer than half a pixel to the last kept one add nothing to the picture.
                if let last = pts.last, abs(last.0 - q.0) < 0.5 && abs(last.1 - q.1) < 0.5 { continue }
                pts.append(q)
            }
            if let p = s.points.last(where: { $0.x.isFinite && $0.y.isFinite && (xScale == .linear || $0.x > 0) }) {
                let q = (px(p.x), py(p.y))
                if let last = pts.last, last != q { pts.append(q) }
            }
            scene.add(.line(pts, colour: Self.palette[i % Self.palette.count], width: 2, dashed: false, clip: plot))
        }
        // Legend, lower right (where ROC and accuracy curves leave room), upper right for losses.
        guard !series.isEmpty else { return }
        let rowHeight = 16.0
        let textWidth = series.map { Double($0.name.count) * 6.6 }.max()!
        let boxWidth = textWidth + 34
        let boxHeight = Double(series.count) * rowHeight + 8
        let falling = series.allSatisfy { s in (s.points.first?.y ?? 0) > (s.points.last?.y ?? 0) }
        let bx = right - boxWidth - 8
        let by = falling ? top + 8 : bottom - boxHeight - 8
        scene.add(.rect(PlotRect(x: bx, y: by, width: boxWidth, height: boxHeight), fill: "#ffffff", stroke: "#adb5bd"))
        for (i, s) in series.enumerated() {
            let y = by + 4 + rowHeight * (Double(i) + 0.5)
            scene.add(
                .line(
                    [(bx + 6, y), (bx + 24, y)], colour: Self.palette[i % Self.palette.count], width: 2, dashed: false,
                    clip: nil))
            scene.add(.text(s.name, x: bx + 29, y: y + 4, size: 11, anchor: .start, vertical: false, colour: "#212529"))
        }
    }
}

/// Charts in a grid of `columns`, each `cellWidth` × `cellHeight` pixels.
public struct Figure: Sendable {
    public var charts: [Chart]
    public var columns: Int
    public var cellWidth: Double
    public var cellHeight: Double

    public init(charts: [Chart], columns: Int = 1, cellWidth: Double = 640, cellHeight: Double = 420) {
        self.charts = charts
        self.columns = max(1, min(columns, charts.count))
        self.cellWidth = cellWidth
        self.cellHeight = cellHeight
    }

    public func scene() -> PlotScene {
        let rows = (charts.count + columns - 1) / columns
        var scene = PlotScene(width: Int(cellWidth) * columns, height: Int(cellHeight) * max(rows, 1))
        for (i, c) in charts.enumerated() {
            c.draw(
                into: &scene, x: Double(i % columns) * cellWidth, y: Double(i / columns) * cellHeight, width: cellWidth,
                height: cellHeight)
        }
        return scene
    }

    /// Writes the figure as SVG or, for a `.png` path, as the SVG rasterised; atomically.
    public func write(to path: String) throws {
        let svg = Array(scene().svg().utf8)
        switch Figure.format(of: path) {
        case .svg: try AtomicFile.write(svg, to: path)
        case .png: try AtomicFile.write(try PNGRasterizer.render(svg: svg, for: path), to: path)
        case nil: throw PlotError.unsupportedFormat(path: path)
        }
    }

    public enum Format: Sendable { case svg, png }

    /// The format a path's extension asks for; nil when it is neither.
    public static func format(of path: String) -> Format? {
        let lower = path.lowercased()
        return lower.hasSuffix(".svg") ? .svg : lower.hasSuffix(".png") ? .png : nil
    }
}
