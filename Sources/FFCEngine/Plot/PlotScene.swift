// Plot: a picture as a list of primitives in pixels (y down), and its SVG text.
import Foundation

public enum PlotError: Error, CustomStringConvertible, Equatable {
    case unsupportedFormat(path: String)
    /// PNG is the SVG rasterised by librsvg's `rsvg-convert`, which is not on PATH.
    case rasterizerMissing(path: String)
    case rasterizerFailed(path: String, status: Int32, message: String)

    public var description: String {
        switch self {
        case .unsupportedFormat(let path): return "\(path): plots are written as SVG (.svg) or PNG (.png)"
        case .rasterizerMissing(let path):
            return "\(path): PNG plots need rsvg-convert (Debian package librsvg2-bin, which scripts/setup installs)"
        case .rasterizerFailed(let path, let status, let message):
            return "\(path): rsvg-convert failed (status \(status)): \(message)"
        }
    }
}

/// PNG output: the figure's SVG rasterised by librsvg (`rsvg-convert`), the renderer GNOME and
/// many documentation tool chains use, so the PNG shows exactly what the SVG does.
enum PNGRasterizer {
    static func render(svg: [UInt8], for path: String) throws -> [UInt8] {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("ffc-plot-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let input = scratch.appendingPathComponent("plot.svg")
        let output = scratch.appendingPathComponent("plot.png")
        try Data(svg).write(to: input)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "rsvg-convert", "--format", "png", "--background-color", "white", "--output", output.path, input.path,
        ]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        // env exits 127 when it cannot find the program.
        if process.terminationStatus == 127 { throw PlotError.rasterizerMissing(path: path) }
        guard process.terminationStatus == 0, let png = try? Data(contentsOf: output) else {
            throw PlotError.rasterizerFailed(
                path: path, status: process.terminationStatus,
                message: message.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return Array(png)
    }
}

public struct PlotRect: Sendable, Equatable {
    public var x, y, width, height: Double
}

public enum PlotTextAnchor: String, Sendable { case start, middle, end }

public enum PlotPrimitive: Sendable {
    /// A polyline; `clip` confines it to a rectangle (the plot area).
    case line([(Double, Double)], colour: String, width: Double, dashed: Bool, clip: PlotRect?)
    case rect(PlotRect, fill: String?, stroke: String?)
    /// Text with its baseline at y; `vertical` turns it 90° anticlockwise about (x, y).
    case text(String, x: Double, y: Double, size: Double, anchor: PlotTextAnchor, vertical: Bool, colour: String)
}

public struct PlotScene: Sendable {
    public var width: Int
    public var height: Int
    public private(set) var primitives: [PlotPrimitive] = []

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    public mutating func add(_ p: PlotPrimitive) { primitives.append(p) }

    static func number(_ v: Double) -> String {
        let r = (v * 100).rounded() / 100
        return r == r.rounded() ? String(Int(r)) : String(format: "%.2f", r)
    }

    static func escaped(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }

    /// A standalone SVG 1.1 document.
    public func svg() -> String {
        var out = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(width)" height="\(height)" \
            viewBox="0 0 \(width) \(height)" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
            <rect x="0" y="0" width="\(width)" height="\(height)" fill="#f8f9fa"/>

            """
        var clips: [PlotRect] = []
        for p in primitives {
            if case .line(_, _, _, _, let clip?) = p, !clips.contains(clip) { clips.append(clip) }
        }
        if !clips.isEmpty {
            out += "<defs>\n"
            for (i, c) in clips.enumerated() {
                out +=
                    "<clipPath id=\"plot\(i)\"><rect x=\"\(Self.number(c.x))\" y=\"\(Self.number(c.y))\" width=\"\(Self.number(c.width))\" height=\"\(Self.number(c.height))\"/></clipPath>\n"
            }
            out += "</defs>\n"
        }
        let n = Self.number
        for p in primitives {
            switch p {
            case .line(let pts, let colour, let width, let dashed, let clip):
                guard pts.count >= 2 else { continue }
                let points = pts.map { "\(n($0.0)),\(n($0.1))" }.joined(separator: " ")
                let clipAttr =
                    clip.flatMap { c in clips.firstIndex(of: c) }.map { " clip-path=\"url(#plot\($0))\"" } ?? ""
                let dash = dashed ? " stroke-dasharray=\"3,3\"" : ""
                out +=
                    "<polyline class=\"\(clip == nil ? "axis" : "series")\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"\(n(width))\"\(dash)\(clipAttr) points=\"\(points)\"/>\n"
            case .rect(let r, let fill, let stroke):
                out +=
                    "<rect x=\"\(n(r.x))\" y=\"\(n(r.y))\" width=\"\(n(r.width))\" height=\"\(n(r.height))\" fill=\"\(fill ?? "none")\" stroke=\"\(stroke ?? "none")\"/>\n"
            case .text(let s, let x, let y, let size, let anchor, let vertical, let colour):
                let rotate = vertical ? " transform=\"rotate(-90 \(n(x)) \(n(y)))\"" : ""
                out +=
                    "<text x=\"\(n(x))\" y=\"\(n(y))\" font-size=\"\(n(size))\" text-anchor=\"\(anchor.rawValue)\" fill=\"\(colour)\"\(rotate)>\(Self.escaped(s))</text>\n"
            }
        }
        return out + "</svg>\n"
    }
}
