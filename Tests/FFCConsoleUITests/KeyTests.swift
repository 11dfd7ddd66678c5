// Keys end to end against the simulated run: quit choices, prompts with previews, refusals,
// pause, the help overlay generated from the key table, themes and chart styles.
import FFCEngine
import Testing

@testable import FFCConsoleUI

@Suite struct KeyTests {
    @Test func quitAsksAndStopSendsStop() {
        let source = SimulatedSource(steps: 50)
        let controller = makeController(source)
        #expect(press(controller, source, [.char("q")]) == nil)
        #expect(frame(controller, source).contains("stop the run"))
        #expect(press(controller, source, [.char("s")]) == .stopRun)
        #expect(source.sent == [.stop])
    }

    @Test func quitThenDetachLeavesTheRunAlone() {
        let source = SimulatedSource(steps: 50)
        let controller = makeController(source)
        #expect(press(controller, source, [.char("q"), .escape]) == nil)
        #expect(controller.overlay == .none)
        #expect(press(controller, source, [.char("q"), .char("d")]) == .detach)
        #expect(source.sent.isEmpty)
    }

    @Test func queueSizePromptPreviewsShareAndMemoryBeforeApplying() {
        let source = SimulatedSource(steps: 50)
        let controller = makeController(source)
        press(controller, source, [.char("s")] + type("20000"))
        let canvas = frame(controller, source)
        expectGolden(canvas, "pool-size-prompt-80x24")
        #expect(canvas.contains("new pool: 20,000 slots = 2.00% of 1,000,000 identities"))
        #expect(canvas.contains("memory: 78.4 MiB"))  // 20,000 × 4,112 bytes
        #expect(canvas.contains("now: 10,000 slots, 39.2 MiB"))
        #expect(source.sent.isEmpty)
        press(controller, source, [.enter])
        #expect(source.sent == [.setQueueSize(20000)])
        #expect(controller.overlay == .none)
    }

    @Test func promptRejectsNonNumbersAndEscapeCancels() {
        let source = SimulatedSource(steps: 50)
        let controller = makeController(source)
        press(controller, source, [.char("s"), .char("x"), .enter])
        #expect(frame(controller, source).contains("not a positive whole number"))
        press(controller, source, [.escape])
        #expect(controller.overlay == .none)
        press(controller, source, [.char("l")] + type("0.05") + [.enter])
        #expect(source.sent == [.setLearningRate(0.05)])
    }

    @Test func refusedValueShowsTheEnginesReason() {
        let source = SimulatedSource(steps: 50)
        let controller = makeController(source)
        _ = frame(controller, source)
        press(controller, source, [.char("s")] + type("2000000") + [.enter])
        let canvas = frame(controller, source)
        #expect(canvas.line(23).contains("refused: queue_size 2000000 exceeds the 1000000 identities"))
        #expect(canvas.contains("refused"))
    }

    @Test func statusMessagesExpireOnTheManualClock() {
        let source = SimulatedSource(steps: 50)
        let clock = ManualClock()
        let controller = makeController(source, clock: clock)
        press(controller, source, [.char("c")])
        #expect(frame(controller, source).line(23).contains("checkpoint requested"))
        clock.seconds += 10
        #expect(frame(controller, source).line(23).contains("q quit"))
        #expect(source.sent == [.checkpointNow])
    }

    @Test func pauseFollowsTheRunsPausedState() {
        let source = SimulatedSource(steps: 50)
        let controller = makeController(source)
        press(controller, source, [.char("p")])
        #expect(frame(controller, source).line(0).contains("PAUSED"))
        press(controller, source, [.char(" ")])
        #expect(source.sent == [.pause, .resume])
    }

    @Test func helpOverlayListsEveryBindingFromTheTable() {
        let source = SimulatedSource(steps: 50)
        let controller = makeController(source)
        press(controller, source, [.char("?")])
        let canvas = frame(controller, source)
        for binding in KeyTable.bindings {
            #expect(canvas.contains(binding.help), "help overlay lacks '\(binding.help)'")
        }
        expectGolden(canvas, "help-80x24")
        press(controller, source, [.char("x")])
        #expect(controller.overlay == .none)
    }

    @Test func footerHintsComeFromTheKeyTable() {
        let source = SimulatedSource(steps: 50)
        let footer = frame(makeController(source), source).line(23)
        for hint in KeyTable.hints(for: .main, unicode: true) { #expect(footer.contains("\(hint.key) \(hint.word)")) }
    }

    @Test func themeKeyCyclesThroughThemeFiles() {
        let source = SimulatedSource(steps: 50)
        let controller = makeController(source)
        #expect(controller.themeNames == ["default", "gruvbox", "light", "monochrome", "nord"])
        press(controller, source, [.char("t")])
        #expect(controller.theme.name == "gruvbox")
        #expect(controller.theme.colours["background"] == RGB(0x28, 0x28, 0x28))
    }

    @Test func chartStyleKeyCyclesBrailleBlocksASCII() {
        let source = SimulatedSource(steps: 300)
        let controller = makeController(source)
        press(controller, source, [.char("g")])
        let blocks = frame(controller, source)
        #expect(blocks.line(5).unicodeScalars.contains { $0.value >= 0x2581 && $0.value <= 0x2588 })
        #expect(!blocks.line(5).unicodeScalars.contains { $0.value >= 0x2800 && $0.value <= 0x28ff })
        press(controller, source, [.char("g"), .char("g")])
        #expect(controller.chartStyle == .braille)
    }

    @Test func debugOverlayShowsConsoleCost() {
        let source = SimulatedSource(steps: 50)
        let controller = makeController(source)
        controller.stats.record(drawSeconds: 0.0005)
        controller.stats.cpuShare = 0.012
        press(controller, source, [.function(12)])
        let canvas = frame(controller, source)
        #expect(canvas.contains("0.50 ms/frame"))
        #expect(canvas.contains("1.20% of one core"))
    }

    @Test func quitOnAFinishedRunEndsWithoutAsking() {
        let source = SimulatedSource(steps: 50)
        let controller = makeController(source)
        var snapshot = source.snapshot()
        snapshot.finished = true
        #expect(controller.handle(.char("q"), snapshot: snapshot) == .finished)
    }
}
