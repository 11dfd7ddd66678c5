// Whole screens: golden 80×24 frames (Unicode and ASCII), layout growth, the too-small message.
import FFCEngine
import Testing

@testable import FFCConsoleUI

@Suite struct ScreenTests {
    @Test func mainScreenMatchesGolden80x24() {
        let source = SimulatedSource(steps: 300)
        let canvas = frame(makeController(source), source)
        expectGolden(canvas, "main-80x24")
        #expect(canvas.contains("sim-run"))
        #expect(canvas.contains("bottleneck: identity"))
        #expect(canvas.contains("91.23%"))
    }

    @Test func asciiScreenUsesOnlyASCIIAndMatchesGolden() {
        let source = SimulatedSource(steps: 300)
        let canvas = frame(makeController(source), source, context: .ascii)
        expectGolden(canvas, "main-80x24-ascii")
        #expect(canvas.text.unicodeScalars.allSatisfy { $0.isASCII })
        #expect(canvas.line(2).hasPrefix("+ loss "))
    }

    @Test func tinyTerminalSaysWhatItHasAndNeeds() {
        let source = SimulatedSource(steps: 10)
        let canvas = frame(makeController(source), source, width: 60, height: 20)
        #expect(canvas.contains("terminal is 60×20,"))
        #expect(canvas.contains("need at least 80×24"))
        #expect(!canvas.contains("loss"))
    }

    @Test func largerTerminalGivesChartsTheExtraRows() throws {
        let small = try #require(Layout.make(width: 80, height: 24))
        let large = try #require(Layout.make(width: 160, height: 50))
        #expect(large.loss.height > small.loss.height)
        #expect(large.loss.width > small.loss.width)
        #expect(large.footer.y == 49)
        let source = SimulatedSource(steps: 500)
        let canvas = frame(makeController(source), source, width: 160, height: 50)
        #expect(canvas.contains("pool hit rate"))
        #expect(canvas.contains("validation"))
    }

    @Test func emptyRunShowsPlaceholdersInsteadOfCrashing() {
        let source = SimulatedSource(steps: 0)
        let canvas = frame(makeController(source), source)
        #expect(canvas.contains("no data yet"))
        #expect(canvas.contains("no loader figures yet"))
        #expect(canvas.contains("not yet"))
    }

    @Test func logScaleAndZoomShowInTheLossBoxTitle() {
        let source = SimulatedSource(steps: 300)
        let controller = makeController(source)
        press(controller, source, [.char("L"), .char("+"), .char("+"), .char("+")])
        let canvas = frame(controller, source)
        #expect(canvas.line(2).contains("log last 1000"))
        press(controller, source, [.char("-")])
        #expect(frame(controller, source).line(2).contains("log last 2000"))
    }
}

@Suite struct ASCIIFallbackTests {
    @Test func overlaysStayASCIIWithoutUTF8() {
        let source = SimulatedSource(steps: 300)
        for keys: [Key] in [[.char("?")], [.char("s")] + type("5"), [.char("q")], [.char("i")], [.char("D")]] {
            let controller = makeController(source)
            press(controller, source, keys)
            let canvas = frame(controller, source, context: .ascii)
            let offending = canvas.text.unicodeScalars.filter { !$0.isASCII }
            #expect(offending.isEmpty, "keys \(keys) drew non-ASCII \(String(String.UnicodeScalarView(offending)))")
        }
    }
}
