// TensorBoard event files: the committed run (Fixtures/tensorboard, made by
// tools/reference/tensorboard_reference.py) as TensorBoard's own reader saw it, and a fresh run's
// file against its metrics.jsonl. Values are float32 in the file (simple_value), so each is
// compared with Float(the Double in metrics.jsonl): exact, no tolerance.
import Foundation
import Testing

@testable import FFCEngine

/// Reads TFRecord frames, checking both masked CRC32Cs, and decodes each as an Event.
func readEvents(_ path: String) throws -> [Tensorflow_Event] {
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    var events: [Tensorflow_Event] = []
    var at = 0
    func u32(_ i: Int) -> UInt32 { bytes[i..<(i + 4)].reversed().reduce(0) { $0 << 8 | UInt32($1) } }
    while at < bytes.count {
        #expect(at + 12 <= bytes.count, "frame header at \(at)")
        let length = Int(bytes[at..<(at + 8)].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        let lengthCRC = Array(bytes[at..<(at + 8)]).withUnsafeBytes(CRC32C.masked)
        #expect(u32(at + 8) == lengthCRC, "length CRC at \(at)")
        let data = Array(bytes[(at + 12)..<(at + 12 + length)])
        #expect(u32(at + 12 + length) == data.withUnsafeBytes(CRC32C.masked), "data CRC at \(at)")
        events.append(try Tensorflow_Event(serializedBytes: data))
        at += 12 + length + 4
    }
    return events
}

@Suite struct TensorBoardTests {
    static var fixtures: String { Bundle.module.resourceURL!.appendingPathComponent("Fixtures/tensorboard").path }

    @Test func crc32cMatchesTheCastagnoliCheckValue() {
        // The standard check value of CRC-32C over "123456789".
        #expect(Array("123456789".utf8).withUnsafeBytes(CRC32C.checksum) == 0xe306_9283)
    }

    @Test func theCommittedRunReadsAsTensorBoardReadIt() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/expected.json"))
        let expected = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let expectedScalars = (expected["scalars"] as! [String: [[Double]]])
        let expectedTexts = (expected["texts"] as! [String: [[Any]]]).mapValues {
            $0.map { ["\($0[0] as! Int)", $0[1] as! String] }
        }
        let plugins = expected["text_plugins"] as! [String: String]
        let events = try readEvents(Self.fixtures + "/events.tfevents")
        #expect(events.count == expected["records"] as! Int)
        #expect(events.first?.fileVersion == "brain.Event:2" && expected["file_version"] as? String == "brain.Event:2")
        var scalars: [String: [[Double]]] = [:]
        var textsSeen: [String: [[String]]] = [:]
        for event in events.dropFirst() {
            for v in event.summary.value {
                switch v.value {
                case .simpleValue(let x): scalars[v.tag, default: []].append([Double(event.step), Double(x)])
                case .tensor(let t):
                    #expect(t.dtype == .dtString && v.metadata.pluginData.pluginName == plugins[v.tag])
                    textsSeen[v.tag, default: []].append([
                        "\(event.step)", String(decoding: t.stringVal[0], as: UTF8.self),
                    ])
                case nil: Issue.record("value without content: \(v.tag)")
                }
            }
        }
        // Foundation's JSON reader can be an ulp off in a Double; the values are float32 in
        // both files, so compare them as Float (exact).
        #expect(
            scalars.mapValues { $0.map { $0.map(Float.init) } }
                == expectedScalars.mapValues { $0.map { $0.map(Float.init) } })
        #expect(textsSeen == expectedTexts)
        #expect(textsSeen["events/command"]?.first?[1].hasPrefix("queue_size_at: queue_size 4 → 6") == true)
        // And they are the numbers metrics.jsonl holds.
        let metrics = try MetricsStreamContents.read(path: Self.fixtures + "/metrics.jsonl")
        #expect(scalars["loss/total"]?.map { $0[1] } == metrics.steps.map { Double(Float($0.loss)) })
        #expect(scalars["lru/capacity"]?.map { $0[1] } == metrics.steps.map { Double($0.poolCapacity) })
    }

    @Test func aRunWritesItsStepsAndEventsToAnEventFile() throws {
        var config = TrainerFixture.config("tensorboard", steps: 3)
        config.queueSizeAt = [TrainingConfig.QueueResize(step: 2, queueSize: 20)]
        let run = try TrainerFixture.run(config)
        let dir = run.directory.tensorboardPath
        let files = try FileManager.default.contentsOfDirectory(atPath: dir)
        #expect(files.count == 1 && files[0].hasPrefix("events.out.tfevents."))
        let events = try readEvents(dir + "/" + files[0])
        #expect(events.first?.fileVersion == "brain.Event:2")
        let metrics = try MetricsStreamContents.read(path: run.directory.metricsPath)
        let steps = events.filter { $0.summary.value.contains { $0.tag == "loss/total" } }
        #expect(steps.map(\.step) == metrics.steps.map { Int64($0.step) })
        for (event, record) in zip(steps, metrics.steps) {
            var values: [String: Float] = [:]
            for v in event.summary.value { if case .simpleValue(let x) = v.value { values[v.tag] = x } }
            #expect(values["loss/total"] == Float(record.loss) && values["loss/margin"] == Float(record.lossMargin))
            #expect(values["hit_rate/pair"] == Float(record.hitRatePair) && values["lr"] == Float(record.lr))
            #expect(values["lru/evictions"] == Float(record.evictions))
            #expect(
                values["data_wait/instance"] == Float(record.loaders.first { $0.name == "instance" }!.trainerWaitShare))
        }
        let texts = events.flatMap { e in e.summary.value.filter { $0.metadata.pluginData.pluginName == "text" } }
        #expect(texts.count == metrics.events.count)
        #expect(
            texts.contains {
                $0.tag == "events/command"
                    && String(decoding: $0.tensor.stringVal[0], as: UTF8.self).contains("queue_size 16 → 20")
            })
    }
}
