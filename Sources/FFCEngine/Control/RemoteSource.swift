// Control: a console's view of a run in another process, through the run's control socket.
// A reader thread merges pushed snapshot deltas into a local snapshot (so `snapshot()` never
// waits on the network) and hands replies to the requests waiting for them.
import Foundation
import Synchronization

public final class RemoteSource: ConsoleSource {
    public let path: String
    /// How long `inspect`, `lookup` and `sampleImage` wait for the trainer's answer.
    public let replyTimeoutSeconds: Double
    private let fd: Int32
    private let historyLimit: Int
    private let eventLimit = 256
    private let local = Mutex(MetricsSnapshot())
    private let connected = Atomic<Bool>(true)
    private let nextID = Atomic<Int>(0)
    private let waiting = Mutex<[Int: ReplyBox]>([:])
    private let writeLock = Mutex<Void>(())
    private let readerDone = DispatchGroup()

    /// Connects to the run's socket and subscribes to deltas at `hz`.
    public init(socketPath: String, hz: Double = 10, historyLimit: Int = 4096, replyTimeoutSeconds: Double = 3) throws {
        path = socketPath
        self.historyLimit = historyLimit
        self.replyTimeoutSeconds = replyTimeoutSeconds
        fd = try ControlSocket.connect(path: socketPath)
        readerDone.enter()
        Thread.detachNewThread { [self] in
            readLoop()
            readerDone.leave()
        }
        _ = post(.subscribe(hz: hz))
    }

    public convenience init(run: RunDirectory, hz: Double = 10) throws {
        try self.init(socketPath: run.socketPath, hz: hz)
    }

    deinit { close(fd) }

    /// False once the trainer went away (finished, stopped, or killed).
    public var isConnected: Bool { connected.load(ordering: .acquiring) }

    /// Hangs up; the last snapshot stays readable.
    public func disconnect() {
        shutdown(fd, Int32(SHUT_RDWR))
        readerDone.wait()
    }

    /// Waits until a delta with at least `step` (or a finished run) has arrived.
    public func waitForStep(_ step: Int, timeoutSeconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while Date() < deadline {
            let s = snapshot()
            if s.step >= step || s.finished { return true }
            if !isConnected { return false }
            usleep(10_000)
        }
        return false
    }

    // MARK: ConsoleSource

    public func snapshot() -> MetricsSnapshot { local.withLock { $0 } }

    public func send(_ command: TrainerCommand) { _ = post(.command(command)) }

    public func inspect(sort: PoolSortKey, offset: Int, limit: Int) -> [PoolSlotInfo] {
        if case .slots(let rows) = request(.inspect(sort: sort, offset: offset, limit: limit)) { return rows }
        return []
    }

    public func lookup(identity: Int) -> PoolSlotInfo? {
        if case .slot(let info) = request(.lookup(identity: identity)) { return info }
        return nil
    }

    public func sampleImage(identity: Int) -> (width: Int, height: Int, rgb: [UInt8])? {
        guard case .image(let image?) = request(.sampleImage(identity: identity)) else { return nil }
        return (image.width, image.height, image.rgb)
    }

    /// Sends a request and waits for its reply; nil when the connection is gone or the wait times out.
    public func request(_ request: ControlRequest) -> ControlReply? {
        let box = ReplyBox()
        let id = nextID.add(1, ordering: .relaxed).newValue
        waiting.withLock { $0[id] = box }
        defer { _ = waiting.withLock { $0.removeValue(forKey: id) } }
        guard write(ClientMessage(id: id, request: request)) else { return nil }
        guard box.ready.wait(timeout: .now() + replyTimeoutSeconds) == .success else { return nil }
        return box.reply.withLock { $0 }
    }

    // MARK: Connection

    private func post(_ request: ControlRequest) -> Bool {
        write(ClientMessage(id: nextID.add(1, ordering: .relaxed).newValue, request: request))
    }

    private func write(_ message: ClientMessage) -> Bool {
        guard isConnected else { return false }
        return writeLock.withLock { _ in ControlSocket.writeAll(fd, ControlCoding.encodeLine(message)) }
    }

    private func readLoop() {
        let reader = LineReader(fd: fd)
        while let frame = reader.next() {
            guard case .line(let line) = frame, let message = try? ControlCoding.decode(ServerMessage.self, line: line)
            else { continue }
            switch message {
            case .delta(let delta): merge(delta)
            case .reply(let id, let reply):
                if let box = waiting.withLock({ $0[id] }) {
                    box.reply.withLock { $0 = reply }
                    box.ready.signal()
                } else if case .error(let text) = reply {
                    // Unasked-for: the trainer refusing this connection, or a request it could not read.
                    local.withLock { s in
                        s.events.append(EventRecord(step: s.step, kind: .warning, message: "trainer: \(text)"))
                    }
                }
            }
        }
        connected.store(false, ordering: .releasing)
        local.withLock { s in
            if !s.finished {
                s.events.append(EventRecord(step: s.step, kind: .warning, message: "lost connection to the trainer"))
            }
        }
        for box in waiting.withLock({ Array($0.values) }) { box.ready.signal() }
    }

    private func merge(_ delta: SnapshotDelta) {
        local.withLock { s in
            var next = delta.snapshot
            next.history = s.history + delta.snapshot.history
            if next.history.count > historyLimit { next.history.removeFirst(next.history.count - historyLimit) }
            next.events = s.events + delta.snapshot.events
            if next.events.count > eventLimit { next.events.removeFirst(next.events.count - eventLimit) }
            s = next
        }
    }
}

/// Where a reply lands for the thread waiting on it.
private final class ReplyBox: Sendable {
    let ready = DispatchSemaphore(value: 0)
    let reply = Mutex<ControlReply?>(nil)
}
