// IResNet (arcface_torch `iresnet18/34/50/100`): 3×3 stem conv-BN-PReLU, four stages of
// improved basic blocks BN → conv 3×3 → BN → PReLU → conv 3×3 (stride) → BN plus a
// 1×1-conv-BN projection shortcut where the shape changes, then BN → flatten → dropout
// (p = 0 as arcface_torch's default) → FC to the embedding → BN. Module names follow it.
import Foundation

private func basicBlock(_ inC: Int, _ planes: Int, stride: Int) -> Residual {
    let body = Sequential([
        ("bn1", BatchNorm(inC)),
        ("conv1", Conv2D(inC, planes, kernel: 3, padding: 1)),
        ("bn2", BatchNorm(planes)),
        ("prelu", PReLU(planes)),
        ("conv2", Conv2D(planes, planes, kernel: 3, stride: stride, padding: 1)),
        ("bn3", BatchNorm(planes)),
    ])
    let needsProjection = stride != 1 || inC != planes
    let shortcut = Sequential([("0", Conv2D(inC, planes, kernel: 1, stride: stride)), ("1", BatchNorm(planes))])
    return Residual(body: body, shortcut: needsProjection ? shortcut : nil)
}

extension Backbone {
    static func iresnet(name: String, blocks: [Int], embeddingSize: Int, inputSize: Int) throws -> Sequential {
        try requireMultiple(of: 16, name, inputSize)
        let finalSide = inputSize / 16
        var stages: [(String, any Layer)] = []
        var inC = 64
        for (index, (planes, count)) in zip([64, 128, 256, 512], blocks).enumerated() {
            let stage = (0..<count).map { i in
                ("\(i)", basicBlock(i == 0 ? inC : planes, planes, stride: i == 0 ? 2 : 1) as any Layer)
            }
            stages.append(("layer\(index + 1)", Sequential(stage)))
            inC = planes
        }
        return Sequential(
            [
                ("conv1", Conv2D(3, 64, kernel: 3, padding: 1) as any Layer),
                ("bn1", BatchNorm(64)),
                ("prelu", PReLU(64)),
            ] + stages + [
                ("bn2", BatchNorm(512)),
                ("flatten", Flatten()),
                ("dropout", Dropout(0, seed: 0)),
                ("fc", Linear(512 * finalSide * finalSide, embeddingSize)),
                ("features", BatchNorm(embeddingSize)),
            ])
    }
}
