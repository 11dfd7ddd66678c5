// Tensor: the float32 tensor every layer reads and writes, plus the seeded generator that
// initialises weights and draws dropout masks.
//
// Legend: N batch, H height, W width, C channels, D embedding size, K = KH·KW·Cin patch size.
// Activations are channels-last (N, H, W, C). Why: a 1×1 convolution is then one GEMM over
// all N·H·W pixels with no reshuffling, an im2col patch row is KH·KW runs of Cin contiguous
// floats (memcpy, not gathers), and depthwise convolution, batch norm and PReLU vectorise
// across the contiguous channel axis. Fully connected activations are (N, C).
//
// Memory: layer outputs and input gradients are pooled tensors (`Tensor(pooled:)`): their
// block returns to the `ActivationPool` when the last reference goes, so an activation
// costs memory only while someone keeps it, and steady-state training allocates nothing.
// Other long-lived buffers grow in place when a larger shape arrives (`Tensor.reuse`).
import Foundation

/// A dense, row-major float32 tensor that owns (or views) one allocation.
///
/// Reference semantics on purpose: layers hand their output buffers to the next layer and
/// keep a reference to their input for the backward pass, with no copies.
public final class Tensor: @unchecked Sendable {
    public private(set) var shape: [Int]
    public private(set) var count: Int
    /// Floats allocated; `count ≤ capacity`. Grows, never shrinks.
    public private(set) var capacity: Int
    public private(set) var pointer: UnsafeMutablePointer<Float>
    /// Set for a view: the tensor whose memory this one borrows (kept alive by this reference).
    private let base: Tensor?
    /// Set when the memory is a block of this pool, given back on deinit.
    private let pool: ActivationPool?

    /// A zero-filled tensor.
    public init(shape: [Int]) {
        let n = shape.reduce(1, *)
        self.shape = shape
        count = n
        capacity = max(n, 1)
        pointer = .allocate(capacity: capacity)
        pointer.initialize(repeating: 0, count: capacity)
        base = nil
        pool = nil
    }

    /// A tensor whose memory is a block of `pool`, returned to it when this tensor goes.
    /// Contents are undefined: for outputs the caller overwrites in full.
    public init(pooled shape: [Int], pool: ActivationPool = ActivationPool.current) {
        let n = shape.reduce(1, *)
        self.shape = shape
        count = n
        (pointer, capacity) = pool.acquire(n)
        base = nil
        self.pool = pool
    }

    public convenience init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
        self.init(shape: shape)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    /// A view of `base`'s memory under another shape with the same element count.
    public init(viewing base: Tensor, shape: [Int]) {
        precondition(shape.reduce(1, *) == base.count, "view \(shape) does not match \(base.shape)")
        self.shape = shape
        count = base.count
        capacity = base.count
        pointer = base.pointer
        self.base = base
        pool = nil
    }

    deinit {
        if let pool {
            pool.release(pointer, capacity: capacity)
        } else if base == nil {
            pointer.deallocate()
        }
    }

    /// The buffer in `slot`, reshaped to `shape`; allocated only when the slot is empty or
    /// too small, so steady-state training allocates nothing.
    /// - Complexity: O(1) when the capacity suffices, else O(count).
    public static func reuse(_ slot: inout Tensor?, shape: [Int]) -> Tensor {
        let n = shape.reduce(1, *)
        if let t = slot, t.base == nil, t.pool == nil, t.capacity >= n {
            t.shape = shape
            t.count = n
            return t
        }
        let t = Tensor(shape: shape)
        slot = t
        return t
    }

    public var values: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    public subscript(i: Int) -> Float {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }

    public func fill(_ value: Float) { pointer.update(repeating: value, count: count) }
    public func zero() { fill(0) }

    public func copy(from other: Tensor) {
        precondition(other.count == count, "copy of \(other.shape) into \(shape)")
        pointer.update(from: other.pointer, count: count)
    }

    /// An independent tensor with the same shape and values.
    public func clone() -> Tensor {
        let t = Tensor(shape: shape)
        t.copy(from: self)
        return t
    }

    /// Σ x², summed in float over blocks of 1024 (eight independent lanes, so it
    /// vectorises) and in double across blocks.
    public var sumOfSquares: Double {
        var total = 0.0
        var start = 0
        while start < count {
            let end = min(count, start + 1024)
            var lanes = SIMD8<Float>()
            var i = start
            while i + 8 <= end {
                let v = UnsafeRawPointer(pointer + i).loadUnaligned(as: SIMD8<Float>.self)
                lanes += v * v
                i += 8
            }
            var block = lanes.sum()
            while i < end {
                block += pointer[i] * pointer[i]
                i += 1
            }
            total += Double(block)
            start = end
        }
        return total
    }
}
