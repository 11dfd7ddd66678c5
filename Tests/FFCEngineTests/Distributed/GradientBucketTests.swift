// The gradient bucket plan and its ready-marking, without MPI: buckets tile the flat buffer
// without overlap, run from the last parameter back, hold whole parameters, and start in plan
// order once all of their parameters are final; the exchange on one process leaves the
// gradients as they are, and a net's backward reports every parameter.
import XCTest

@testable import FFCEngine

final class GradientBucketTests: XCTestCase {
    private let counts = [5, 3, 40, 2, 2, 7, 1, 30, 4]

    func testBucketsTileTheFlatBufferFromTheLastParameterBack() {
        for floats in [1, 6, 10, 33, 1000] {
            let plan = GradientBucketPlan(parameterCounts: counts, floatsPerBucket: floats)
            XCTAssertEqual(plan.floatCount, counts.reduce(0, +))
            // Launch order walks the buffer backwards, each bucket ending where the previous began.
            var end = plan.floatCount
            var lastParameter = counts.count
            for bucket in plan.buckets {
                XCTAssertEqual(bucket.floats.upperBound, end, "floats \(floats)")
                XCTAssertEqual(bucket.parameters.upperBound, lastParameter)
                XCTAssertEqual(bucket.floats.lowerBound, plan.parameterFloats[bucket.parameters.lowerBound].lowerBound)
                XCTAssertFalse(bucket.parameters.isEmpty)
                end = bucket.floats.lowerBound
                lastParameter = bucket.parameters.lowerBound
            }
            XCTAssertEqual(end, 0)
            XCTAssertEqual(lastParameter, 0)
            for (b, bucket) in plan.buckets.enumerated() {
                for p in bucket.parameters { XCTAssertEqual(plan.bucketOfParameter[p], b) }
                // Closed once full: only the last bucket may hold fewer floats than asked.
                if b < plan.buckets.count - 1 { XCTAssertGreaterThanOrEqual(bucket.floats.count, floats) }
                // …and no parameter more than it needed to get there.
                XCTAssertLessThan(bucket.floats.count - counts[bucket.parameters.lowerBound], floats)
            }
        }
        XCTAssertEqual(GradientBucketPlan(parameterCounts: counts, floatsPerBucket: 1).buckets.count, counts.count)
        XCTAssertEqual(GradientBucketPlan(parameterCounts: counts, floatsPerBucket: 1000).buckets.count, 1)
        // 4 + 30 ≥ 33 closes the first bucket; then 1 + 7 + 2 + 2 + 40; then 3 + 5.
        XCTAssertEqual(
            GradientBucketPlan(parameterCounts: counts, floatsPerBucket: 33).buckets.map(\.parameters),
            [7..<9, 2..<7, 0..<2])
    }

    func testBucketsStartInPlanOrderOnceTheirParametersAreFinal() {
        let plan = GradientBucketPlan(parameterCounts: counts, floatsPerBucket: 33)  // [7..<9, 2..<7, 0..<2]
        var ready = GradientBucketReadiness(plan: plan)
        XCTAssertEqual(ready.markFinal(8), 0..<0)
        XCTAssertEqual(ready.markFinal(8), 0..<0, "marking twice counts once")
        // Bucket 1 completes before bucket 0: it waits for it.
        for p in [6, 5, 4, 3, 2] { XCTAssertEqual(ready.markFinal(p), 0..<0) }
        XCTAssertEqual(ready.markFinal(7), 0..<2)
        XCTAssertEqual(ready.markFinal(1), 2..<2)
        XCTAssertFalse(ready.allStarted)
        XCTAssertEqual(ready.markAllFinal(), 2..<3)
        XCTAssertTrue(ready.allStarted)
        XCTAssertEqual(ready.markAllFinal(), 3..<3)
    }

    func testBackwardReportsEveryParameterBeforeItReturns() throws {
        for name in ["tiny", "mobilefacenet"] {
            let side = name == "tiny" ? 16 : 112
            let net = try Backbone.make(name: name, embeddingSize: 16, inputSize: side, seed: 1)
            let exchange = GradientExchange(
                probe: net, communicator: SingleProcessCommunicator(), mode: .buckets(floatsPerBucket: 4096))
            XCTAssertGreaterThan(exchange.bucketCount, 2)
            let x = Tensor(shape: [2, side, side, 3], values: (0..<(2 * side * side * 3)).map { Float($0 % 7) / 7 })
            let y = net.forward(input: x, training: true)
            net.zeroGrad()
            let before = net.parameters.map(\.grad.values)
            exchange.armForFinalBackward()
            net.backward(Tensor(shape: y.shape, values: [Float](repeating: 0.1, count: y.count)))
            XCTAssertTrue(exchange.startedEveryBucketDuringBackward, "\(name): a parameter was not reported")
            let after = net.parameters.map(\.grad.values)
            exchange.finish()
            XCTAssertEqual(net.parameters.map(\.grad.values), after, "one process: the mean is the gradient")
            XCTAssertNotEqual(before, after)
        }
    }

    func testEnvironmentPicksTheAllReduce() throws {
        XCTAssertEqual(try GradientExchange.mode(environment: [:]), .buckets(floatsPerBucket: 1 << 18))
        XCTAssertEqual(try GradientExchange.mode(environment: ["FFC_GRADIENT_ALLREDUCE": "whole"]), .whole)
        XCTAssertEqual(
            try GradientExchange.mode(environment: ["FFC_GRADIENT_BUCKET_FLOATS": "1000"]),
            .buckets(floatsPerBucket: 1000))
        XCTAssertThrowsError(try GradientExchange.mode(environment: ["FFC_GRADIENT_ALLREDUCE": "ring"]))
        XCTAssertThrowsError(try GradientExchange.mode(environment: ["FFC_GRADIENT_BUCKET_FLOATS": "0"]))
    }
}
