// How a console session ends, and the signal latch its loop reads. The seam itself,
// `ConsoleSource`, lives in FFCEngine/Control: the trainer in this process and `RemoteSource`
// (a client of a run's control socket) implement it. The console owns no training state.
import FFCEngine

/// How the console ended.
public enum ConsoleExit: Sendable, Equatable {
    /// The user chose to stop the run (or pressed Ctrl-C); the console already sent `.stop`.
    case stopRun
    /// The user detached (or the terminal hung up); the run goes on without a console.
    case detach
    /// The run had finished and the user closed the console.
    case finished
}
