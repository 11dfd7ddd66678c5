import Foundation
import Testing

@testable import FFCEngine

@Suite struct PairListTests {
    private func write(_ text: String) throws -> String {
        let p = NSTemporaryDirectory() + "pairs-\(UUID().uuidString).txt"
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    @Test func lfwPairsResolveToImagesAndReportTheMissingOne() throws {
        let root = NSTemporaryDirectory() + "lfw-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        for (name, n) in [("Ann_Lee", 1), ("Ann_Lee", 2), ("Bob", 1)] {
            try FileManager.default.createDirectory(atPath: root + "/" + name, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: root + "/\(name)/\(name)_000\(n).jpg", contents: Data([1]))
        }
        let p = try write("1\t2\nAnn_Lee\t1\t2\nAnn_Lee\t2\tBob\t1\n")
        defer { unlink(p) }
        let list = try PairList.read(path: p)
        #expect(list.format == .lfw)
        let (images, pairs) = try list.imagePairs(root: root)
        #expect(images.count == 3)
        #expect(pairs == [VerificationPair(0, 1, same: true), VerificationPair(1, 2, same: false)])

        let bad = try write("Ann_Lee 1 3\n")
        defer { unlink(bad) }
        #expect(throws: PairListError.missingImage(path: bad, line: 1, image: root + "/Ann_Lee/Ann_Lee_0003.jpg")) {
            _ = try PairList.read(path: bad).imagePairs(root: root)
        }
    }

    @Test func keyPairsMapToRowsOfTheKeyList() throws {
        let p = try write("img/a img/b 1\nimg/a img/c 0\n")
        defer { unlink(p) }
        let list = try PairList.read(path: p)
        #expect(list.format == .keys)
        #expect(
            try list.keyPairs(keys: ["img/c", "img/a", "img/b"]) == [
                VerificationPair(1, 2, same: true), VerificationPair(1, 0, same: false),
            ])
        #expect(throws: PairListError.unknownKey(path: p, line: 2, key: "img/c")) {
            _ = try list.keyPairs(keys: ["img/a", "img/b"])
        }
    }

    @Test func indexPairsAndBadLines() throws {
        let p = try write("# i j same\n0 1 1\n2 3 false\n")
        defer { unlink(p) }
        #expect(
            try PairList.read(path: p).indexPairs() == [
                VerificationPair(0, 1, same: true), VerificationPair(2, 3, same: false),
            ])
        // Windows line endings: the same pairs, and a bad line still named by its number.
        let crlf = try write("# i j same\r\n0 1 1\r\n2 3 false\r\n")
        defer { unlink(crlf) }
        #expect(try PairList.read(path: crlf).indexPairs() == PairList.read(path: p).indexPairs())
        let bad = try write("0 1 1\n2 3 maybe\n")
        defer { unlink(bad) }
        #expect(throws: PairListError.badLine(path: bad, line: 2, text: "2 3 maybe", expected: "'i j same'")) {
            _ = try PairList.read(path: bad)
        }
    }
}

@Suite struct SynthPairsTests {
    @Test func zeroPaddedSynthKeysResolveThroughTheKvOrder() throws {
        let p = NSTemporaryDirectory() + "synth-\(UUID().uuidString)_pairs.txt"
        try "00000003 00000001 1\n00000000 00000002 0\n".write(toFile: p, atomically: true, encoding: .utf8)
        defer { unlink(p) }
        var list = try PairList.read(path: p)
        #expect(list.format == .index, "numeric keys look like row numbers until a key list says otherwise")
        list.format = .keys
        let kvOrder = ["00000002", "00000003", "00000000", "00000001"]
        #expect(
            try list.keyPairs(keys: kvOrder) == [
                VerificationPair(1, 3, same: true), VerificationPair(2, 0, same: false),
            ])
    }
}
