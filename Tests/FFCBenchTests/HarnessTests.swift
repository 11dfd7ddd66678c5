// The shared bench harness: median, load probe, table and JSON printing, the Python-reference
// runner; and the engine's duration formatter and resident-memory parse the benches use.

import FFCEngine
import Foundation
import Testing

@testable import FFCBench

@Suite("Bench harness")
struct HarnessTests {
    @Test func medianOfOddEvenAndEmpty() {
        #expect(Harness.median([3, 1, 2]) == 2)
        #expect(Harness.median([5]) == 5)
        #expect(Harness.median([4, 1, 3, 2]) == 2.5)
        #expect(Harness.median([10, 20]) == 15)
        #expect(Harness.median([]).isNaN)
    }

    @Test func medianElementIsTheUpperMiddleOfAnEvenCount() {
        #expect(Harness.medianElement([(1, "a"), (3, "c"), (2, "b")], by: { Double($0.0) })?.1 == "b")
        #expect(Harness.medianElement([(1, "a"), (4, "d"), (2, "b"), (3, "c")], by: { Double($0.0) })?.1 == "c")
        #expect(Harness.medianElement([Int](), by: { Double($0) }) == nil)
    }

    @Test func loadProbeParsesProcLoadavg() {
        #expect(LoadProbe.parse("0.52 0.58 0.59 1/467 12345\n") == "0.52 0.58 0.59")
        #expect(LoadProbe.parse("12.00 3.10 0.00 2/100 1") == "12.00 3.10 0.00")
        #expect(LoadProbe.parse("") == nil)
        #expect(LoadProbe.parse("0.52 0.58") == nil)
        #expect(LoadProbe.parse("load average: high") == nil)
        #expect(LoadProbe.read(path: "/nonexistent/loadavg") == "?")
    }

    @Test func loadProbeReadsAFile() throws {
        let path = NSTemporaryDirectory() + "ffc-loadavg-\(getpid())"
        try "1.25 0.50 0.10 3/200 999\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(LoadProbe.read(path: path) == "1.25 0.50 0.10")
    }

    @Test func tablePadsLeftAndRightColumnsWithoutCutting() {
        let table = TextTable([.init("name", 6), .init("n", 4, .right), .init("note", nil)])
        #expect(table.header == "name      n note")
        #expect(table.line(["ab", "12", "x"]) == "ab       12 x")
        #expect(table.line(["toolongname", "12345", "y"]) == "toolongname 12345 y")
        #expect(table.line(["ab"]) == "ab    ")
    }

    @Test func tableMinimumFillKeepsOneSpaceOnOverflow() {
        let table = TextTable(
            [.init("model", 6), .init("thr", 4, .right)], separator: "", minimumFill: 1, indent: "  ")
        #expect(table.line(["tiny", "1"]) == "  tiny     1")
        #expect(table.line(["mobilefacenet", "12345"]) == "  mobilefacenet  12345")
        #expect(table.header == "  model  thr")
    }

    /// The LRU table as its hand-written padding laid it out before the shared table.
    @Test func lruTableKeepsItsLayout() {
        let widths = [19, 11, 8, 13, 8, 14, 15, 8, 12]
        func old(_ cells: [String]) -> String {
            zip(cells, widths).enumerated().map { index, pair in
                index == 0
                    ? pair.0.padding(toLength: pair.1, withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: max(0, pair.1 - pair.0.count)) + pair.0
            }.joined(separator: " ")
        }
        let table = TextTable(
            widths.enumerated().map { .init("c\($0.offset)", $0.element, $0.offset == 0 ? .left : .right) })
        let cells = ["uniform-10M-batched", "10000000", "12.3", "11.9–13.0", "81.30", "95.1", "10.51", "7.7×", "24.0"]
        #expect(table.line(cells) == old(cells))
    }

    @Test func jsonLinesAreOneParseableObjectPerRow() throws {
        let rows: [[String: Any]] = [
            ["workload": "step", "ops": 1000, "ns_per_op": JSONLine.rounded(12.34567, 3), "quick": true],
            ["row": "identify (numpy)", "pairs_per_second": NSNull(), "runs": [1.5, 2.5]],
        ]
        let text = try rows.map(JSONLine.encode).joined(separator: "\n")
        let lines = text.split(separator: "\n")
        #expect(lines.count == rows.count)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(first["workload"] as? String == "step")
        #expect(first["ops"] as? Int == 1000)
        #expect(first["ns_per_op"] as? Double == 12.346)
        #expect(first["quick"] as? Bool == true)
        #expect(lines[0].hasPrefix("{\"ns_per_op\""))  // keys sorted
        let second = try #require(try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
        #expect(second["pairs_per_second"] is NSNull)
        #expect(second["runs"] as? [Double] == [1.5, 2.5])
    }

    @Test func encodableRowsKeepTheirKeys() throws {
        struct Row: Codable { var head: String, stepMs: Double?, pool: Int }
        let line = try JSONLine.encode(Row(head: "ffc", stepMs: 1.5, pool: 100))
        #expect(!line.contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["head"] as? String == "ffc")
        #expect(object["stepMs"] as? Double == 1.5)
        #expect(object["pool"] as? Int == 100)
    }

    @Test func pythonReferenceParsesItsOutput() {
        #expect(
            PythonReference.lastObject(in: "warming up\n{\"img_per_s\": 12.5}\n\n")?["img_per_s"] as? Double == 12.5)
        #expect(PythonReference.lastObject(in: "") == nil)
        #expect(PythonReference.lastObject(in: "not json") == nil)
        struct TorchRow: Decodable, Equatable { var head: String, step_ms: Double }
        let rows = PythonReference.rows(
            TorchRow.self, in: "{\"head\":\"fc\",\"step_ms\":2}\nTraceback\n{\"head\":\"pfc\",\"step_ms\":1.5}")
        #expect(rows == [TorchRow(head: "fc", step_ms: 2), TorchRow(head: "pfc", step_ms: 1.5)])
        #expect(PythonReference(script: "/nonexistent/x_bench.py").run([]) == nil)
    }

    /// The runner end to end, with `sh` standing in for python3.
    @Test func pythonReferenceRunsTheScript() throws {
        let path = NSTemporaryDirectory() + "ffc-ref-\(getpid()).sh"
        try "echo \"{\\\"args\\\": \\\"$*\\\"}\"\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let reference = PythonReference(python: "sh", script: path)
        #expect(reference.lastObject(["--runs", "3"])?["args"] as? String == "--runs 3")
        #expect(PythonReference.execute("sh", ["-c", "echo partial; exit 3"])?.status == 3)
        #expect(PythonReference.execute("/nonexistent/python3", []).map { $0.status != 0 } ?? true)
    }

    @Test func durationFormats() {
        #expect(DurationFormat.compact(0) == "0s")
        #expect(DurationFormat.compact(44.6) == "45s")
        #expect(DurationFormat.compact(725) == "12m05s")
        #expect(DurationFormat.compact(3 * 3600 + 125) == "3h02m")
        #expect(DurationFormat.compact(2 * 86400 + 4 * 3600 + 59) == "2d04h")
        #expect(DurationFormat.compact(-1) == "--")
        #expect(DurationFormat.compact(.infinity) == "--")
        #expect(DurationFormat.clock(45) == "0:00:45")
        #expect(DurationFormat.clock(3723) == "1:02:03")
        #expect(DurationFormat.clock(27 * 3600) == "27:00:00")
        #expect(DurationFormat.clock(.nan) == "-:--:--")
    }

    @Test func residentMemoryReadsStatusFields() {
        let status =
            "Name:\tffc\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nRssAnon:\t   81920 kB\nRssFile:\t   20480 kB\n"
        #expect(ResidentMemory.statusField("VmHWM", in: status) == 204_800 * 1024)
        #expect(ResidentMemory.statusField("RssAnon", in: status) == 81_920 * 1024)
        #expect(ResidentMemory.statusField("RssShmem", in: status) == 0)
        #expect(ResidentMemory.statusField("VmHWM", in: "VmHWM:\t12345678 kB\n") == 12_345_678 * 1024)
        #expect(ResidentMemory.bytes() > 0)
        // Other tests allocate while this one reads, so compare fields of one snapshot of
        // /proc/self/status, not two reads (statm's RSS could pass VmHWM between them).
        let live = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        #expect(ResidentMemory.statusField("VmHWM", in: live) >= ResidentMemory.statusField("VmRSS", in: live))
        #expect(ResidentMemory.peakBytes() > 0)
        let split = ResidentMemory.split()
        #expect(split.anon > 0 && split.file > 0)
    }
}
