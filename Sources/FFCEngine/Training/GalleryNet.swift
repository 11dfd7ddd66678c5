// Training: FFC's gallery net G — an exponential moving average of the probe net P that no
// gradient ever reaches. Its features of each half of a step are what the Dynamic Class Pool
// stores; only FFC runs have one (fc/pfc heads keep weights instead of a pool).
import Foundation

public final class GalleryNet {
    /// The follower's weights and batch-norm statistics.
    public let net: Backbone
    /// EMA decay: G ← α·G + (1−α)·P.
    public let alpha: Float

    /// Starts as an independent copy of `probe`.
    init(following probe: Backbone, alpha: Float) {
        net = probe.copy()
        self.alpha = alpha
    }

    /// One EMA step toward `probe` (weights and batch-norm statistics), at the start of a step.
    func follow(_ probe: Backbone) { net.ema(from: probe, alpha: alpha) }

    /// G(batch) as unit rows. In training mode, as in the original, which never switches its
    /// gallery net to eval: batch norm uses the batch's own statistics.
    func features(of batch: Tensor) -> [Float] {
        let embedding = net.forward(input: batch, training: true, keepingActivations: false)
        var rows = embedding.values
        L2Normalize.normalizeRows(&rows, dim: embedding.shape[1])
        return rows
    }
}
