// Inputs that crashed a parser under libFuzzer (scripts/fuzz), kept in Fixtures/fuzz/<parser>/,
// plus hand-made ones of the same kinds (truncated records, declared sizes far beyond the bytes
// present, sizes whose sums or products overflow, self-referencing or deeply nested values).
// Each must be refused with a thrown error: a trap, an out-of-range slice or a huge allocation
// would fail the whole test process.
import Foundation
import Testing

@testable import FFCEngine

/// The kept fuzzer findings for one parser, by file name.
private func keptInputs(_ parser: String) -> [(name: String, bytes: [UInt8])] {
    let dir = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/fuzz/\(parser)").path
    let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
    return names.sorted().map { ($0, [UInt8](FileManager.default.contents(atPath: dir + "/" + $0)!)) }
}

/// Little-endian bytes of `value`'s low `count` bytes.
private func le(_ value: UInt64, _ count: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
}

/// A safetensors file with `header` as its JSON and `data` after it.
private func safetensors(_ header: String, data: [UInt8] = []) -> [UInt8] {
    le(UInt64(header.utf8.count), 8) + Array(header.utf8) + data
}

/// A version 1 .npy file with `dict` as its header and `data` after it.
private func npy(_ dict: String, data: [UInt8] = []) -> [UInt8] {
    [0x93] + Array("NUMPY".utf8) + [1, 0] + le(UInt64(dict.utf8.count), 2) + Array(dict.utf8) + data
}

@Suite struct FuzzRegressionTests {
    @Test func keptFindingsExist() {
        // The directories the other tests read: if the fixtures went missing they would pass vacuously.
        for parser in ["NPY", "SafeTensors", "InsightfaceBin"] {
            #expect(!keptInputs(parser).isEmpty, "no kept inputs for \(parser)")
        }
    }

    @Test func datumRefusesTruncatedAndOversizedFields() {
        let nasty: [[UInt8]] = [
            [0x08, 0x80],  // varint cut off
            [0x22, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],  // length 2^63-1 for the image
            [0x22, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],  // length 2^64-1
            [0x08] + [UInt8](repeating: 0x80, count: 10) + [0x01],  // varint longer than 10 bytes
            [0x09, 0x01, 0x02],  // fixed64 cut off
            [0x0B],  // wire type 3 (groups)
            [0x00, 0x00],  // field 0
            [0x08, 0x03],  // no image at all
        ] + keptInputs("Datum").map(\.bytes)
        for bytes in nasty {
            #expect(throws: DatumError.self, "\(bytes)") { try bytes.withUnsafeBytes { _ = try Datum.parse($0) } }
        }
    }

    @Test func kvFileRefusesBadLines() {
        let nasty = ["key 99999999999999999999\n", "key -1\n", "a b c\n", "key\n", "key 1 \u{0}\n", "k \u{FF}\n"]
            .map { Array($0.utf8) } + keptInputs("KVFile").map(\.bytes)
        for bytes in nasty {
            #expect(throws: FaceDatabaseError.self, "\(bytes)") { _ = try KVFile(bytes: bytes, path: "fuzz") }
        }
    }

    @Test func safeTensorsRefusesSizesBeyondTheFile() {
        let f32 = [UInt8](repeating: 0, count: 8)
        let nasty: [[UInt8]] = [
            le(UInt64(Int64.max), 8) + [1, 0],  // header length 2^63-1: 8 + n overflowed
            le(UInt64.max, 8) + [1, 0],  // header length 2^64-1 (negative as Int)
            le(1 << 40, 8) + Array("{}".utf8),  // header far longer than the file
            safetensors(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}"#, data: f32),
            safetensors(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, data: f32),
            safetensors(
                #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,9223372036854775807]}}"#, data: f32),
            safetensors(
                #"{"w":{"dtype":"F32","shape":[9223372036854775807,4],"data_offsets":[0,8]}}"#, data: f32),
            safetensors(#"{"w":{"dtype":"F32","shape":[-2,-1],"data_offsets":[0,8]}}"#, data: f32),
            safetensors(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [0, 0, 0]),
            safetensors(#"{"__metadata__":{"crc32":"0000000"}}"#),
        ] + keptInputs("SafeTensors").map(\.bytes)
        for bytes in nasty {
            #expect(throws: (any Error).self, "\(bytes.prefix(80))") { _ = try SafeTensorsFile.decode(bytes) }
        }
    }

    @Test func npyRefusesSizesBeyondTheFileInMemoryAndOnDisk() throws {
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': "
        let nasty: [[UInt8]] = [
            npy(header + "(9223372036854775807, 9), }"),  // bytes of the shape overflow Int
            npy(header + "(4611686018427387904,), }"),  // × 4 bytes overflows
            npy(header + "(3,), }", data: [0, 0, 0, 0]),  // truncated data
            npy(header + "(-1,), }"),
            [0x93] + Array("NUMPY".utf8) + [2, 0] + le(0xFFFF_FFFF, 4) + Array("{}".utf8),  // 4 GB header
            [0x93] + Array("NUMPY".utf8) + [1, 0] + le(0xFFFF, 2),  // 64 KB header, none there
            [0x93] + Array("NUMPY".utf8) + [3],  // cut inside the prefix
        ] + keptInputs("NPY").map(\.bytes)
        let path = NSTemporaryDirectory() + "fuzz-\(UUID().uuidString).npy"
        defer { unlink(path) }
        for bytes in nasty {
            #expect(throws: NPYError.self, "\(bytes.prefix(80))") { _ = try NPYArray.decode(bytes) }
            // NPYFile reads the same header with pread: a declared 4 GB header must not be allocated.
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            #expect(throws: NPYError.self, "\(bytes.prefix(80))") { _ = try NPYFile(path: path) }
        }
    }

    @Test func insightfaceBinRefusesHugeLengthsCyclesAndDeepNesting() {
        let proto: [UInt8] = [0x80, 0x04]
        let nasty: [[UInt8]] = [
            proto + [0x8E] + le(UInt64(Int64.max), 8),  // BINBYTES8 of 2^63-1 bytes: at + n overflowed
            proto + [0x8E] + le(UInt64.max, 8),  // negative length
            proto + [0x8D] + le(UInt64(Int64.max - 3), 8),  // BINUNICODE8
            proto + [0x42] + le(0xFFFF_FFFF, 4),  // BINBYTES of 4 GB
            // A list appended to itself: a cycle that was never freed (LeakSanitizer).
            proto + [0x5D, 0x94, 0x68, 0x00, 0x61, 0x5D, 0x86, 0x2E],
            // A million nested tuples: freeing them recursed once per level.
            proto + [0x4E] + [UInt8](repeating: 0x85, count: 1_000_000) + [0x2E],
            // Lists in lists, a thousand deep, grown through the memo after they were stored.
            proto + [0x5D, 0x94] + (0..<1000).flatMap { i -> [UInt8] in
                [0x6A] + le(UInt64(i), 4) + [0x5D, 0x94, 0x61]
            } + [0x2E],
        ] + keptInputs("InsightfaceBin").map(\.bytes)
        for bytes in nasty {
            #expect(throws: InsightfaceBinError.self, "\(bytes.prefix(40))") { _ = try InsightfaceBin.decode(bytes) }
        }
    }

    @Test func pairListRefusesBadLines() {
        let nasty: [(String, PairList.Format?)] = [
            ("", nil), ("# only a comment\n", nil), ("1 2\n", nil),
            ("a 99999999999999999999 1\n", .lfw), ("0 1 maybe\n", .index), ("x y\n", .keys),
            ("\u{0} \u{0} \u{0} \u{0} \u{0}\n", nil),
        ] + keptInputs("PairList").map { (String(decoding: $0.bytes.dropFirst(), as: UTF8.self), nil) }
        for (text, format) in nasty {
            #expect(throws: PairListError.self, "\(text)") { _ = try PairList.parse(text: text, path: "fuzz", format: format) }
        }
    }

    @Test func configsRefuseOutOfRangeValues() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let runConfigs = [
            #"{"batch_size": 1e400}"#, #"{"seed": -1}"#, #"{"queue_size": 9223372036854775808}"#,
            #"{"loss_type": "XX"}"#, "{\"databases\": \(deep)}", deep, "",
            // Passed validation, then overflowed in the run summary's batch arithmetic.
            #"{"batch_size": 9223372036854775807}"#, #"{"batch_size": -5}"#,
        ] + keptInputs("TrainingConfig").map { String(decoding: $0.bytes, as: UTF8.self) }
        for json in runConfigs {
            #expect(throws: (any Error).self, "\(json.prefix(80))") {
                try TrainingConfig.decode(json: json).validate()
            }
        }
        let optimConfigs = [
            #"{"epochs": ["int", "99999999999999999999"]}"#, #"{"LR": ["float"]}"#, #"{"LR": ["float", []]}"#,
            #"{"milestones": ["int", [1e400]]}"#, #"{"nesterov": ["bool", [true]]}"#, #"{"x": ["int", 1]}"#,
            "{\"LR\": [\"float\", \(deep)]}", deep,
        ] + keptInputs("OptimConfig").map { String(decoding: $0.bytes, as: UTF8.self) }
        for json in optimConfigs {
            var config = TrainingConfig()
            #expect(throws: (any Error).self, "\(json.prefix(80))") {
                try config.applyOptimConfig(json: json, path: "fuzz")
                try config.validate()
            }
        }
    }

    @Test func controlLinesRefuseMalformedRequests() {
        let deep = String(repeating: "{\"a\":", count: 100_000) + "1" + String(repeating: "}", count: 100_000)
        let nasty = [
            #"{"id": 1e400, "request": {"snapshot": {}}}"#, #"{"id": 1, "request": {"subscribe": {"hz": "fast"}}}"#,
            #"{"id": 1, "request": {"inspect": {"sort": "recency", "offset": 0}}}"#, #"{"id": 1, "request": {}}"#,
            deep, "\u{FF}",
        ].map { Array($0.utf8) } + keptInputs("ControlMessage").map(\.bytes)
        for line in nasty {
            #expect(throws: (any Error).self, "\(line.prefix(80))") {
                _ = try ControlCoding.decode(ClientMessage.self, line: line)
            }
        }
    }
}
