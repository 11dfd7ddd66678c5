// Control: serves a run over its control socket. Any number of clients (consoles, `ffc attach`,
// scripts) connect; each gets snapshot deltas at the rate it subscribed to and answers to its
// requests. Commands go to the source in arrival order across all clients (the source queues
// them for the next step boundary).
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

    /// Listens at `path` (mode 0600) and starts accepting.
    public init(path: String, hub: MetricsHub, source: any ConsoleSource) throws {
        self.path = path
        self.hub = hub
        self.source = source
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
        let reader = LineReader(fd: client.fd)
        while let line = reader.next() {
            guard let message = try? ControlCoding.decode(ClientMessage.self, line: line) else {
                client.send(
                    .reply(id: -1, .error("unreadable request: \(String(decoding: line.prefix(200), as: UTF8.self))")))
                continue
            }
            client.send(.reply(id: message.id, handle(message.request, client: client)))
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
            guard hz >= 0, hz <= 100 else { return .error("subscribe rate \(hz) Hz is outside 0…100") }
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
        for client in clients.withLock({ Array($0.values) }) where client.isDue(now: now, force: force) {
            client.pushDelta(from: hub)
        }
    }
}

/// One connected client: its descriptor, what it has seen and when it wants the next delta.
final class ControlClientConnection: Sendable {
    private struct State {
        var open = true
        /// False once the descriptor is closed: its number may belong to another file by then.
        var descriptorValid = true
        var intervalNanos: UInt64 = 0
        var nextPushNanos: UInt64 = 0
        var recordsSeen = 0
        var eventsSeen = 0
    }

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

    /// Sends what the client has not seen; writes happen under the lock so lines never interleave.
    func pushDelta(from hub: MetricsHub) {
        state.withLock { s in
            guard s.open else { return }
            let delta = hub.delta(sinceRecords: s.recordsSeen, sinceEvents: s.eventsSeen)
            s.recordsSeen = delta.recordsTotal
            s.eventsSeen = delta.eventsTotal
            if !ControlSocket.writeAll(fd, ControlCoding.encodeLine(ServerMessage.delta(delta))) { s.open = false }
        }
    }

    func send(_ message: ServerMessage) {
        state.withLock { s in
            guard s.open else { return }
            if !ControlSocket.writeAll(fd, ControlCoding.encodeLine(message)) { s.open = false }
        }
    }

    /// Wakes the reader (it sees end of stream); the descriptor stays valid until `close()`.
    func hangUp() {
        state.withLock { s in
            s.open = false
            if s.descriptorValid { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    func close() {
        state.withLock { s in
            s.open = false
            if s.descriptorValid { Glibc.close(fd) }
            s.descriptorValid = false
        }
    }
}
