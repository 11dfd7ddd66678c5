// Distributed: the probe gradient's all-reduce in buckets that start while the backward still
// runs, as the original FFC's DDP does. The flat gradient buffer keeps parameter order; a
// bucket is a contiguous range of it made of whole parameters, planned from the last
// parameter back, because the backward finishes the last layers first. Sequential tells
// which layer's backward returned (`Sequential.backwardDone`); once every parameter of the
// next bucket in plan order is final, the bucket is copied into the flat buffer and its
// all-reduce started on the communicator's thread, which also writes the ranks' mean back.
// SGD waits for all of them (`GradientExchange.finish`).
//
// Buckets start strictly in plan order, so every rank issues the same all-reduces in the
// same order. Each element is summed in rank order 0…R−1 and then scaled by 1/R whichever
// bucket holds it, so the result is the same bits as one all-reduce of the whole buffer
// (`FFC_GRADIENT_ALLREDUCE=whole`, kept for comparison).
import Foundation

/// Which parameters and floats each gradient bucket holds.
public struct GradientBucketPlan: Equatable, Sendable {
    /// One bucket: a contiguous range of the flat buffer and the parameters it is made of.
    public struct Bucket: Equatable, Sendable {
        public let floats: Range<Int>
        public let parameters: Range<Int>
    }

    /// Each parameter's floats in the flat buffer (parameter order).
    public let parameterFloats: [Range<Int>]
    /// In launch order: bucket 0 holds the last parameters.
    public let buckets: [Bucket]
    /// The bucket each parameter is in.
    public let bucketOfParameter: [Int]

    /// Buckets close once they hold `floatsPerBucket` floats (a parameter is never split, so
    /// a bucket holds at most `floatsPerBucket` plus one parameter less one float); the
    /// last one (the first parameters) may hold fewer.
    public init(parameterCounts: [Int], floatsPerBucket: Int) {
        precondition(floatsPerBucket > 0, "a bucket must hold at least one float")
        var offset = 0
        parameterFloats = parameterCounts.map { count in
            defer { offset += count }
            return offset..<(offset + count)
        }
        var buckets: [Bucket] = []
        var bucketOfParameter = [Int](repeating: 0, count: parameterCounts.count)
        var end = parameterCounts.count
        var index = parameterCounts.count
        var floats = 0
        while index > 0 {
            index -= 1
            floats += parameterCounts[index]
            bucketOfParameter[index] = buckets.count
            if floats >= floatsPerBucket || index == 0 {
                let range = index..<end
                buckets.append(
                    Bucket(
                        floats: parameterFloats[index].lowerBound..<parameterFloats[end - 1].upperBound,
                        parameters: range))
                (end, floats) = (index, 0)
            }
        }
        self.buckets = buckets
        self.bucketOfParameter = bucketOfParameter
    }

    public var floatCount: Int { parameterFloats.last?.upperBound ?? 0 }
}

/// Which gradients of one backward are final, and which buckets may start.
public struct GradientBucketReadiness: Sendable {
    public let plan: GradientBucketPlan
    private var final: [Bool]
    /// Parameters not final yet, per bucket.
    private var waiting: [Int]
    /// Buckets handed out so far (they start in plan order).
    public private(set) var started = 0

    public init(plan: GradientBucketPlan) {
        self.plan = plan
        final = [Bool](repeating: false, count: plan.parameterFloats.count)
        waiting = plan.buckets.map(\.parameters.count)
    }

    /// Marks parameter `index`'s gradient final (again is a no-op) and returns the buckets
    /// that may start now: the next ones in plan order whose parameters are all final.
    public mutating func markFinal(_ index: Int) -> Range<Int> {
        if !final[index] {
            final[index] = true
            waiting[plan.bucketOfParameter[index]] -= 1
        }
        let first = started
        while started < waiting.count, waiting[started] == 0 { started += 1 }
        return first..<started
    }

    /// Every bucket that has not started, for the end of the backward (a parameter no layer
    /// reported, say one whose layer sits outside a Sequential).
    public mutating func markAllFinal() -> Range<Int> {
        let first = started
        for i in final.indices { _ = markFinal(i) }
        return first..<started
    }

    public var allStarted: Bool { started == waiting.count }
}

/// Averages the probe gradients over the ranks: whole-buffer after the backward, or in buckets
/// overlapped with its last pass.
final class GradientExchange {
    enum Mode: Equatable {
        case whole
        case buckets(floatsPerBucket: Int)
    }

    /// 1 MiB of floats, the order of DDP's default bucket (25 MB) scaled to these nets' sizes
    /// (mobilefacenet's gradient is 4.4 MB: four buckets).
    static let defaultFloatsPerBucket = 1 << 18

    /// `FFC_GRADIENT_ALLREDUCE` (`buckets`, the default, or `whole`) and
    /// `FFC_GRADIENT_BUCKET_FLOATS` (floats per bucket).
    static func mode(environment: [String: String]) throws -> Mode {
        let floatsText = environment["FFC_GRADIENT_BUCKET_FLOATS"]
        let floats = floatsText.map { Int($0) ?? 0 } ?? defaultFloatsPerBucket
        switch environment["FFC_GRADIENT_ALLREDUCE"] ?? "buckets" {
        case "whole": return .whole
        case "buckets":
            guard floats > 0 else {
                throw TrainerError.unsupported(
                    key: "FFC_GRADIENT_BUCKET_FLOATS", value: floatsText ?? "", reason: "must be a number of floats > 0"
                )
            }
            return .buckets(floatsPerBucket: floats)
        case let other:
            throw TrainerError.unsupported(
                key: "FFC_GRADIENT_ALLREDUCE", value: other, reason: "is 'buckets' (the default) or 'whole'")
        }
    }

    let mode: Mode
    let plan: GradientBucketPlan
    private let communicator: any Communicator
    private let grads: [Tensor]
    /// (F): every gradient in parameter order, the all-reduce's buffer.
    private let flat: UnsafeMutableBufferPointer<Float>
    private var readiness: GradientBucketReadiness
    private var pending: [PendingAllReduce] = []
    /// Between `armForFinalBackward` and `finish`.
    private var armed = false
    /// The parameters (indices) each layer of the net owns, by layer identity.
    private var parametersOfLayer: [ObjectIdentifier: [Int]] = [:]

    init(probe: Backbone, communicator: any Communicator, mode: Mode) {
        self.mode = mode
        self.communicator = communicator
        grads = probe.parameters.map(\.grad)
        let counts = grads.map(\.count)
        switch mode {
        case .whole: plan = GradientBucketPlan(parameterCounts: counts, floatsPerBucket: max(1, counts.reduce(0, +)))
        case .buckets(let floats): plan = GradientBucketPlan(parameterCounts: counts, floatsPerBucket: floats)
        }
        flat = .allocate(capacity: plan.floatCount)
        flat.initialize(repeating: 0)
        readiness = GradientBucketReadiness(plan: plan)
        guard case .buckets = mode else { return }
        let index = Dictionary(
            uniqueKeysWithValues: probe.parameters.enumerated().map {
                (ObjectIdentifier($0.element.parameter), $0.offset)
            })
        var containers: [Sequential] = []
        for (_, layer) in probe.network.walk() {
            parametersOfLayer[ObjectIdentifier(layer)] = layer.parameters.compactMap {
                index[ObjectIdentifier($0.parameter)]
            }
            if let sequential = layer as? Sequential { containers.append(sequential) }
            if let block = layer as? Residual { containers.append(block.body) }
        }
        for container in containers {
            container.backwardDone = { [unowned self] layer in self.backwardDone(layer) }
        }
    }

    deinit { flat.deallocate() }

    var bucketCount: Int { plan.buckets.count }

    /// Whether the armed backward reported every parameter before `finish` (tests).
    var startedEveryBucketDuringBackward: Bool { armed && readiness.allStarted }

    /// The next backward is the step's last: its layers' gradients are final as it passes them.
    func armForFinalBackward() {
        guard case .buckets = mode else { return }
        readiness = GradientBucketReadiness(plan: plan)
        armed = true
    }

    private func backwardDone(_ layer: any Layer) {
        guard armed, let parameters = parametersOfLayer[ObjectIdentifier(layer)] else { return }
        for p in parameters { start(readiness.markFinal(p)) }
    }

    /// Copies the buckets' gradients into the flat buffer and starts their all-reduces; each
    /// writes the mean back into the gradients on the communicator's thread.
    private func start(_ buckets: Range<Int>) {
        let scale = 1 / Float(communicator.size)
        for b in buckets {
            let bucket = plan.buckets[b]
            let targets = Gradients(pointers: bucket.parameters.map { grads[$0].pointer })
            let ranges = bucket.parameters.map { plan.parameterFloats[$0] }
            for (pointer, range) in zip(targets.pointers, ranges) {
                (flat.baseAddress! + range.lowerBound).update(from: pointer, count: range.count)
            }
            let slice = UnsafeMutableBufferPointer(rebasing: flat[bucket.floats])
            let summed = Gradients(pointers: [slice.baseAddress!])
            pending.append(
                communicator.startAllReduceSum(slice) {
                    for (pointer, range) in zip(targets.pointers, ranges) {
                        let source = summed.pointers[0] + (range.lowerBound - bucket.floats.lowerBound)
                        for i in 0..<range.count { pointer[i] = source[i] * scale }
                    }
                })
        }
    }

    /// Every gradient is the ranks' mean when this returns.
    func finish() {
        switch mode {
        case .whole:
            for (g, range) in zip(grads, plan.parameterFloats) {
                (flat.baseAddress! + range.lowerBound).update(from: g.pointer, count: g.count)
            }
            communicator.allReduceSum(flat)
            let scale = 1 / Float(communicator.size)
            for i in flat.indices { flat[i] *= scale }
            for (g, range) in zip(grads, plan.parameterFloats) {
                g.pointer.update(from: flat.baseAddress! + range.lowerBound, count: g.count)
            }
        case .buckets:
            if !armed { readiness = GradientBucketReadiness(plan: plan) }
            armed = false
            start(readiness.markAllFinal())
            for p in pending { communicator.wait(p) }
            pending.removeAll(keepingCapacity: true)
        }
    }

    /// Gradient pointers handed to the communicator's thread; the trainer leaves those
    /// gradients alone until `finish` returns.
    private struct Gradients: @unchecked Sendable {
        let pointers: [UnsafeMutablePointer<Float>]
    }
}
