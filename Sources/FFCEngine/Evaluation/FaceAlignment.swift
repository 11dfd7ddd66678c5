// Evaluation: alignment of a loose face crop to the 112×112 ArcFace layout from five landmarks
// (eyes, nose tip, mouth corners), as insightface's IJB scripts do it: the least-squares
// similarity transform (rotation, uniform scale, translation; Umeyama's estimate, which
// skimage's SimilarityTransform computes) taking the landmarks onto the reference points, then
// the image resampled through the inverse map with bilinear interpolation, pixel centres at
// integer coordinates and black outside the image (cv2.warpAffine's conventions; OpenCV
// quantises the sampling position to 1/32 pixel, this keeps it exact).
import Foundation

public enum FaceAlignment {
    /// The ArcFace reference points in a 112×112 crop (the 96×112 set shifted 8 px right).
    public static let reference112: [(x: Double, y: Double)] = [
        (30.2946, 51.6963), (65.5318, 51.5014), (48.0252, 71.7366), (33.5493, 92.3655), (62.7299, 92.2041),
    ].map { (Double(Float($0.0) + 8), Double(Float($0.1))) }

    /// The 2×3 matrix [a −b tx; b a ty] minimising Σ‖M·src − dst‖² over similarity transforms.
    /// In complex numbers (z = x + iy, centred on the means): a + ib = Σ conj(s)·d / Σ |s|², which
    /// is Umeyama's solution with its reflection guard (the optimum among proper similarities).
    public static func similarity(from src: [(x: Double, y: Double)], to dst: [(x: Double, y: Double)]) -> [Double] {
        precondition(src.count == dst.count && src.count >= 2, "matching point lists of at least two points")
        let n = Double(src.count)
        let msx = src.map(\.x).reduce(0, +) / n
        let msy = src.map(\.y).reduce(0, +) / n
        let mdx = dst.map(\.x).reduce(0, +) / n
        let mdy = dst.map(\.y).reduce(0, +) / n
        var re = 0.0
        var im = 0.0
        var ss = 0.0
        for (s, d) in zip(src, dst) {
            let sx = s.x - msx
            let sy = s.y - msy
            let dx = d.x - mdx
            let dy = d.y - mdy
            re += sx * dx + sy * dy
            im += sx * dy - sy * dx
            ss += sx * sx + sy * sy
        }
        let a = re / ss
        let b = im / ss
        return [a, -b, mdx - (a * msx - b * msy), b, a, mdy - (b * msx + a * msy)]
    }

    /// The transform for IJB landmarks (x1 y1 … x5 y5) onto `reference112`.
    public static func matrix(landmarks: [Float]) -> [Double] {
        precondition(landmarks.count == 10, "five (x, y) landmarks")
        let src = (0..<5).map { (x: Double(landmarks[2 * $0]), y: Double(landmarks[2 * $0 + 1])) }
        return similarity(from: src, to: reference112)
    }

    /// Warps interleaved 8-bit pixels (height × width × channels) by the 2×3 `matrix`
    /// (source → output coordinates) into a `size`×`size` image of the same channels.
    public static func warp(
        pixels: UnsafeBufferPointer<UInt8>, width: Int, height: Int, channels: Int = 3, matrix m: [Double],
        size: Int = 112
    ) -> [UInt8] {
        // Inverse of [m0 m1 m2; m3 m4 m5; 0 0 1].
        let det = m[0] * m[4] - m[1] * m[3]
        let i0 = m[4] / det
        let i1 = -m[1] / det
        let i3 = -m[3] / det
        let i4 = m[0] / det
        let i2 = -(i0 * m[2] + i1 * m[5])
        let i5 = -(i3 * m[2] + i4 * m[5])
        var out = [UInt8](repeating: 0, count: size * size * channels)
        var acc = [Double](repeating: 0, count: channels)
        for y in 0..<size {
            for x in 0..<size {
                let sx = i0 * Double(x) + i1 * Double(y) + i2
                let sy = i3 * Double(x) + i4 * Double(y) + i5
                let x0 = Int(sx.rounded(.down))
                let y0 = Int(sy.rounded(.down))
                let fx = sx - Double(x0)
                let fy = sy - Double(y0)
                for c in 0..<channels { acc[c] = 0 }
                for dy in 0...1 {
                    for dx in 0...1 {
                        let xx = x0 + dx
                        let yy = y0 + dy
                        guard xx >= 0, xx < width, yy >= 0, yy < height else { continue }
                        let w = (dx == 1 ? fx : 1 - fx) * (dy == 1 ? fy : 1 - fy)
                        let base = (yy * width + xx) * channels
                        for c in 0..<channels { acc[c] += w * Double(pixels[base + c]) }
                    }
                }
                let o = (y * size + x) * channels
                for c in 0..<channels { out[o + c] = UInt8(min(255, max(0, (acc[c] + 0.5).rounded(.down)))) }
            }
        }
        return out
    }
}
