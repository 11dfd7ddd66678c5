// tiny: a small, fast net for CPU demos and tests on 56×56 or 64×64 faces — four stride-2
// conv 3×3-BN-PReLU stages (32, 64, 128, 128 channels), then FC to the embedding and BN.
// About 15 MFLOPs per 64×64 image, so it trains in seconds and still separates identities.
import Foundation

extension Backbone {
    static func tinyFaceNet(embeddingSize: Int, inputSize: Int) throws -> Sequential {
        guard inputSize >= 16 else {
            throw BackboneError.unsupportedInputSize(
                backbone: "tiny", inputSize: inputSize, reason: "the side must be at least 16")
        }
        var side = inputSize
        var stages: [(String, any Layer)] = []
        var inC = 3
        for (i, outC) in [32, 64, 128, 128].enumerated() {
            let conv = Conv2D(inC, outC, kernel: 3, stride: 2, padding: 1)
            stages.append(("stage\(i + 1)", convBlock(conv, channels: outC)))
            side = conv.geometry.outputSize(side)
            inC = outC
        }
        return Sequential(
            stages + [
                ("flatten", Flatten()),
                ("fc", Linear(128 * side * side, embeddingSize)),
                ("features", BatchNorm(embeddingSize)),
            ])
    }
}
