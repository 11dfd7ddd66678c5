// The pool inspector: scrolling, sort cycling, finding an identity, detail with a picture.
import FFCEngine
import Testing

@testable import FFCConsoleUI

@Suite struct InspectorTests {
    @Test func opensWithRowsAndScrollsWithArrowsAndVimKeys() {
        let source = SimulatedSource(steps: 300)
        let controller = makeController(source)
        press(controller, source, [.char("i")])
        var canvas = frame(controller, source)
        expectGolden(canvas, "inspector-80x24")
        #expect(canvas.contains("pool inspector"))
        #expect(canvas.contains("10,000 slots"))
        #expect(canvas.line(3).contains("identity"))
        #expect(canvas.line(4).contains("      5"))  // rank 0 holds identity 5
        press(controller, source, [.char("j"), .down, .char("j"), .char("k")])
        #expect(controller.inspector.selected == 2)
        press(controller, source, [.pageDown])
        let page = PoolInspectorView.visibleRows(body: Layout.make(width: 80, height: 24)!.body)
        #expect(controller.inspector.selected == 2 + page)
        #expect(controller.inspector.top == 3)
        canvas = frame(controller, source)
        #expect(canvas.line(4).contains(String(SimulatedSource.slot(rank: 3).identity)))
        press(controller, source, [.char("G")])
        #expect(controller.inspector.selected == 9_999)
        #expect(frame(controller, source).line(23).contains("sort"))
    }

    @Test func sortKeyCyclesAndResetsTheSelection() {
        let source = SimulatedSource(steps: 300)
        let controller = makeController(source)
        press(controller, source, [.char("i"), .char("j"), .char("o")])
        #expect(controller.inspector.sort == .age)
        #expect(controller.inspector.selected == 0)
        #expect(frame(controller, source).contains("sort: age"))
    }

    @Test func findShowsDetailWithHalfBlockPicture() {
        let source = SimulatedSource(steps: 300)
        let controller = makeController(source)
        press(controller, source, [.char("i"), .char("/")] + type("44") + [.enter])
        let canvas = frame(controller, source)
        expectGolden(canvas, "inspector-detail-80x24")
        #expect(canvas.contains("identity 44"))
        #expect(canvas.contains("recency rank 3"))
        let pictureCells = (0..<24).flatMap { y in (0..<80).map { canvas[$0, y] } }.filter { $0.picture != nil }
        #expect(pictureCells.count == 24 * 12)
        #expect(pictureCells.allSatisfy { $0.glyph == "▀" })
        // Top-left is dark red/green, bottom-right bright: the gradient survived downsampling.
        #expect(pictureCells.first!.picture!.top.r < pictureCells.last!.picture!.bottom.r)
        press(controller, source, [.escape])
        #expect(controller.inspector.detail == nil)
        #expect(controller.overlay == .inspector)
        press(controller, source, [.escape])
        #expect(controller.overlay == .none)
    }

    @Test func unknownIdentityIsReportedAndEnterOpensTheSelectedRow() {
        let source = SimulatedSource(steps: 300)
        let controller = makeController(source)
        press(controller, source, [.char("i"), .char("/")] + type("6") + [.enter])
        #expect(frame(controller, source).line(23).contains("identity 6 is not in the pool"))
        press(controller, source, [.char("j"), .enter])
        #expect(controller.inspector.detail?.identity == 18)
    }

    @Test func asciiTerminalExplainsWhyThereIsNoPicture() {
        let source = SimulatedSource(steps: 300)
        let controller = makeController(source)
        press(controller, source, [.char("i"), .enter])
        let canvas = frame(controller, source, context: .ascii)
        #expect(canvas.contains("(pictures need a"))
        #expect(canvas.text.unicodeScalars.allSatisfy { $0.isASCII })
    }
}
