// Shared helpers: a manual clock, rendering a controller into a canvas, golden screen files.
import FFCEngine
import Foundation
import Testing

@testable import FFCConsoleUI

/// Time that only moves when a test says so.
final class ManualClock {
    var seconds = 1000.0
}

/// The repository's themes/ folder, found from this file's path.
let repositoryThemes = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("themes").path

func makeController(
    _ source: SimulatedSource, clock: ManualClock = ManualClock(), theme: ThemeName = .default,
    themeDirectories: [String] = [repositoryThemes]
) -> ConsoleController {
    ConsoleController(source: source, theme: theme, themeDirectories: themeDirectories, now: { clock.seconds })
}

/// Updates and renders one frame of the source's current snapshot.
func frame(
    _ controller: ConsoleController, _ source: SimulatedSource, width: Int = 80, height: Int = 24,
    context: RenderContext = .unicode
) -> CellCanvas {
    var canvas = CellCanvas(width: width, height: height)
    controller.screenSize = (width, height)
    let snapshot = source.snapshot()
    controller.update(snapshot)
    controller.render(snapshot, into: &canvas, context: context)
    return canvas
}

/// Sends keys as typed text or named keys, each against a fresh snapshot.
@discardableResult
func press(_ controller: ConsoleController, _ source: SimulatedSource, _ keys: [Key]) -> ConsoleExit? {
    for key in keys {
        if let exit = controller.handle(key, snapshot: source.snapshot()) { return exit }
    }
    return nil
}

func type(_ text: String) -> [Key] { text.map { Key.char($0) } }

/// Compares `canvas` with Tests/FFCConsoleUITests/Golden/NAME.txt; FFC_UPDATE_GOLDEN=1 rewrites it.
func expectGolden(_ canvas: CellCanvas, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/\(name).txt")
        .path
    let text = canvas.text + "\n"
    if ProcessInfo.processInfo.environment["FFC_UPDATE_GOLDEN"] == "1" {
        #expect(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)))
        return
    }
    guard let data = FileManager.default.contents(atPath: path) else {
        Issue.record(
            "golden file \(path) is missing; run with FFC_UPDATE_GOLDEN=1 and review it", sourceLocation: sourceLocation
        )
        return
    }
    let golden = String(decoding: data, as: UTF8.self)
    if golden != text {
        let a = golden.split(separator: "\n", omittingEmptySubsequences: false)
        let b = text.split(separator: "\n", omittingEmptySubsequences: false)
        let firstDiff = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }
        let detail =
            firstDiff.map { "line \($0.offset + 1):\n  golden: \($0.element.0)\n  actual: \($0.element.1)" }
            ?? "line counts differ"
        Issue.record("screen differs from \(name).txt at \(detail)", sourceLocation: sourceLocation)
    }
}
