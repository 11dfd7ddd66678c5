import FFCEngine
// The pool inspector: a scrolling table of pool slots in a chosen order, a find prompt, and a
// detail box with a half-block picture of one of the identity's images.
import Foundation

struct PoolInspectorState: Equatable {
    var sort: PoolSortKey = .recency
    /// Absolute row index of the selection, and of the first visible row.
    var selected = 0
    var top = 0
    /// Rows `fetchedTop ..< fetchedTop + rows.count` as last fetched.
    var rows: [PoolSlotInfo] = []
    var fetchedTop = -1
    var fetchedAt = -Double.infinity
    var detail: PoolSlotInfo?
    var picture: HalfBlockPicture?
    var find: Prompt?

    /// Moves the selection by `delta` rows within `count` rows, keeping it inside `visible` rows.
    mutating func move(by delta: Int, count: Int, visible: Int) {
        selected = min(max(0, selected + delta), max(0, count - 1))
        if selected < top { top = selected }
        if selected >= top + visible { top = selected - visible + 1 }
        top = max(0, top)
    }

    mutating func nextSort() {
        let all = PoolSortKey.allCases
        sort = all[(all.firstIndex(of: sort)! + 1) % all.count]
        selected = 0
        top = 0
        fetchedAt = -.infinity
    }

    var selectedRow: PoolSlotInfo? {
        let i = selected - fetchedTop
        return rows.indices.contains(i) ? rows[i] : nil
    }
}

extension HalfBlockPicture: Equatable {
    static func == (a: HalfBlockPicture, b: HalfBlockPicture) -> Bool {
        a.width == b.width && a.height == b.height && a.rgb == b.rgb
    }
}

struct PoolInspectorView {
    var state: PoolInspectorState
    var occupancy: Int

    /// Table rows that fit in the body rectangle (box border and header row excluded).
    static func visibleRows(body: Rect) -> Int { max(1, body.height - 3) }

    static let columns = [
        TableColumn(title: "slot", width: 7), TableColumn(title: "identity", width: 9),
        TableColumn(title: "rank", width: 7), TableColumn(title: "age", width: 6),
        TableColumn(title: "writes", width: 6), TableColumn(title: "pos", width: 3),
        TableColumn(title: "drift", width: 6), TableColumn(title: "nearest", width: 9),
        TableColumn(title: "cos", width: 6),
    ]

    static func cells(_ r: PoolSlotInfo) -> [String] {
        [
            String(r.slot), String(r.identity), String(r.recencyRank), String(r.ageSteps), String(r.writes),
            String(r.positionBit), String(format: "%.3f", r.bankCosine),
            r.nearestIdentity >= 0 ? String(r.nearestIdentity) : "-", String(format: "%.3f", r.nearestCosine),
        ]
    }

    func draw(into canvas: inout CellCanvas, body: Rect, snapshot: MetricsSnapshot, context: RenderContext) {
        let note = "\(Format.grouped(occupancy)) slots \(context.glyphs.separator) sort: \(state.sort.rawValue)"
        let inner = Box(title: "pool inspector", note: note, role: .accent).draw(
            into: &canvas, rect: body, context: context)
        let visible = state.rows.dropFirst(max(0, state.top - state.fetchedTop)).prefix(Self.visibleRows(body: body))
        let table = Table(
            columns: Self.columns, rows: visible.map(Self.cells),
            selected: state.selected - state.top)
        table.draw(into: &canvas, rect: inner, context: context)
        if visible.isEmpty {
            canvas.text(
                occupancy == 0 ? "the pool is empty" : "loading", x: inner.x, y: inner.y + 1, role: .dim,
                maxWidth: inner.width)
        }
        if let detail = state.detail {
            drawDetail(detail, into: &canvas, body: body, context: context)
        }
        if let find = state.find {
            find.draw(into: &canvas, screen: body, snapshot: snapshot, context: context)
        }
    }

    private func drawDetail(_ d: PoolSlotInfo, into canvas: inout CellCanvas, body: Rect, context: RenderContext) {
        let rect = body.centred(width: 66, height: 16)
        let inner = Box(title: "identity \(d.identity)", note: "Esc back", role: .accent).draw(
            into: &canvas, rect: rect, context: context)
        let fields: [(String, String)] = [
            ("slot", String(d.slot)), ("recency rank", "\(d.recencyRank) (0 = most recent)"),
            ("age", "\(d.ageSteps) steps since last write"), ("writes", String(d.writes)),
            ("next bank", String(d.positionBit)), ("bank cosine", String(format: "%.4f (1 = no drift)", d.bankCosine)),
            (
                "nearest",
                d.nearestIdentity >= 0 ? "\(d.nearestIdentity) (cos \(String(format: "%.3f", d.nearestCosine)))" : "-"
            ),
        ]
        for (i, f) in fields.prefix(inner.height).enumerated() {
            canvas.segments(
                [(Table.cell(f.0, width: 13, alignRight: false), .dim), (f.1, .text)],
                x: inner.x + 1, y: inner.y + i, maxWidth: 38)
        }
        let pictureRect = Rect(x: inner.maxX - 25, y: inner.y, width: 24, height: min(12, inner.height))
        if !context.pictures {
            canvas.text("(pictures need a", x: pictureRect.x, y: pictureRect.y + 4, role: .dim)
            canvas.text(" 256-colour UTF-8", x: pictureRect.x, y: pictureRect.y + 5, role: .dim)
            canvas.text(" terminal)", x: pictureRect.x, y: pictureRect.y + 6, role: .dim)
        } else if let picture = state.picture {
            picture.draw(into: &canvas, rect: pictureRect)
        } else {
            canvas.text("(no image available)", x: pictureRect.x, y: pictureRect.y + 5, role: .dim)
        }
    }
}
