import Foundation
import Testing

@testable import FFCEngine

@Suite struct InsightfaceBinTests {
    @Test(arguments: ["tiny_p4.bin", "tiny_p2.bin", "tiny_py2.bin"])
    func readsImagesAndFlagsOfEveryPickleFlavour(_ name: String) throws {
        let expected = try EvalFixture.json("tiny_expected.json")
        let set = try InsightfaceBin.read(path: EvalFixture.path(name))
        #expect(set.issame == expected["issame"] as! [Bool])
        #expect(set.images.map(\.count) == expected["lengths"] as! [Int])
        #expect(set.images.allSatisfy { $0.prefix(2) == [0xFF, 0xD8] }, "every image is a JPEG")
        #expect(set.pairs[1] == VerificationPair(2, 3, same: false))
    }

    @Test func numpyFlagsAreRefusedByName() throws {
        let path = EvalFixture.path("numpy_flags.bin")
        do {
            _ = try InsightfaceBin.read(path: path)
            Issue.record("numpy flags were accepted")
        } catch let e as InsightfaceBinError {
            #expect(e.description.hasPrefix("not an insightface .bin: \(path)"))
            #expect(e.description.contains("numpy"))
        }
    }

    @Test func otherFilesAreNotBins() throws {
        #expect(throws: InsightfaceBinError.self) { _ = try InsightfaceBin.decode(Array("hello".utf8)) }
        let list = NPYArray(floats: [1], shape: [1]).encode()
        #expect(throws: InsightfaceBinError.self) { _ = try InsightfaceBin.decode(list) }
        let truncated = try [UInt8](Data(contentsOf: URL(fileURLWithPath: EvalFixture.path("tiny_p4.bin")))).dropLast(
            40)
        #expect(throws: InsightfaceBinError.self) { _ = try InsightfaceBin.decode(Array(truncated)) }
    }
}
