import Foundation
import Testing

@testable import FFCEngine

@Suite struct NPYTests {
    private func temp(_ name: String) -> String { NSTemporaryDirectory() + "npy-\(UUID().uuidString)-\(name)" }

    /// A file with a hand-written header, as numpy would write for other dtypes or orders.
    private func handMade(_ dict: String, data: [UInt8]) -> [UInt8] {
        var d = dict
        while (10 + d.utf8.count + 1) % 64 != 0 { d += " " }
        d += "\n"
        let n = d.utf8.count
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(n & 0xFF), UInt8(n >> 8)] + Array(d.utf8) + data
    }

    @Test func roundTripFloatAndIntArrays() throws {
        let f = NPYArray(floats: [1, -2.5, 3, 4, 5, 6], shape: [2, 3])
        let i = NPYArray(ints: [7, -8, 9], shape: [3])
        let pf = temp("f.npy")
        let pi = temp("i.npy")
        defer {
            unlink(pf)
            unlink(pi)
        }
        try f.write(path: pf)
        try i.write(path: pi)
        #expect(try NPYArray.read(path: pf) == f)
        #expect(try NPYArray.read(path: pi).ints() == [7, -8, 9])
        #expect((f.encode().count - f.bytes.count) % 64 == 0, "data starts on a 64-byte boundary")
    }

    @Test func readsRowBlocksFromTheMiddle() throws {
        let values = (0..<20).map(Float.init)
        let p = temp("rows.npy")
        defer { unlink(p) }
        try NPYArray(floats: values, shape: [5, 4]).write(path: p)
        let file = try NPYFile(path: p)
        var buf = [Float](repeating: 0, count: 8)
        try buf.withUnsafeMutableBufferPointer { try file.readRows(2, count: 2, into: $0) }
        #expect(buf == [8, 9, 10, 11, 12, 13, 14, 15])
        #expect(file.rows == 5 && file.rowLength == 4)
    }

    @Test func readsAnEmbeddingFileNumpyWrote() throws {
        let url = Bundle.module.url(forResource: "Fixtures/eval/verify_embeddings", withExtension: "npy")!
        let file = try NPYFile(path: url.path)
        #expect(file.dtype == .float32 && file.shape.count == 2)
    }

    @Test func refusesFloat64FortranOrderAndTruncation() throws {
        let p = temp("bad.npy")
        defer { unlink(p) }
        try AtomicFile.write(
            handMade(
                "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", data: [UInt8](repeating: 0, count: 16)),
            to: p)
        #expect(throws: NPYError.unsupportedDType(path: p, descr: "<f8")) { _ = try NPYArray.read(path: p) }
        try AtomicFile.write(
            handMade(
                "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", data: [UInt8](repeating: 0, count: 16)),
            to: p)
        #expect(throws: NPYError.fortranOrder(path: p)) { _ = try NPYArray.read(path: p) }
        try AtomicFile.write(
            handMade(
                "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 2), }", data: [UInt8](repeating: 0, count: 16)),
            to: p)
        #expect(throws: NPYError.truncated(path: p, needBytes: 32, haveBytes: 16)) { _ = try NPYArray.read(path: p) }
        try AtomicFile.write(Array("not numpy at all".utf8), to: p)
        #expect(throws: NPYError.notNPY(path: p)) { _ = try NPYArray.read(path: p) }
    }
}
