import Foundation
import Synchronization
import Testing

@testable import FFCEngine

/// A source with a fixed pool, recording the commands it receives.
final class FixedPoolSource: ConsoleSource {
    let hub: MetricsHub
    let received = Mutex<[TrainerCommand]>([])
    let rows = (0..<5).map {
        PoolSlotInfo(
            slot: $0, identity: 100 + $0, recencyRank: $0, ageSteps: $0 * 2, writes: 5 - $0, positionBit: $0 % 2,
            bankCosine: 0.9, nearestIdentity: 101, nearestCosine: 0.2)
    }
    init(hub: MetricsHub) { self.hub = hub }
    func snapshot() -> MetricsSnapshot { hub.snapshot() }
    func send(_ command: TrainerCommand) { received.withLock { $0.append(command) } }
    func inspect(sort: PoolSortKey, offset: Int, limit: Int) -> [PoolSlotInfo] {
        Array(rows.dropFirst(offset).prefix(limit))
    }
    func lookup(identity: Int) -> PoolSlotInfo? { rows.first { $0.identity == identity } }
    func sampleImage(identity: Int) -> (width: Int, height: Int, rgb: [UInt8])? {
        identity == 100 ? (2, 1, [1, 2, 3, 4, 5, 6]) : nil
    }
}

@Suite struct ControlSocketTests {
    static func tempRun() -> String {
        let dir = "/tmp/ffc-sock-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func protocolRoundTripSnapshotsCommandsAndInspection() throws {
        let dir = Self.tempRun()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let hub = MetricsHub()
        hub.publish { $0.runName = "t" }
        for step in 1...3 {
            var r = StepRecord()
            r.step = step
            r.loss = Double(10 - step)
            hub.append(r)
        }
        let source = FixedPoolSource(hub: hub)
        let server = try ControlServer(path: dir + "/control.sock", hub: hub, source: source)
        defer { server.stop() }

        var st = stat()
        #expect(stat(dir + "/control.sock", &st) == 0)
        #expect(st.st_mode & 0o777 == 0o600)

        let a = try RemoteSource(socketPath: dir + "/control.sock", hz: 50)
        let b = try RemoteSource(socketPath: dir + "/control.sock", hz: 50)
        #expect(a.waitForStep(3, timeoutSeconds: 5))
        #expect(a.snapshot().history.map(\.step) == [1, 2, 3])
        #expect(a.snapshot().runName == "t")

        var r = StepRecord()
        r.step = 4
        hub.append(r)
        hub.append(EventRecord(step: 4, kind: .info, message: "hello"))
        #expect(b.waitForStep(4, timeoutSeconds: 5))
        #expect(a.waitForStep(4, timeoutSeconds: 5))
        #expect(a.snapshot().history.map(\.step) == [1, 2, 3, 4])
        #expect(a.snapshot().events.map(\.message) == ["hello"])

        #expect(a.inspect(sort: .recency, offset: 1, limit: 2).map(\.identity) == [101, 102])
        #expect(b.lookup(identity: 103)?.slot == 3)
        #expect(b.lookup(identity: 7) == nil)
        #expect(a.sampleImage(identity: 100)?.rgb == [1, 2, 3, 4, 5, 6])
        #expect(a.sampleImage(identity: 1) == nil)

        a.send(.pause)
        _ = a.request(.snapshot)  // replies come in order: the command is in once this returns
        b.send(.setLearningRate(0.5))
        _ = b.request(.lookup(identity: 0))
        a.send(.resume)
        _ = a.request(.lookup(identity: 0))
        #expect(source.received.withLock { $0 } == [.pause, .setLearningRate(0.5), .resume])
        #expect(server.clientCount == 2)

        server.stop()
        let deadline = Date().addingTimeInterval(3)
        while a.isConnected && Date() < deadline { usleep(10_000) }
        #expect(!a.isConnected)
        #expect(a.snapshot().events.last?.message == "lost connection to the trainer")
        #expect(!FileManager.default.fileExists(atPath: dir + "/control.sock"))
    }

    @Test func secondServerOnALiveSocketIsRefusedAndStaleSocketIsReplaced() throws {
        let dir = Self.tempRun()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let hub = MetricsHub()
        let path = dir + "/control.sock"
        let server = try ControlServer(path: path, hub: hub, source: FixedPoolSource(hub: hub))
        #expect(throws: ControlSocketError.alreadyServed(path: path)) {
            _ = try ControlServer(path: path, hub: hub, source: FixedPoolSource(hub: hub))
        }
        server.stop()
        // A socket file left by a killed trainer: nobody answers, so a new server takes over.
        let stale = try ControlSocket.listen(path: path)
        close(stale)
        #expect(!ControlSocket.answers(path: path))
        let again = try ControlServer(path: path, hub: hub, source: FixedPoolSource(hub: hub))
        #expect(ControlSocket.answers(path: path))
        again.stop()
    }

    @Test func garbageLineGetsAnErrorReplyAndTheConnectionStays() throws {
        let dir = Self.tempRun()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let hub = MetricsHub()
        let server = try ControlServer(path: dir + "/control.sock", hub: hub, source: FixedPoolSource(hub: hub))
        defer { server.stop() }
        let fd = try ControlSocket.connect(path: dir + "/control.sock")
        defer { close(fd) }
        #expect(ControlSocket.writeAll(fd, Array("hello\n".utf8)))
        let reader = LineReader(fd: fd)
        let reply = try ControlCoding.decode(ServerMessage.self, line: reader.next() ?? [])
        guard case .reply(-1, .error(let text)) = reply else {
            Issue.record("unexpected \(reply)")
            return
        }
        #expect(text.contains("unreadable request"))
        #expect(
            ControlSocket.writeAll(fd, ControlCoding.encodeLine(ClientMessage(id: 9, request: .lookup(identity: 104)))))
        let second = try ControlCoding.decode(ServerMessage.self, line: reader.next() ?? [])
        #expect(second == .reply(id: 9, .slot(FixedPoolSource(hub: hub).rows[4])))
    }
}
