// MobileFaceNet (Chen et al. 2018) for 112×112 faces: conv 3×3/2 64, depthwise 3×3 64,
// inverted-residual bottlenecks (t, c, n, s) = (2,64,5,2), (4,128,1,2), (2,128,6,1),
// (4,128,1,2), (2,128,2,1), 1×1 conv 512, global depthwise 7×7 conv, linear to the
// embedding, batch norm. Module names follow insightface's `fmobilefacenet`.
import Foundation

/// 1×1 expand (conv-BN-PReLU) → depthwise 3×3 (conv-BN-PReLU) → 1×1 project (conv-BN).
private func bottleneck(_ inC: Int, _ outC: Int, expanded: Int, stride: Int) -> Sequential {
    Sequential([
        ("conv", convBlock(Conv2D(inC, expanded, kernel: 1), channels: expanded)),
        ("conv_dw", convBlock(DepthwiseConv2D(expanded, kernel: 3, stride: stride, padding: 1), channels: expanded)),
        ("project", Sequential([("conv", Conv2D(expanded, outC, kernel: 1)), ("bn", BatchNorm(outC))])),
    ])
}

private func residualStage(_ channels: Int, expanded: Int, count: Int) -> Sequential {
    Sequential(
        (0..<count).map { ("\($0)", Residual(body: bottleneck(channels, channels, expanded: expanded, stride: 1))) })
}

extension Backbone {
    static func mobileFaceNet(embeddingSize: Int, inputSize: Int) throws -> Sequential {
        try requireMultiple(of: 16, "mobilefacenet", inputSize)
        let finalSide = inputSize / 16
        return Sequential([
            ("conv1", convBlock(Conv2D(3, 64, kernel: 3, stride: 2, padding: 1), channels: 64)),
            ("conv2_dw", convBlock(DepthwiseConv2D(64, kernel: 3, padding: 1), channels: 64)),
            ("conv_23", bottleneck(64, 64, expanded: 128, stride: 2)),
            ("conv_3", residualStage(64, expanded: 128, count: 4)),
            ("conv_34", bottleneck(64, 128, expanded: 256, stride: 2)),
            ("conv_4", residualStage(128, expanded: 256, count: 6)),
            ("conv_45", bottleneck(128, 128, expanded: 512, stride: 2)),
            ("conv_5", residualStage(128, expanded: 256, count: 2)),
            ("conv_6_sep", convBlock(Conv2D(128, 512, kernel: 1), channels: 512)),
            ("conv_6_dw", Sequential([("conv", DepthwiseConv2D(512, kernel: finalSide)), ("bn", BatchNorm(512))])),
            ("flatten", Flatten()),
            ("linear", Linear(512, embeddingSize, bias: false)),
            ("features", BatchNorm(embeddingSize)),
        ])
    }
}
