// `ffc attach [RUN]`: reconnects to a live run through its control socket. Detaching never
// stops the run; only an explicit stop does.
import ArgumentParser
import FFCConsoleUI
import FFCEngine
import Foundation
import Synchronization

struct Attach: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Attach to a live run (default: the most recent live run under runs/).")

    @Argument(help: "Run directory, or a run name under runs/.") var name: String?
    @Option(help: "Directory holding run directories.") var root = "runs"
    @Option(help: "Console theme name or file.") var theme: String?
    @Flag(help: "Plain progress lines instead of the console.") var plain = false

    func run() throws {
        let directory: RunDirectory
        if let name {
            directory =
                FileManager.default.fileExists(atPath: name)
                ? RunDirectory(path: name) : RunDirectory(path: root + "/" + name)
        } else {
            guard let live = RunDirectory.list(under: root).first(where: { $0.state == .live }) else {
                throw ValidationError("no live run under \(root)/ (see `ffc runs`)")
            }
            directory = live.directory
        }
        try Self.attach(run: directory, theme: theme, plain: plain)
    }

    /// Shows the console for the run (plain lines without a terminal or with `plain`) until
    /// the run ends, the user detaches, or the user stops it.
    static func attach(run: RunDirectory, theme: String?, plain: Bool = false) throws {
        let source: RemoteSource
        do {
            source = try RemoteSource(run: run)
        } catch ControlSocketError.system("connect", _, let e) where e == ECONNREFUSED || e == ENOENT {
            throw ValidationError(
                "\(run.path): no trainer answers on its control socket (finished or stopped? see `ffc runs`)")
        }
        guard !plain, Console.isInteractive else {
            followPlain(source, run: run)
            return
        }
        let exit = try Console.run(source: source, theme: ThemeName(theme ?? "default"))
        switch exit {
        case .detach:
            print("detached; training continues. Reattach with: ffc attach \(run.path)")
        case .stopRun:
            print("stop sent: the trainer saves a checkpoint and ends (\(run.logPath))")
        case .finished:
            print("run finished: \(run.path)")
        }
        source.disconnect()
    }

    /// Prints a progress line a second and every new event; Ctrl-C detaches.
    static func followPlain(_ source: RemoteSource, run: RunDirectory) {
        let detach = Atomic<Bool>(false)
        signal(SIGINT, SIG_IGN)
        let interrupt = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        interrupt.setEventHandler { detach.store(true, ordering: .relaxed) }
        interrupt.resume()
        defer {
            interrupt.cancel()
            signal(SIGINT, SIG_DFL)
        }
        print("attached to \(run.path) (Ctrl-C detaches; the run goes on)")
        var printedEvents = 0
        var lastStep = -1
        var lastLine = Date.distantPast
        while !detach.load(ordering: .relaxed) {
            let s = source.snapshot()
            if printedEvents > s.events.count { printedEvents = 0 }
            for event in s.events.dropFirst(printedEvents) {
                print("[\(event.kind.rawValue)] step \(event.step): \(event.message)")
            }
            printedEvents = s.events.count
            if let r = s.latest, r.step != lastStep, Date().timeIntervalSince(lastLine) >= 1 {
                print(TrainingRun.progressLine(r, totalSteps: s.maxSteps, epochs: s.epochs, eta: s.etaSeconds))
                lastStep = r.step
                lastLine = Date()
            }
            if s.finished || !source.isConnected { break }
            usleep(100_000)
        }
        if detach.load(ordering: .relaxed) {
            print("detached; training continues. Reattach with: ffc attach \(run.path)")
        } else {
            print(source.snapshot().finished ? "run ended" : "lost connection to the trainer")
        }
        source.disconnect()
    }
}
