// Widgets drawn into a canvas: charts in each style, gauges, sparklines, tables, clipping.
import FFCEngine
import Testing

@testable import FFCConsoleUI

@Suite struct WidgetTests {
    @Test func brailleChartDrawsARisingDiagonal() {
        var canvas = CellCanvas(width: 2, height: 1)
        LineChart(series: [ChartSeries(values: [0, 1, 2, 3], role: .chart1)], labelWidth: 0)
            .draw(into: &canvas, rect: canvas.bounds, context: .unicode)
        // Four dot columns rising one dot row each, joined by vertical segments: rows 3|2–3, 1–2|0–1.
        #expect(canvas.line(0) == "\u{28E0}\u{281E}")
        #expect(canvas[0, 0].role == .chart1)
        var exact = CellCanvas(width: 1, height: 1)
        LineChart(series: [ChartSeries(values: [0, 3], role: .chart1)], labelWidth: 0)
            .draw(into: &exact, rect: exact.bounds, context: .unicode)
        // Column 0 at the bottom (dot 7), column 1 the connecting segment rows 0–3 (dots 4,5,6,8).
        #expect(exact[0, 0].glyph == Unicode.Scalar(0x2800 | 0x40 | 0x08 | 0x10 | 0x20 | 0x80)!)
    }

    @Test func blockAndASCIIChartsMarkTheValueRow() {
        var block = CellCanvas(width: 3, height: 2)
        LineChart(series: [ChartSeries(values: [0, 0.5, 1], role: .chart2)], fixedRange: 0...1, labelWidth: 0)
            .draw(
                into: &block, rect: block.bounds,
                context: RenderContext(glyphs: .unicode, chartStyle: .block, pictures: false))
        #expect(block.line(1).hasPrefix("▁"))
        #expect(block.line(0).hasSuffix("█"))
        var ascii = CellCanvas(width: 3, height: 2)
        LineChart(series: [ChartSeries(values: [0, 0.5, 1], role: .chart2)], fixedRange: 0...1, labelWidth: 0)
            .draw(into: &ascii, rect: ascii.bounds, context: .ascii)
        #expect(ascii.line(1).hasPrefix("_"))
        #expect(ascii.line(0).hasSuffix("'"))
    }

    @Test func logScaleSpreadsDecadesEvenly() {
        var canvas = CellCanvas(width: 3, height: 3)
        LineChart(series: [ChartSeries(values: [0.01, 0.1, 1], role: .chart1)], logScale: true, labelWidth: 0)
            .draw(into: &canvas, rect: canvas.bounds, context: .ascii)
        #expect(canvas.line(0) == "  '")
        #expect(canvas.line(1).trimmingCharacters(in: .whitespaces).count == 1)
        #expect(canvas.line(2) == "_  ")
    }

    @Test func resampleAveragesWhenShrinkingAndInterpolatesWhenStretching() {
        #expect(LineChart.resample([1, 3, 5, 7], to: 2) == [2, 6])
        #expect(LineChart.resample([0, 10], to: 3) == [0, 5, 10])
    }

    @Test func gaugeSparklineAndProgressBar() {
        var canvas = CellCanvas(width: 10, height: 3)
        Gauge(fraction: 0.3).draw(into: &canvas, rect: Rect(x: 0, y: 0, width: 10, height: 1), context: .ascii)
        Sparkline(values: [0, 1, 2, 4]).draw(
            into: &canvas, rect: Rect(x: 0, y: 1, width: 10, height: 1), context: .unicode)
        ProgressBar(fraction: 0.5).draw(into: &canvas, rect: Rect(x: 0, y: 2, width: 10, height: 1), context: .ascii)
        #expect(canvas.line(0) == "###.......")
        #expect(canvas.line(1) == "      ▁▃▅█")
        #expect(canvas.line(2) == "###50%....")
    }

    @Test func canvasClipsAndBoxesTitle() {
        var canvas = CellCanvas(width: 12, height: 3)
        canvas.text("overflowing text", x: 8, y: 1, role: .text)
        #expect(canvas.line(1) == "        over")
        let inner = Box(title: "pool").draw(into: &canvas, rect: canvas.bounds, context: .ascii)
        #expect(inner == Rect(x: 1, y: 1, width: 10, height: 1))
        #expect(canvas.line(0) == "+ pool ----+")
        canvas.put("x", x: -1, y: 99, role: .text)
        #expect(canvas.line(2) == "+----------+")
    }

    @Test func bottleneckIsTheLoaderTheTrainerWaitsOnMost() {
        var a = LoaderStats()
        a.name = "identity"
        a.trainerWaitShare = 0.02
        var b = LoaderStats()
        b.name = "instance"
        b.trainerWaitShare = 0.3
        #expect(LoaderPanel.bottleneck([a, b])?.name == "instance")
        b.trainerWaitShare = 0.01
        #expect(LoaderPanel.bottleneck([a, b]) == nil)
    }
}
