import Foundation
import Testing

@testable import FFCEngine

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// The SVG charts of `ffc eval … --plot` and `ffc report`: parsed back with Foundation's
/// XMLParser (a malformed document fails the parse), and the series' points mapped back from
/// pixels to data through the plot rectangle (the clip path) and the axis ranges.
///
/// Tolerance: coordinates are written rounded to 0.01 px, so a point is within 0.005 px of its
/// exact position; mapped back over a ≥ 300 px plot that is < 2e-5 of the axis span, checked
/// to 1e-4 of the span.
@Suite struct PlotTests {
    /// Elements of an SVG document: name, attributes and text, in document order.
    final class Elements: NSObject, XMLParserDelegate {
        var list: [(name: String, attributes: [String: String], text: String)] = []
        /// Indices in `list` of the elements open at this point of the parse.
        private var open: [Int] = []
        func parser(
            _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            open.append(list.count)
            list.append((name, attributes, ""))
        }
        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            open.removeLast()
        }
        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if let k = open.last, list[k].name == "text" { list[k].text += string }
        }

        static func parse(_ svg: String) throws -> Elements {
            let e = Elements()
            let parser = XMLParser(data: Data(svg.utf8))
            parser.delegate = e
            #expect(parser.parse(), "well-formed XML: \(String(describing: parser.parserError))")
            return e
        }
    }

    private func points(_ s: String) -> [(Double, Double)] {
        s.split(separator: " ").map { p in
            let xy = p.split(separator: ",").map { Double($0)! }
            return (xy[0], xy[1])
        }
    }

    @Test func rocSVGIsWellFormedAndItsPointsMapBackToTheData() throws {
        let fpr = [0, 1e-4, 1e-3, 1e-2, 1e-1, 1]
        let tpr = [0, 0.5, 0.6, 0.7, 0.85, 1]
        let chart = Chart.roc(curves: [("model <a&b>", fpr, tpr), ("second", [0, 1e-3, 1], [0, 0.9, 1])])
        let svg = Figure(charts: [chart]).scene().svg()
        let e = try Elements.parse(svg)
        #expect(e.list.first?.name == "svg" && e.list.first?.attributes["xmlns"] == "http://www.w3.org/2000/svg")
        #expect(e.list.contains { $0.name == "text" && $0.text == "model <a&b>" }, "names are escaped and read back")
        for label in ["1e-4", "1e-3", "1e-2", "1e-1", "1", "False accept rate", "True accept rate"] {
            #expect(e.list.contains { $0.name == "text" && $0.text == label }, "label \(label)")
        }
        // The plot area: the rectangle of the clip path the series are drawn through.
        let clipIndex = try #require(e.list.firstIndex { $0.name == "clipPath" })
        let clip = e.list[clipIndex + 1]
        #expect(clip.name == "rect")
        let (left, top) = (Double(clip.attributes["x"]!)!, Double(clip.attributes["y"]!)!)
        let (width, height) = (Double(clip.attributes["width"]!)!, Double(clip.attributes["height"]!)!)
        // The chart's ranges: FAR from the decade of the smallest positive FPR (1e-4) to 1; TPR
        // from the smallest TPR there rounded down to a tenth (0.5) to 1.
        #expect(chart.xRange == 1e-4...1 && chart.yRange == 0.5...1)
        let series = e.list.filter { $0.name == "polyline" && $0.attributes["class"] == "series" }
        #expect(series.count == 2)
        for (s, data) in zip(series, [Array(zip(fpr, tpr)), [(1e-3, 0.9), (1, 1)]]) {
            #expect(s.attributes["clip-path"] == "url(#plot0)")
            let drawn = points(s.attributes["points"]!)
            let shown = data.filter { $0.0 > 0 }
            #expect(drawn.count == shown.count, "points with FPR 0 are off the log axis")
            for ((px, py), (f, t)) in zip(drawn, shown) {
                let far = pow(10, -4 + (px - left) / width * 4)
                let tar = 0.5 + (top + height - py) / height * 0.5
                #expect(abs(log10(far) - log10(f)) < 1e-4 * 4, "x of FAR \(f)")
                #expect(abs(tar - t) < 1e-4 * 0.5, "y of TAR \(t)")
            }
        }
    }

    @Test func linearAxisTicksCoverTheRangeAtRoundSteps() {
        let ticks = Chart.ticks(0...1000, scale: .linear)
        #expect(ticks.map(\.label) == ["0", "200", "400", "600", "800", "1000"])
        #expect(Chart.ticks(0.5...1, scale: .linear).map(\.label) == ["0.5", "0.6", "0.7", "0.8", "0.9", "1.0"])
    }

    @Test func otherExtensionsAreRefusedAndNothingIsWritten() throws {
        let path = NSTemporaryDirectory() + "/plot-\(UUID().uuidString).gif"
        #expect(throws: PlotError.unsupportedFormat(path: path)) {
            try Figure(charts: [Chart.roc(curves: [("a", [0, 1], [0, 1])])]).write(to: path)
        }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    /// PNG is the SVG rasterised (rsvg-convert, installed by scripts/setup): a PNG of the
    /// figure's size whose pixels are not all background (the curves and axes are drawn).
    @Test func pngIsTheFigureRasterisedAtItsSize() throws {
        let path = NSTemporaryDirectory() + "/plot-\(UUID().uuidString).png"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let figure = Figure(charts: [Chart.roc(curves: [("a", [1e-4, 1e-2, 1], [0.2, 0.7, 1])])])
        try figure.write(to: path)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(Array(bytes.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        func bigEndian(_ at: Int) -> Int { bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
        // IHDR is the first chunk: length 13 at 8, "IHDR" at 12, width at 16, height at 20.
        #expect(String(decoding: bytes[12..<16], as: UTF8.self) == "IHDR")
        let scene = figure.scene()
        #expect(bigEndian(16) == scene.width && bigEndian(20) == scene.height)
        // libpng (the database's decoder) reads it back: the chart's size, and more colours than
        // the background (axes, labels and the curve are drawn).
        var pixels: [UInt8] = []
        let size = try bytes.withUnsafeBytes { try ImageCodec.decodeRGB($0, into: &pixels) }
        #expect(size.width == scene.width && size.height == scene.height)
        #expect(Set(pixels).count > 2)
    }

    @Test func runReportDrawsLossHitRateAndEachValidationSet() throws {
        let dir = NSTemporaryDirectory() + "/report-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let writer = try MetricsStreamWriter(path: dir + "/metrics.jsonl")
        for step in 1...4 {
            var r = StepRecord()
            r.step = step
            r.loss = 10 - Double(step)
            r.hitRatePair = 0.1 * Double(step)
            try writer.append(.step(r))
            if step % 2 == 0 {
                for (k, set) in ["lfw", "cfp_fp"].enumerated() {
                    let a = 0.5 + 0.1 * Double(step) - 0.05 * Double(k)
                    try writer.append(
                        .validation(
                            ValidationRecord(
                                step: step, set: set, pairs: 20, accuracy: a, accuracyFlip: a + 0.01,
                                bestAccuracyFlip: a + 0.01, bestStep: step)))
                }
            }
        }
        try writer.append(.event(EventRecord(step: 4, kind: .info, message: "finished")))
        let contents = try MetricsStreamContents.read(path: dir + "/metrics.jsonl")
        #expect(contents.steps.count == 4 && contents.validations.count == 4 && contents.skippedLines == 0)
        let read = contents.validations[1]
        #expect(read.step == 2 && read.set == "cfp_fp" && read.pairs == 20 && read.bestStep == 2)
        #expect(read.accuracy == 0.5 + 0.1 * 2 - 0.05 && read.accuracyFlip == read.accuracy + 0.01)

        let figure = RunReport.figure(name: "run", contents: contents)
        #expect(figure.charts.map(\.title) == ["run: loss", "run: pool hit rate", "run: validation"])
        let validation = figure.charts[2].series
        #expect(validation.map(\.name) == ["lfw flip", "lfw", "cfp_fp flip", "cfp_fp"])
        #expect(
            validation[3].points.map(\.x) == [2, 4]
                && validation[3].points.map(\.y) == [2.0, 4].map { 0.5 + 0.1 * $0 - 0.05 })
        let e = try Elements.parse(figure.scene().svg())
        #expect(e.list.first?.attributes["width"] == "1280" && e.list.first?.attributes["height"] == "840")
        #expect(e.list.filter { $0.attributes["class"] == "series" }.count == 3 + 2 + 4)
    }

    @Test func rocFilesOfBothEvaluationsReadBackAndBadLinesAreNamed() throws {
        let dir = NSTemporaryDirectory() + "/roc-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let curve = ROCCurve(scores: [0.9, 0.8, 0.7, 0.4, 0.3], genuine: [true, false, true, false, false])
        try curve.csv.write(toFile: dir + "/ijb.csv", atomically: true, encoding: .utf8)
        let back = try ROCCurveFile.read(path: dir + "/ijb.csv")
        #expect(back.fpr == curve.fpr && back.tpr == curve.tpr)
        try "threshold,fpr,tpr\n0.5,0.1,0.7\n1.0,0.2,0.9\n".write(
            toFile: dir + "/v.csv", atomically: true, encoding: .utf8)
        let v = try ROCCurveFile.read(path: dir + "/v.csv")
        #expect(v.fpr == [0.1, 0.2] && v.tpr == [0.7, 0.9])
        try "threshold,fpr,tpr\n0.5,0.1,0.7\n1.0,x,0.9\n".write(
            toFile: dir + "/bad.csv", atomically: true, encoding: .utf8)
        #expect(throws: ROCCurveFileError.self) { try ROCCurveFile.read(path: dir + "/bad.csv") }
        do {
            _ = try ROCCurveFile.read(path: dir + "/bad.csv")
        } catch {
            #expect("\(error)".hasPrefix(dir + "/bad.csv:3: "))
        }
    }
}
