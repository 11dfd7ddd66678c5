// Signals reach the console loop from a Dispatch worker without touching the main actor.
import Foundation
import Testing

@testable import FFCConsoleUI

@Suite(.serialized) struct SignalTests {
    @Test func signalIsLatchedOffTheMainThreadAndDispositionRestored() async throws {
        let watch = SignalWatch(signals: [SIGUSR1])
        // Dispatch installs its handler asynchronously after resume(); a signal sent before that
        // is discarded (the disposition is SIG_IGN), so send again until one is seen.
        var seen: Int32?
        for attempt in 0..<200 where seen == nil {
            if attempt % 10 == 0 { kill(getpid(), SIGUSR1) }
            try await Task.sleep(for: .milliseconds(5))
            seen = watch.latch.take()
        }
        watch.restore()
        #expect(seen == SIGUSR1)
        #expect(watch.latch.take() == nil)
        let current = signal(SIGUSR1, SIG_DFL)
        #expect(unsafeBitCast(current, to: Int.self) == 0)  // SIG_DFL, not SIG_IGN (1)
    }
}
