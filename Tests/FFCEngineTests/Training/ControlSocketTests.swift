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
    /// A control server over a `FixedPoolSource` in a fresh directory.
    struct ServedPool {
        let dir = ControlSocketTests.tempRun()
        let hub = MetricsHub()
        let source: FixedPoolSource
        let server: ControlServer
        init() throws {
            source = FixedPoolSource(hub: hub)
            server = try ControlServer(path: dir + "/control.sock", hub: hub, source: source)
        }
        func close() {
            server.stop()
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

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
        #expect(try Self.errorReply(reader)?.contains("unreadable request") == true)
        #expect(
            ControlSocket.writeAll(fd, ControlCoding.encodeLine(ClientMessage(id: 9, request: .lookup(identity: 104)))))
        #expect(try Self.message(reader) == .reply(id: 9, .slot(FixedPoolSource(hub: hub).rows[4])))
    }

    /// The next server message, skipping snapshot deltas.
    static func message(_ reader: LineReader) throws -> ServerMessage? {
        while let frame = reader.next() {
            guard case .line(let line) = frame else { continue }
            let message = try ControlCoding.decode(ServerMessage.self, line: line)
            if case .delta = message { continue }
            return message
        }
        return nil
    }

    /// The text of the next reply if it is an error not answering any request (id -1).
    static func errorReply(_ reader: LineReader) throws -> String? {
        guard case .reply(-1, .error(let text)) = try message(reader) else { return nil }
        return text
    }

    /// Garbage, a line far past the limit, JSON of the wrong shape, numbers that fit no Int,
    /// and a request cut off by the end of the stream: each gets an error reply, the lines
    /// after each are served, and nothing reaches the trainer.
    @Test func malformedOversizedAndTruncatedRequestsGetErrorRepliesAndTheConnectionGoesOn() throws {
        let served = try ServedPool()
        defer { served.close() }
        let (dir, source) = (served.dir, served.source)
        let fd = try ControlSocket.connect(path: dir + "/control.sock")
        defer { close(fd) }
        let reader = LineReader(fd: fd)
        func ask(_ id: Int) throws -> ServerMessage? {
            #expect(
                ControlSocket.writeAll(
                    fd, ControlCoding.encodeLine(ClientMessage(id: id, request: .lookup(identity: 101)))))
            return try Self.message(reader)
        }
        var random = SeededRandom(seed: 11)
        let garbage = (0..<4096).map { _ in UInt8(truncatingIfNeeded: random.next()) }.filter { $0 != 0x0A }
        let bad: [[UInt8]] = [
            garbage + [0x0A],
            Array("{\"id\":1,\"request\":{\"bogus\":{}}}\n".utf8),
            Array("{\"id\":1e400,\"request\":{\"snapshot\":{}}}\n".utf8),
            Array("{\"id\":2,\"request\":{\"lookup\":{\"identity\":99999999999999999999999}}}\n".utf8),
            Array("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n".utf8),
            [0xFF, 0xFE, 0x00, 0x0A],
        ]
        for (i, line) in bad.enumerated() {
            #expect(ControlSocket.writeAll(fd, line))
            #expect(try Self.errorReply(reader)?.hasPrefix("unreadable request") == true, "bad line \(i)")
            #expect(try ask(100 + i) == .reply(id: 100 + i, .slot(source.rows[1])), "after bad line \(i)")
        }
        // 8 MiB without a newline: refused at 64 KiB and skipped unbuffered up to its newline.
        let huge = [UInt8](repeating: UInt8(ascii: "a"), count: 8 << 20)
        #expect(ControlSocket.writeAll(fd, huge + [0x0A]))
        #expect(
            try Self.errorReply(reader)
                == "request longer than \(ControlServer.maxRequestBytes) bytes: skipped up to its newline")
        #expect(try ask(200) == .reply(id: 200, .slot(source.rows[1])))
        #expect(source.received.withLock { $0 }.isEmpty)
        // Half a request, then the client shuts its sending side: the reply still arrives.
        #expect(ControlSocket.writeAll(fd, Array("{\"id\":5,\"requ".utf8)))
        shutdown(fd, Int32(SHUT_WR))
        #expect(try Self.errorReply(reader) == "request cut off: 13 bytes and no newline before the end")
        #expect(try Self.message(reader) == nil)
    }

    /// Values a well-formed request may carry that no console sends: pages past any end,
    /// rates that overflow the push interval, sizes and rates the trainer must refuse.
    @Test func outOfRangeRequestValuesGetAnswersNotCrashes() throws {
        let served = try ServedPool()
        defer { served.close() }
        let (dir, source) = (served.dir, served.source)
        let client = try RemoteSource(socketPath: dir + "/control.sock", hz: 0)
        defer { client.disconnect() }
        #expect(client.request(.inspect(sort: .age, offset: 1, limit: .max)) == .slots(Array(source.rows.dropFirst())))
        #expect(client.request(.inspect(sort: .age, offset: .max, limit: .max)) == .slots([]))
        guard case .error = client.request(.inspect(sort: .age, offset: -1, limit: 1)) else {
            Issue.record("negative offset accepted")
            return
        }
        for hz in [Double.leastNonzeroMagnitude, 1e-12, -1, 101, .infinity, .nan] {
            guard case .error(let text) = client.request(.subscribe(hz: hz)) else {
                Issue.record("subscribe \(hz) Hz accepted")
                continue
            }
            #expect(text.contains("expected 0 (stop) or 0.01…100"))
        }
        #expect(client.request(.subscribe(hz: 0.01)) == .accepted)
        #expect(client.request(.lookup(identity: .min)) == .slot(nil))
        #expect(client.request(.sampleImage(identity: .max)) == .image(nil))
    }

    /// The socket's directory: ours and writable by us only, or the server will not listen
    /// there. A run directory made by `RunDirectory.create` is, whatever the umask.
    @Test func socketDirectoryWritableByOthersIsRefused() throws {
        let dir = Self.tempRun()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let hub = MetricsHub()
        for mode: mode_t in [0o775, 0o757, 0o777] {
            chmod(dir, mode)
            #expect(throws: ControlSocketError.unsafeDirectory(path: dir, mode: UInt32(mode), owner: geteuid())) {
                _ = try ControlServer(path: dir + "/control.sock", hub: hub, source: FixedPoolSource(hub: hub))
            }
        }
        chmod(dir, 0o755)
        try ControlServer(path: dir + "/control.sock", hub: hub, source: FixedPoolSource(hub: hub)).stop()

        let previous = umask(0o002)
        let run = RunDirectory(path: dir + "/run")
        let created = Result { try run.create() }
        umask(previous)
        try created.get()
        var st = stat()
        #expect(stat(run.path, &st) == 0)
        #expect(st.st_mode & 0o022 == 0, "run directory mode \(String(st.st_mode & 0o777, radix: 8))")
        try ControlServer(path: run.socketPath, hub: hub, source: FixedPoolSource(hub: hub)).stop()
    }

    /// A second Unix user, made for the test: with the socket at its 0600 the kernel refuses
    /// the connection; with the file opened to everyone (a chmod gone wrong) the server
    /// refuses it by the peer's uid, says so to the peer and to the owner, and serves the
    /// owner as before. A directory of another owner is refused too.
    @Test(.disabled(if: ThrowawayUser.unavailableReason != nil, "needs root to create a user (useradd, runuser)"))
    func onlyTheOwnerCanConnect() throws {
        let ffc = ChildProcess.ffc
        try #require(FileManager.default.isExecutableFile(atPath: ffc), "no \(ffc): run swift build --build-tests")
        let user = try ThrowawayUser.create()
        defer { user.delete() }
        let dir = Self.tempRun()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let hub = MetricsHub()
        hub.publish { $0.step = 3 }
        let source = FixedPoolSource(hub: hub)
        let warnings = Mutex<[String]>([])
        let path = dir + "/control.sock"
        let server = try ControlServer(path: path, hub: hub, source: source) { w in warnings.withLock { $0.append(w) } }
        defer { server.stop() }

        let byMode = try user.run(ffc, ["attach", dir, "--plain"], timeoutSeconds: 60)
        #expect(byMode.status != 0 && !byMode.timedOut)
        #expect(byMode.output.contains("\(path): connect failed: Permission denied"), "\(byMode.output)")

        #expect(chmod(path, 0o777) == 0)
        let byUID = try user.run(ffc, ["attach", dir, "--plain"], timeoutSeconds: 60)
        #expect(!byUID.timedOut)
        #expect(byUID.output.contains("trainer: refused: uid \(user.uid) (pid "), "\(byUID.output)")
        #expect(byUID.output.contains("is not the run's owner (uid \(geteuid()))"))
        #expect(byUID.output.contains("lost connection to the trainer"))
        #expect(warnings.withLock { $0 }.count == 1)
        #expect(warnings.withLock { $0 }.first?.contains("refused a connection from uid \(user.uid)") == true)
        #expect(source.received.withLock { $0 }.isEmpty)

        let owner = try RemoteSource(socketPath: path, hz: 50)
        #expect(owner.waitForStep(3, timeoutSeconds: 10))
        owner.send(.pause)
        _ = owner.request(.snapshot)
        #expect(source.received.withLock { $0 } == [.pause])
        owner.disconnect()

        let theirs = dir + "/theirs"
        try FileManager.default.createDirectory(atPath: theirs, withIntermediateDirectories: false)
        #expect(chown(theirs, user.uid, gid_t(getegid())) == 0)
        #expect(throws: ControlSocketError.unsafeDirectory(path: theirs, mode: 0o755, owner: user.uid)) {
            _ = try ControlServer(path: theirs + "/control.sock", hub: hub, source: source)
        }
    }
}

/// A real trainer serving its socket to two consoles and three bad clients at once.
@Suite(.serialized) struct ControlSocketTrainerTests {
    /// Console A and console B both follow the run and both send commands; meanwhile one
    /// client stops in the middle of a line, one asks for replies it never reads, and one
    /// sends garbage and out-of-range pages. The run reaches its last step, both consoles see
    /// every event, and the end of the run does not wait on anyone.
    @Test func twoConsolesWorkWhileSlowSilentAndMalformedClientsAreConnected() throws {
        var config = TrainerFixture.config("sockets", steps: 24)
        config.batchSize = 4
        let run = try TrainingRun(config: config, makeHead: Trainer.makeHead)
        try run.serveControlSocket()
        let path = run.directory.socketPath

        // Mid-line forever: the server's reader for it waits, nobody else does.
        let slowloris = try ControlSocket.connect(path: path)
        defer { close(slowloris) }
        #expect(ControlSocket.writeAll(slowloris, Array("{\"id\":1,\"request\":{\"inspect\":".utf8)))
        // Subscribed at 100 Hz with 200 sample images asked for, and never a byte read: far more
        // than a socket buffer holds, so the server's writes to it would block if they could.
        let silent = try ControlSocket.connect(path: path)
        defer { close(silent) }
        var flood = ControlCoding.encodeLine(ClientMessage(id: 0, request: .subscribe(hz: 100)))
        for id in 1...200 {
            flood += ControlCoding.encodeLine(ClientMessage(id: id, request: .sampleImage(identity: 3)))
        }
        #expect(ControlSocket.writeAll(silent, flood))

        let a = try RemoteSource(socketPath: path, hz: 20)
        let b = try RemoteSource(socketPath: path, hz: 20)
        defer {
            a.disconnect()
            b.disconnect()
        }
        run.start()
        let ended = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            run.wait()
            ended.signal()
        }

        let bad = try ControlSocket.connect(path: path)
        defer { close(bad) }
        let badReader = LineReader(fd: bad)
        #expect(ControlSocket.writeAll(bad, Array("\u{1}\u{2}garbage\n".utf8)))
        #expect(try ControlSocketTests.errorReply(badReader)?.hasPrefix("unreadable request") == true)
        for (offset, limit) in [(1, Int.max), (Int.max, Int.max), (0, 1 << 40)] {
            let request = ClientMessage(id: 7, request: .inspect(sort: .drift, offset: offset, limit: limit))
            #expect(ControlSocket.writeAll(bad, ControlCoding.encodeLine(request)))
            guard case .reply(7, .slots(let rows)) = try ControlSocketTests.message(badReader) else {
                Issue.record("no page for offset \(offset) limit \(limit)")
                continue
            }
            #expect(rows.count <= config.queueSize)
        }

        #expect(a.waitForStep(5, timeoutSeconds: 60))
        #expect(b.waitForStep(5, timeoutSeconds: 60))
        a.send(.setLearningRate(0.05))
        b.send(.setQueueSize(24))
        #expect(ended.wait(timeout: .now() + 120) == .success, "the run did not end")
        for console in [a, b] {
            #expect(console.waitForStep(24, timeoutSeconds: 10))
            let s = console.snapshot()
            #expect(s.finished && s.step == 24)
            let messages = s.events.map(\.message)
            #expect(messages.contains { $0.hasPrefix("LR 0.05 from step") }, "\(messages)")
            #expect(messages.contains { $0.hasPrefix("queue_size 16 → 24") }, "\(messages)")
            #expect(s.history.last?.step == 24 && s.history.last?.poolCapacity == 24)
        }
        let steps = try MetricsStreamContents.read(path: run.directory.metricsPath).steps
        #expect(steps.map(\.step) == Array(1...24))
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
