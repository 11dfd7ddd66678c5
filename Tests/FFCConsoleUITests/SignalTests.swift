// Signals reach the console loop from a Dispatch worker without touching the main actor.
import Foundation
import Testing

@testable import FFCConsoleUI

@Suite(.serialized) struct SignalTests {
    @Test func signalIsLatchedOffTheMainThreadAndDispositionRestored() async throws {
        let watch = SignalWatch(signals: [SIGUSR1])
        kill(getpid(), SIGUSR1)
        var seen: Int32?
        for _ in 0..<200 where seen == nil {
            seen = watch.latch.take()
            try await Task.sleep(for: .milliseconds(5))
        }
        watch.restore()
        #expect(seen == SIGUSR1)
        #expect(watch.latch.take() == nil)
        let current = signal(SIGUSR1, SIG_DFL)
        #expect(unsafeBitCast(current, to: Int.self) == 0)  // SIG_DFL, not SIG_IGN (1)
    }
}
