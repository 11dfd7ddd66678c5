// ResNet-50 (`r50`, the original FFC's `resnet50` from torchvision, v1.5: the stride on the
// 3×3 conv): 7×7/2 stem conv-BN-ReLU, 3×3/2 max-pool, four stages of bottlenecks
// 1×1 → 3×3 (stride) → 1×1 ×4 channels, each conv followed by BN (ReLU after the first two and
// after the residual add), with a 1×1-conv-BN projection where the shape changes; then the
// face-embedding head FFC puts in place of the classifier: flatten → FC to the embedding → BN.
// Designed for 224×224 faces (the FC reads 2048×7×7); any multiple of 32 works. Module names
// follow torchvision.
import Foundation

private func bottleneck(_ inC: Int, _ planes: Int, stride: Int) -> Residual {
    let outC = 4 * planes
    let body = Sequential([
        ("conv1", Conv2D(inC, planes, kernel: 1)),
        ("bn1", BatchNorm(planes)),
        ("relu1", ReLU()),
        ("conv2", Conv2D(planes, planes, kernel: 3, stride: stride, padding: 1)),
        ("bn2", BatchNorm(planes)),
        ("relu2", ReLU()),
        ("conv3", Conv2D(planes, outC, kernel: 1)),
        ("bn3", BatchNorm(outC)),
    ])
    let needsProjection = stride != 1 || inC != outC
    let shortcut = Sequential([("0", Conv2D(inC, outC, kernel: 1, stride: stride)), ("1", BatchNorm(outC))])
    return Residual(body: body, shortcut: needsProjection ? shortcut : nil, activation: ReLU())
}

extension Backbone {
    static func resnet(name: String, blocks: [Int], embeddingSize: Int, inputSize: Int) throws -> Sequential {
        try requireMultiple(of: 32, name, inputSize)
        let finalSide = inputSize / 32
        var stages: [(String, any Layer)] = []
        var inC = 64
        for (index, (planes, count)) in zip([64, 128, 256, 512], blocks).enumerated() {
            let stride = index == 0 ? 1 : 2
            let stage = (0..<count).map { i in
                ("\(i)", bottleneck(i == 0 ? inC : 4 * planes, planes, stride: i == 0 ? stride : 1) as any Layer)
            }
            stages.append(("layer\(index + 1)", Sequential(stage)))
            inC = 4 * planes
        }
        return Sequential(
            [
                ("conv1", Conv2D(3, 64, kernel: 7, stride: 2, padding: 3) as any Layer),
                ("bn1", BatchNorm(64)),
                ("relu", ReLU()),
                ("maxpool", MaxPool2D(kernel: 3, stride: 2, padding: 1)),
            ] + stages + [
                ("flatten", Flatten()),
                ("fc", Linear(2048 * finalSide * finalSide, embeddingSize)),
                ("features", BatchNorm(embeddingSize)),
            ])
    }
}
