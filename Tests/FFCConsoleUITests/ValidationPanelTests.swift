import FFCEngine
import Testing

@testable import FFCConsoleUI

/// The validation box with `.bin` sets (`ffc train --val`): one row per set, names aligned.
@Suite struct ValidationPanelTests {
    @Test func eachBinSetGetsARowWithPlainFlipAndBestAccuracy() {
        var snapshot = MetricsSnapshot()
        snapshot.validationSets = [
            ValidationRecord(
                step: 40, set: "lfw", pairs: 6000, accuracy: 0.9123, accuracyFlip: 0.92, bestAccuracyFlip: 0.925,
                bestStep: 20),
            ValidationRecord(
                step: 40, set: "cfp_fp", pairs: 7000, accuracy: 0.801, accuracyFlip: 0.8125, bestAccuracyFlip: 0.8125,
                bestStep: 40),
        ]
        var canvas = CellCanvas(width: 44, height: 5)
        ValidationPanel(snapshot: snapshot).draw(
            into: &canvas, rect: Rect(x: 0, y: 0, width: 44, height: 5), context: .ascii)
        let lines = canvas.text.split(separator: "\n").map(String.init)
        #expect(lines[1].contains("lfw    91.23% flip 92.00% best 92.50%"), "\(lines)")
        #expect(lines[2].contains("cfp_fp 80.10% flip 81.25% best 81.25%"), "\(lines)")
        #expect(!canvas.text.contains("not yet"), "no held-out pairs rows when only .bin sets validate")
    }
}
