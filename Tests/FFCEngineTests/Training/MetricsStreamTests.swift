import Foundation
import Testing

@testable import FFCEngine

@Suite struct MetricsStreamTests {
    @Test func stepAndEventLinesCarryTypeStepAndLossAndReadBack() throws {
        let path = NSTemporaryDirectory() + "metrics-\(UUID().uuidString).jsonl"
        defer { unlink(path) }
        let writer = try MetricsStreamWriter(path: path)
        var record = StepRecord()
        record.step = 7
        record.loss = 3.25
        record.lossMargin = 3
        try writer.append(.step(record))
        try writer.append(.event(EventRecord(step: 7, kind: .checkpoint, message: "saved", wallTime: 1)))
        record.step = 8
        record.loss = .nan
        try writer.append(.step(record))
        let text = String(decoding: FileManager.default.contents(atPath: path)!, as: UTF8.self)
        let first = try JSONSerialization.jsonObject(with: Data(text.split(separator: "\n")[0].utf8)) as! [String: Any]
        #expect(first["type"] as? String == "step")
        #expect(first["step"] as? Int == 7)
        #expect(first["loss"] as? Double == 3.25)
        let back = try MetricsStreamContents.read(path: path)
        #expect(back.steps.map(\.step) == [7, 8])
        #expect(back.steps[1].loss.isNaN)
        #expect(back.events == [EventRecord(step: 7, kind: .checkpoint, message: "saved", wallTime: 1)])
    }

    @Test func tornLastLineIsSkippedNotFatal() {
        let good = #"{"type":"event","step":1,"kind":"info","message":"hi","wallTime":0}"#
        let back = MetricsStreamContents.parse(Data((good + "\n{\"type\":\"step\",\"st").utf8))
        #expect(back.events.count == 1)
        #expect(back.skippedLines == 1)
    }

    /// A trainer killed mid-line leaves a torn last line; the next writer ends it before
    /// appending, so only the torn line is lost, not the first line after it.
    @Test func writerOpenedAfterATornLineEndsItFirst() throws {
        let path = NSTemporaryDirectory() + "metrics-\(UUID().uuidString).jsonl"
        defer { unlink(path) }
        let good = #"{"type":"event","step":1,"kind":"info","message":"hi","wallTime":0}"#
        try Data((good + "\n{\"type\":\"step\",\"st").utf8).write(to: URL(fileURLWithPath: path))
        try MetricsStreamWriter(path: path).append(.event(EventRecord(step: 2, kind: .info, message: "resumed")))
        try MetricsStreamWriter(path: path).append(.event(EventRecord(step: 3, kind: .info, message: "again")))
        let back = try MetricsStreamContents.read(path: path)
        #expect(back.events.map(\.message) == ["hi", "resumed", "again"])
        #expect(back.skippedLines == 1)
    }

    @Test func hubDeltaHoldsOnlyUnseenRecordsAndWindowStaysBounded() {
        let hub = MetricsHub(historyLimit: 10, eventLimit: 4)
        for step in 1...25 {
            var r = StepRecord()
            r.step = step
            hub.append(r)
        }
        #expect(hub.snapshot().history.count <= 10)
        #expect(hub.snapshot().history.last?.step == 25)
        let all = hub.delta(sinceRecords: 0, sinceEvents: 0)
        #expect(all.recordsTotal == 25)
        let newer = hub.delta(sinceRecords: 23, sinceEvents: 0)
        #expect(newer.snapshot.history.map(\.step) == [24, 25])
        for i in 0..<6 { hub.append(EventRecord(step: i, kind: .info, message: "\(i)")) }
        #expect(hub.snapshot().events.map(\.message) == ["2", "3", "4", "5"])
        #expect(hub.delta(sinceRecords: 25, sinceEvents: 5).snapshot.events.map(\.message) == ["5"])
    }

    @Test func commandQueueAppliesInOrderAndLogsRefusalsWithReason() {
        let queue = CommandQueue()
        queue.enqueue(.setQueueSize(-3))
        queue.enqueue(.pause)
        queue.enqueue(.setLearningRate(0.01))
        var seen: [TrainerCommand] = []
        let events = queue.applyPending(step: 5) { command in
            seen.append(command)
            if case .setQueueSize(let q) = command, q <= 0 { return .refused("queue_size must be > 0") }
            return .applied(command.summary)
        }
        #expect(seen == [.setQueueSize(-3), .pause, .setLearningRate(0.01)])
        #expect(events.map(\.kind) == [.refused, .command, .command])
        #expect(events[0].message == "set queue_size -3 refused: queue_size must be > 0")
        #expect(queue.count == 0)
    }
}
