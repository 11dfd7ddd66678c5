// Head: the vectorised exp matches Foundation's expf across the softmax's input range.
import Foundation
import Testing

@testable import FFCEngine

@Suite struct VectorExpTests {
    @Test func matchesExpfToAFewUlpsAndSums() {
        let xs = (0..<1003).map { Float($0) * 0.1 - 90 }  // −90 … 10.2, odd count for the tail loop
        var buffer = xs
        let sum = buffer.withUnsafeMutableBufferPointer {
            VectorExp.expInPlaceSum($0.baseAddress!, count: $0.count)
        }
        var expected: Double = 0
        for (x, e) in zip(xs, buffer) {
            let want = exp(max(x, -87.3))
            expected += Double(want)
            #expect(abs(e - want) <= 4e-7 * want, "exp(\(x)) = \(e), expf says \(want)")
        }
        #expect(abs(sum - expected) <= 1e-6 * expected)
    }
}
