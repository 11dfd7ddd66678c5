// A table with a header row, fixed column widths and one optional selected row.

struct TableColumn {
    var title: String
    var width: Int
    var alignRight = true
}

struct Table {
    var columns: [TableColumn]
    var rows: [[String]]
    var selected: Int?

    static func cell(_ s: String, width: Int, alignRight: Bool) -> String {
        let scalars = Array(s.unicodeScalars)
        if scalars.count >= width {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars.prefix(width))
            return String(view)
        }
        let pad = String(repeating: " ", count: width - scalars.count)
        return alignRight ? pad + s : s + pad
    }

    func format(_ values: [String]) -> String {
        zip(columns, values).map { Self.cell($1, width: $0.width, alignRight: $0.alignRight) }.joined(separator: " ")
    }

    func draw(into canvas: inout CellCanvas, rect: Rect, context: RenderContext) {
        guard rect.height > 0 else { return }
        canvas.text(format(columns.map(\.title)), x: rect.x, y: rect.y, role: .title, maxWidth: rect.width)
        for (i, row) in rows.prefix(rect.height - 1).enumerated() {
            let y = rect.y + 1 + i
            let isSelected = i == selected
            if isSelected { canvas.fill(Rect(x: rect.x, y: y, width: rect.width, height: 1), role: .selection) }
            canvas.text(format(row), x: rect.x, y: y, role: isSelected ? .selection : .text, maxWidth: rect.width)
        }
    }
}
