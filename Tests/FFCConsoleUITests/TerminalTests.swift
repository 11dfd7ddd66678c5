// The curses layer, headless: a screen from newterm on /dev/null, a frame blitted and read back.
import Testing

@testable import FFCConsoleUI

@Suite(.serialized) @MainActor struct TerminalTests {
    @Test func headlessScreenShowsTheRenderedFrame() throws {
        let terminal = try #require(Terminal(device: .null(termName: "xterm-256color"), unicode: true, colours: true))
        defer { terminal.close() }
        #expect(terminal.size.width == 80 && terminal.size.height == 24)
        #expect(terminal.depth == .palette256)
        let source = SimulatedSource(steps: 300)
        let controller = makeController(source)
        let canvas = frame(controller, source)
        terminal.draw(canvas, theme: controller.theme)
        #expect(terminal.screenLine(0).contains("sim-run"))
        #expect(terminal.screenLine(2).hasPrefix("╭ loss "))
        #expect(terminal.screenLine(23).contains("q quit"))
        // Only changed cells are rewritten; the result must still be the new frame.
        press(controller, source, [.char("?")])
        terminal.draw(frame(controller, source), theme: controller.theme)
        #expect(terminal.screenLine(6).contains("quit: stop the run or detach"))
        #expect(terminal.readKey(waitingAtMost: 0) == nil)
    }

    @Test func monochromeAndASCIITerminalStillDraws() throws {
        let terminal = try #require(Terminal(device: .null(termName: "vt100"), unicode: false, colours: true))
        defer { terminal.close() }
        #expect(terminal.depth == .mono)
        let source = SimulatedSource(steps: 300)
        let controller = makeController(source)
        terminal.draw(frame(controller, source, context: .ascii), theme: controller.theme)
        #expect(terminal.screenLine(2).hasPrefix("+ loss "))
    }

    @Test func unknownTerminalTypeIsRefusedNotFatal() {
        #expect(Terminal(device: .null(termName: "no-such-terminal-type"), unicode: true, colours: true) == nil)
    }
}
