import Foundation
import Testing

@testable import FFCEngine

/// Fixture files written by tools/reference/verify_reference.py and friends.
enum EvalFixture {
    static func path(_ name: String) -> String {
        Bundle.module.url(forResource: "Fixtures/eval/" + name, withExtension: nil)!.path
    }

    static func json(_ name: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path(name)))) as! [String: Any]
    }
}

@Suite struct VerificationTests {
    private func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) < 5e-5 }

    private func check(_ r: VerificationResult, _ e: [String: Any]) {
        #expect(close(r.accuracyMean, e["accuracy_mean"] as! Double))
        #expect(close(r.accuracyStd, e["accuracy_std"] as! Double))
        #expect(close(r.threshold, e["threshold"] as! Double))
        #expect(zip(r.foldAccuracy, e["fold_accuracy"] as! [Double]).allSatisfy { close($0, $1) })
        #expect(zip(r.foldThreshold, e["fold_threshold"] as! [Double]).allSatisfy { close($0, $1) })
        let tpr = e["roc_tpr"] as! [Double]
        let fpr = e["roc_fpr"] as! [Double]
        #expect(r.roc.count == tpr.count)
        #expect(
            zip(r.roc, zip(tpr, fpr)).allSatisfy { close($0.trueAcceptRate, $1.0) && close($0.falseAcceptRate, $1.1) })
        let tars = e["tar_at_far"] as! [[String: Double]]
        #expect(r.tarAtFar.count == tars.count)
        for (got, want) in zip(r.tarAtFar, tars) {
            #expect(got.farTarget == want["far_target"]!)
            #expect(close(got.tarMean, want["tar_mean"]!), "TAR@FAR \(got.farTarget)")
            #expect(close(got.tarStd, want["tar_std"]!))
            #expect(close(got.farMean, want["far_mean"]!))
        }
    }

    @Test func matchesTheNumpyReferenceToFourDecimals() throws {
        let emb = try NPYArray.read(path: EvalFixture.path("verify_embeddings.npy"))
        let pairs = try PairList.read(path: EvalFixture.path("verify_pairs.txt")).indexPairs()
        let r = try Verification.evaluate(embeddings: try emb.floats(), dim: emb.shape[1], pairs: pairs)
        check(r, try EvalFixture.json("verify_expected.json")["plain"] as! [String: Any])
    }

    @Test func flipAugmentedMatchesTheReference() throws {
        let emb = try NPYArray.read(path: EvalFixture.path("verify_embeddings.npy"))
        let flip = try NPYArray.read(path: EvalFixture.path("verify_embeddings_flip.npy"))
        let pairs = try PairList.read(path: EvalFixture.path("verify_pairs.txt")).indexPairs()
        let summed = Verification.flipAugmented(try emb.floats(), mirrored: try flip.floats())
        let r = try Verification.evaluate(embeddings: summed, dim: emb.shape[1], pairs: pairs)
        check(r, try EvalFixture.json("verify_expected.json")["flip"] as! [String: Any])
    }

    @Test func kFoldSplitsLikeScikitLearn() {
        #expect(Verification.kFold(count: 23, folds: 10).map(\.count) == [3, 3, 3, 2, 2, 2, 2, 2, 2, 2])
        #expect(Verification.kFold(count: 23, folds: 10).last == 21..<23)
    }

    @Test func perfectlySeparatedPairsScoreOne() throws {
        let distances = (0..<100).map { $0 % 2 == 0 ? 0.5 : 2.5 }
        let r = try Verification.evaluate(distances: distances, same: (0..<100).map { $0 % 2 == 0 })
        #expect(r.accuracyMean == 1 && r.accuracyStd == 0)
        #expect(r.foldThreshold.allSatisfy { $0 > 0.5 && $0 <= 2.5 })
    }

    @Test func pairNamingAMissingRowIsAnError() {
        #expect(throws: VerificationError.rowOutOfRange(pairIndex: 0, row: 5, rows: 2)) {
            _ = try Verification.evaluate(embeddings: [1, 0, 0, 1], dim: 2, pairs: [(0, 5, true)])
        }
    }
}
