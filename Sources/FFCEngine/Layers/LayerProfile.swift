// LayerProfile: wall-clock time per kind of layer (Conv2D, DepthwiseConv2D, BatchNorm,
// BatchNorm+PReLU when fused, Residual add, …) in forward and backward, summed over every
// step a net runs while the profile is attached — what `ffc bench engine --layers` prints.
// Sequential times each leaf step it runs and Residual its add; containers are not timed
// themselves, so the entries add up to the layers' time and nothing is counted twice.
import Foundation

public final class LayerProfile {
    public struct Entry: Sendable {
        public var forwardSeconds = 0.0
        public var backwardSeconds = 0.0
    }

    /// Seconds by layer kind since the last `reset`.
    public private(set) var entries: [String: Entry] = [:]

    public init() {}

    public func reset() { entries = [:] }

    /// Runs `body`, adding its wall-clock time to `kind`'s forward or backward total.
    @inline(__always) @discardableResult
    public func time<T>(_ kind: String, backward: Bool, _ body: () -> T) -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        let result = body()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if backward {
            entries[kind, default: Entry()].backwardSeconds += seconds
        } else {
            entries[kind, default: Entry()].forwardSeconds += seconds
        }
        return result
    }
}

extension Sequential {
    /// Attaches `profile` (nil: detaches) to this net's every Sequential and Residual.
    public func attach(_ profile: LayerProfile?) {
        self.profile = profile
        for (_, layer) in walk() {
            (layer as? Sequential)?.profile = profile
            if let block = layer as? Residual {
                // walk() lists a block's body layers directly, not the body Sequential.
                block.profile = profile
                block.body.profile = profile
                block.shortcut?.profile = profile
            }
        }
    }
}
