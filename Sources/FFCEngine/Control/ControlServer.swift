// Control: serves a run over its control socket. Any number of clients (consoles, `ffc attach`,
// scripts) connect; each gets snapshot deltas at the rate it subscribed to and answers to its
// requests. Commands go to the source in arrival order across all clients (the source queues
// them for the next step boundary). A peer of another uid is refused at accept. A bad request
// — not JSON, longer than `maxRequestBytes`, cut off by the end of the stream — gets an error
// reply and the connection goes on. Each client has its own reader thread, and every write to
// a client is non-blocking (what the socket does not take waits in that client's backlog), so
// a client that stops mid-line or stops reading stalls nobody: not the other clients, not the
// trainer, not `stop()`.
import Foundation
import Synchronization

public final class ControlServer: Sendable {
    public let path: String
    private let hub: MetricsHub
    private let source: any ConsoleSource
    private let listenFD: Int32
    private let clients = Mutex<[Int: ControlClientConnection]>([:])
    private let nextClientID = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let threadsDone = DispatchGroup()
    /// Serialises request handling across clients so commands keep arrival order.
    private let requestLock = Mutex<Void>(())
    private let warn: @Sendable (String) -> Void
    /// Requests are a few hundred bytes; a longer line is a broken or hostile client.
    public static let maxRequestBytes = 1 << 16

    /// Listens at `path` (mode 0600) and starts accepting. `warn` hears of refused peers.
    public init(
        path: String, hub: MetricsHub, source: any ConsoleSource, warn: @escaping @Sendable (String) -> Void = { _ in }
    ) throws {
        self.path = path
        self.hub = hub
        self.source = source
        self.warn = warn
        listenFD = try ControlSocket.listen(path: path)
        threadsDone.enter()
        Thread.detachNewThread { [self] in
            acceptLoop()
            threadsDone.leave()
        }
        threadsDone.enter()
        Thread.detachNewThread { [self] in
            pushLoop()
            threadsDone.leave()
        }
    }

    public var clientCount: Int { clients.withLock { $0.count } }

    /// Sends every subscriber a last delta, disconnects everyone, removes the socket file and
    /// waits for the server's threads.
    public func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        pushDeltas(force: true)
        shutdown(listenFD, Int32(SHUT_RDWR))
        unlink(path)
        for client in clients.withLock({ Array($0.values) }) { client.hangUp() }
        threadsDone.wait()
        close(listenFD)
    }

    private func acceptLoop() {
        while !stopping.load(ordering: .acquiring) {
            let fd = ControlSocket.accept(listenFD)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return
            }
            let owner = geteuid()
            guard let peer = ControlSocket.peer(fd), peer.uid == owner else {
                let who = ControlSocket.peer(fd).map { "uid \($0.uid) (pid \($0.pid))" } ?? "a peer of unknown uid"
                let refusal = ServerMessage.reply(
                    id: -1, .error("refused: \(who) is not the run's owner (uid \(owner))"))
                _ = ControlSocket.sendWithoutWaiting(fd, ControlCoding.encodeLine(refusal)[...])
                Glibc.close(fd)
                warn("control socket: refused a connection from \(who): not the run's owner")
                continue
            }
            let id = nextClientID.add(1, ordering: .relaxed).newValue
            let client = ControlClientConnection(fd: fd)
            clients.withLock { $0[id] = client }
            if stopping.load(ordering: .acquiring) { client.hangUp() }
            threadsDone.enter()
            Thread.detachNewThread { [self] in
                serve(client)
                clients.withLock { _ = $0.removeValue(forKey: id) }
                client.close()
                threadsDone.leave()
            }
        }
    }

    private func serve(_ client: ControlClientConnection) {
        let reader = LineReader(fd: client.fd, maxLineBytes: Self.maxRequestBytes)
        while let frame = reader.next() {
            switch frame {
            case .line(let line):
                guard let message = try? ControlCoding.decode(ClientMessage.self, line: line) else {
                    client.send(
                        .reply(
                            id: -1, .error("unreadable request: \(String(decoding: line.prefix(200), as: UTF8.self))")))
                    continue
                }
                client.send(.reply(id: message.id, handle(message.request, client: client)))
            case .oversized(let limit):
                client.send(.reply(id: -1, .error("request longer than \(limit) bytes: skipped up to its newline")))
            case .truncated(let bytes):
                client.send(.reply(id: -1, .error("request cut off: \(bytes) bytes and no newline before the end")))
            }
        }
    }

    private func handle(_ request: ControlRequest, client: ControlClientConnection) -> ControlReply {
        switch request {
        case .command(let command):
            requestLock.withLock { _ in source.send(command) }
            return .accepted
        case .inspect(let sort, let offset, let limit):
            guard offset >= 0, limit >= 0 else { return .error("offset and limit must be ≥ 0") }
            return .slots(source.inspect(sort: sort, offset: offset, limit: limit))
        case .lookup(let identity):
            return .slot(source.lookup(identity: identity))
        case .sampleImage(let identity):
            return .image(
                source.sampleImage(identity: identity).map {
                    SampleImage(width: $0.width, height: $0.height, rgb: $0.rgb)
                })
        case .snapshot:
            client.pushDelta(from: hub)
            return .accepted
        case .subscribe(let hz):
            // Below 0.01 Hz the push interval in nanoseconds would not fit its UInt64.
            guard hz == 0 || (hz >= 0.01 && hz <= 100) else {
                return .error("subscribe rate \(hz) Hz: expected 0 (stop) or 0.01…100")
            }
            client.subscribe(hz: hz)
            client.pushDelta(from: hub)
            return .accepted
        }
    }

    private func pushLoop() {
        while !stopping.load(ordering: .acquiring) {
            usleep(20_000)
            pushDeltas(force: false)
        }
    }

    private func pushDeltas(force: Bool) {
        let now = DispatchTime.now().uptimeNanoseconds
        for client in clients.withLock({ Array($0.values) }) {
            client.flush()
            if client.isDue(now: now, force: force) { client.pushDelta(from: hub) }
        }
    }
}

/// One connected client: its descriptor, what it has seen, when it wants the next delta, and
/// what it has not read yet.
final class ControlClientConnection: Sendable {
    private struct State {
        var open = true
        /// False once the descriptor is closed: its number may belong to another file by then.
        var descriptorValid = true
        var intervalNanos: UInt64 = 0
        var nextPushNanos: UInt64 = 0
        var recordsSeen = 0
        var eventsSeen = 0
        /// Bytes the socket did not take yet, from `backlogStart` on; whole lines, in order.
        var backlog: [UInt8] = []
        var backlogStart = 0
        var backlogBytes: Int { backlog.count - backlogStart }
    }

    /// A client this far behind is not reading: it is hung up.
    static let maxBacklogBytes = 64 << 20

    let fd: Int32
    private let state = Mutex(State())

    init(fd: Int32) { self.fd = fd }

    func subscribe(hz: Double) {
        state.withLock { s in
            s.intervalNanos = hz > 0 ? UInt64(1e9 / hz) : 0
            s.nextPushNanos = DispatchTime.now().uptimeNanoseconds + s.intervalNanos
        }
    }

    func isDue(now: UInt64, force: Bool) -> Bool {
        state.withLock { s in
            guard s.open, s.intervalNanos > 0, force || now >= s.nextPushNanos else { return false }
            s.nextPushNanos = now + s.intervalNanos
            return true
        }
    }

    /// Queues what the client has not seen. While older lines still wait, nothing new is
    /// made: the next delta covers everything since the last one sent.
    func pushDelta(from hub: MetricsHub) {
        state.withLock { s in
            guard s.open, s.backlogBytes == 0 else { return }
            let delta = hub.delta(sinceRecords: s.recordsSeen, sinceEvents: s.eventsSeen)
            s.recordsSeen = delta.recordsTotal
            s.eventsSeen = delta.eventsTotal
            queue(ControlCoding.encodeLine(ServerMessage.delta(delta)), &s)
        }
    }

    func send(_ message: ServerMessage) {
        state.withLock { s in queue(ControlCoding.encodeLine(message), &s) }
    }

    /// Sends what the socket takes of the backlog now.
    func flush() {
        state.withLock { s in drain(&s) }
    }

    private func queue(_ line: [UInt8], _ s: inout State) {
        guard s.open else { return }
        s.backlog.append(contentsOf: line)
        drain(&s)
    }

    private func drain(_ s: inout State) {
        sending: while s.open && s.backlogBytes > 0 {
            switch ControlSocket.sendWithoutWaiting(fd, s.backlog[s.backlogStart...]) {
            case .sent(let n): s.backlogStart += n
            case .wouldBlock: break sending
            case .closed: s.open = false
            }
        }
        if s.backlogBytes == 0 || !s.open {
            s.backlog.removeAll(keepingCapacity: s.backlog.count <= 1 << 20)
            s.backlogStart = 0
        } else if s.backlogBytes > Self.maxBacklogBytes {
            hangUp(&s)
        } else if s.backlogStart > 1 << 20 {
            s.backlog.removeFirst(s.backlogStart)
            s.backlogStart = 0
        }
    }

    /// Wakes the reader (it sees end of stream); the descriptor stays valid until `close()`.
    func hangUp() {
        state.withLock { s in hangUp(&s) }
    }

    private func hangUp(_ s: inout State) {
        s.open = false
        s.backlog = []
        s.backlogStart = 0
        if s.descriptorValid { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    func close() {
        state.withLock { s in
            s.open = false
            if s.descriptorValid { Glibc.close(fd) }
            s.descriptorValid = false
        }
    }
}
