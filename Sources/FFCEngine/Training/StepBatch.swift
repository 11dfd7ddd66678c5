// Training: the batch merge of one FFC step. The identity loader gives B pairs (two images of
// each of B identities), the instance loader B single images; the step's two halves are
//     x = [pair firsts ‖ instances 0..<B/2],   y = [pair seconds ‖ instances B/2..<B],
// B' = 1.5·B rows each, the first B of them (`pairRows`) from the pairs. Each half's gallery
// features go into the pool for the other half's probes, so every pair's identity is in the
// pool when its other image is the probe.
import Foundation

struct StepBatch {
    /// (B', S, S, 3) each.
    let x: Tensor
    let y: Tensor
    let labelsX: [Int]
    let labelsY: [Int]
    /// B: rows from identity pairs at the top of each half (the hit rate's "pair" part).
    let pairRows: Int

    init(pairs: IdentityPairBatch, instances: ImageBatch, side: Int) {
        let half = instances.count / 2
        let floatsPerImage = side * side * 3
        labelsX = pairs.firsts.labels + instances.labels[0..<half]
        labelsY = pairs.seconds.labels + instances.labels[half...]
        x = Tensor(
            shape: [labelsX.count, side, side, 3],
            values: pairs.firsts.pixels + instances.pixels[0..<(half * floatsPerImage)])
        y = Tensor(
            shape: [labelsY.count, side, side, 3],
            values: pairs.seconds.pixels + instances.pixels[(half * floatsPerImage)...])
        pairRows = pairs.firsts.count
    }
}
