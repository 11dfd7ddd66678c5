// The channel kernels of CChannelKernels (batch norm, PReLU, depthwise convolution): each
// variant this CPU runs (the SSE2 baseline always, AVX2 where present) against a scalar Swift
// reference that does every channel's operations in the kernels' order, bit for bit, on
// random inputs whose channel counts are mostly not multiples of 8 (the partial last group).
// On a CPU without AVX2 the baseline is still checked, and the dispatch must pick it.
import CChannelKernels
import Foundation
import Testing

@testable import FFCEngine

@Suite struct ChannelKernelTests {
    static let channelCounts = [1, 5, 8, 12, 19, 37, 64]

    /// The variants this CPU runs, baseline first.
    static var variants: [ffc_channel_kernels] {
        [ffc_channel_kernels_variant("sse2"), ffc_channel_kernels_variant("avx2")].compactMap { $0?.pointee }
    }

    /// Random floats in [−2, 2), about one in eight of them 0 or −0 (the PReLU boundary).
    static func randomFloats(_ count: Int, _ random: inout SeededRandom) -> [Float] {
        (0..<count).map { _ in
            switch random.next() % 16 {
            case 0: return 0
            case 1: return -0.0
            default: return random.uniform(-2, 2)
            }
        }
    }

    /// `body(variant)` for each variant, expecting its output bits to equal `expected`.
    static func expectEveryVariant(
        _ label: String, _ expected: [Float], _ body: (ffc_channel_kernels) -> [Float]
    ) {
        for variant in variants {
            let got = body(variant)
            let isa = String(cString: variant.isa)
            #expect(got.count == expected.count, "\(label) \(isa)")
            let mismatch = zip(got, expected).enumerated().first { $0.element.0.bitPattern != $0.element.1.bitPattern }?
                .offset
            #expect(mismatch == nil, "\(label) \(isa): first mismatch at \(mismatch ?? -1)")
        }
    }

    @Test func dispatchPicksAVX2OnlyWhereTheCPUHasIt() {
        let active = String(cString: ffc_channel_kernels_active().pointee.isa)
        #expect(["sse2", "avx2"].contains(active))
        #expect(EngineTuning.channelKernels == active)
        #expect(ffc_channel_kernels_variant("sse2") != nil)
        #expect(ffc_channel_kernels_variant("avx512") == nil)
        let hasAVX2 = ffc_channel_kernels_variant("avx2") != nil
        switch ProcessInfo.processInfo.environment["FFC_ISA"] {
        case "sse2": #expect(active == "sse2")
        default: #expect(active == (hasAVX2 ? "avx2" : "sse2"))
        }
    }

    @Test func batchNormKernelsMatchTheScalarReference() {
        var random = SeededRandom(seed: 14)
        for c in Self.channelCounts {
            let rows = 3 + c % 4
            let x = Self.randomFloats(rows * c, &random)
            let dy = Self.randomFloats(rows * c, &random)
            let (a, b, slopes) = (
                Self.randomFloats(c, &random), Self.randomFloats(c, &random), Self.randomFloats(c, &random)
            )
            let (center, k, u, v) = (
                Self.randomFloats(c, &random), Self.randomFloats(c, &random), Self.randomFloats(c, &random),
                Self.randomFloats(c, &random)
            )
            let start = Self.randomFloats(3 * c, &random)  // sums start non-zero, as between blocks
            for fused in [false, true] {
                let label = "c=\(c) fused=\(fused)"
                func z(_ i: Int) -> Float { x[i] * a[i % c] + b[i % c] }
                // dz and dy·z where z ≤ 0 (0 elsewhere), as ffc_bn_grad_sums defines them.
                func dz(_ i: Int) -> (Float, Float) {
                    guard fused else { return (dy[i], 0) }
                    let zi = z(i)
                    return zi <= 0 ? (dy[i] * slopes[i % c], dy[i] * zi) : (dy[i], 0)
                }
                let slopePointer: [Float]? = fused ? slopes : nil

                let applied = (0..<x.count).map { i -> Float in
                    let zi = z(i)
                    return fused && zi <= 0 ? zi * slopes[i % c] : zi
                }
                Self.expectEveryVariant("bn_apply \(label)", applied) { kernels in
                    var y = [Float](repeating: .nan, count: x.count)
                    withOptionalPointer(slopePointer) { s in kernels.bn_apply!(x, &y, rows, c, a, b, s) }
                    return y
                }

                var sums = start
                for i in 0..<x.count {
                    let (d, slopeGrad) = dz(i)
                    let ch = i % c
                    sums[ch] = sums[ch] + d
                    sums[c + ch] = sums[c + ch] + d * (x[i] - center[ch])
                    if fused { sums[2 * c + ch] = sums[2 * c + ch] + slopeGrad }
                }
                Self.expectEveryVariant("bn_grad_sums \(label)", sums) { kernels in
                    var block = start
                    block.withUnsafeMutableBufferPointer { p in
                        let base = p.baseAddress!
                        withOptionalPointer(slopePointer) { s in
                            kernels.bn_grad_sums!(x, dy, rows, c, a, b, s, center, base, base + c, base + 2 * c)
                        }
                    }
                    return block
                }

                let inputGrad = (0..<x.count).map { i -> Float in
                    let ch = i % c
                    return k[ch] * dz(i).0 + u[ch] * (x[i] - center[ch]) + v[ch]
                }
                Self.expectEveryVariant("bn_input_grad \(label)", inputGrad) { kernels in
                    var dx = [Float](repeating: .nan, count: x.count)
                    withOptionalPointer(slopePointer) { s in
                        kernels.bn_input_grad!(x, dy, &dx, rows, c, a, b, s, center, k, u, v)
                    }
                    return dx
                }
            }

            var moments = Array(start[0..<(2 * c)])
            for i in 0..<x.count {
                let (ch, d) = (i % c, x[i] - center[i % c])
                moments[ch] = moments[ch] + d
                moments[c + ch] = moments[c + ch] + d * d
            }
            Self.expectEveryVariant("bn_moments c=\(c)", moments) { kernels in
                var block = Array(start[0..<(2 * c)])
                block.withUnsafeMutableBufferPointer { p in
                    kernels.bn_moments!(x, rows, c, center, p.baseAddress!, p.baseAddress! + c)
                }
                return block
            }
        }
    }

    @Test func preluKernelsMatchTheScalarReference() {
        var random = SeededRandom(seed: 15)
        for c in Self.channelCounts {
            let rows = 2 + c % 5
            let x = Self.randomFloats(rows * c, &random)
            let dy = Self.randomFloats(rows * c, &random)
            let slopes = Self.randomFloats(c, &random)
            let start = Self.randomFloats(c, &random)
            let forward = (0..<x.count).map { i in x[i] <= 0 ? x[i] * slopes[i % c] : x[i] }
            Self.expectEveryVariant("prelu_forward c=\(c)", forward) { kernels in
                var y = [Float](repeating: .nan, count: x.count)
                kernels.prelu_forward!(x, &y, rows, c, slopes)
                return y
            }
            var expected = (0..<x.count).map { i in x[i] <= 0 ? dy[i] * slopes[i % c] : dy[i] } + start
            for i in 0..<x.count {
                expected[x.count + i % c] = expected[x.count + i % c] + (x[i] <= 0 ? dy[i] * x[i] : 0)
            }
            Self.expectEveryVariant("prelu_backward c=\(c)", expected) { kernels in
                var dx = [Float](repeating: .nan, count: x.count)
                var sums = start
                kernels.prelu_backward!(x, dy, &dx, rows, c, slopes, &sums)
                return dx + sums
            }
        }
    }

    @Test func depthwiseKernelsMatchTheScalarReference() {
        var random = SeededRandom(seed: 16)
        for c in Self.channelCounts {
            // A 3-row strip of 11 pixels (stride 1 or 2) and its 3×3 weights.
            let (width, step) = (11, 1 + c % 2)
            let pixels = (width - 3) / step + 1
            let inputs = Self.randomFloats(3 * width * c, &random)
            let grads = Self.randomFloats(width * c, &random)
            let weights = Self.randomFloats(9 * c, &random)
            let start = Self.randomFloats(9 * c, &random)

            // Gather: pixel i takes taps i % 4 + 1 taps at pseudo-random places.
            var taps: [Int] = []
            var tapEnds: [Int] = []
            for i in 0..<pixels {
                for t in 0...(i % 4) {
                    taps += [((i * 7 + t * 5) % (3 * width)) * c, ((i + 2 * t) % 9) * c]
                }
                tapEnds.append(taps.count / 2)
            }
            var gathered = [Float](repeating: 0, count: pixels * c)
            for i in 0..<pixels {
                for ch in 0..<c {
                    var acc: Float = 0
                    for t in (i == 0 ? 0 : tapEnds[i - 1])..<tapEnds[i] {
                        acc = acc + inputs[taps[2 * t] + ch] * weights[taps[2 * t + 1] + ch]
                    }
                    gathered[i * c + ch] = acc
                }
            }
            Self.expectEveryVariant("dw_gather c=\(c)", gathered) { kernels in
                var out = [Float](repeating: .nan, count: pixels * c)
                kernels.dw_gather!(inputs, weights, taps, tapEnds, pixels, &out, c)
                return out
            }

            // One tap over runs of 1…pixels pixels (the 4-way interleave and its remainder).
            for count in [1, 3, 4, pixels] {
                var sum = Array(start[0..<c])
                for ch in 0..<c {
                    var acc = [Float](repeating: 0, count: 4)
                    let full = count / 4 * 4
                    for j in 0..<count {
                        let product = grads[j * c + ch] * inputs[c + j * step * c + ch]
                        acc[j < full ? j % 4 : 0] = acc[j < full ? j % 4 : 0] + product
                    }
                    sum[ch] = sum[ch] + ((acc[0] + acc[1]) + (acc[2] + acc[3]))
                }
                // The inputs start one pixel in (kx = 1), as the layer calls the kernel.
                Self.expectEveryVariant("dw_add_tap c=\(c) count=\(count)", sum) { kernels in
                    var out = Array(start[0..<c])
                    inputs.withUnsafeBufferPointer { p in
                        kernels.dw_add_tap!(grads, p.baseAddress! + c, count, step * c, c, &out)
                    }
                    return out
                }
            }

            // 3×3 weight gradient over `pixels` windows: tiles of eight, then added to the block.
            var block = start
            for tileStart in stride(from: 0, to: pixels, by: 8) {
                var tile = [Float](repeating: 0, count: 9 * c)
                for j in tileStart..<min(pixels, tileStart + 8) {
                    for tap in 0..<9 {
                        let (ky, kx) = (tap / 3, tap % 3)
                        for ch in 0..<c {
                            let input = inputs[ky * width * c + j * step * c + kx * c + ch]
                            tile[tap * c + ch] = tile[tap * c + ch] + grads[j * c + ch] * input
                        }
                    }
                }
                for i in 0..<(9 * c) { block[i] = block[i] + tile[i] }
            }
            Self.expectEveryVariant("dw_weight_grad_3x3 c=\(c)", block) { kernels in
                var out = start
                kernels.dw_weight_grad_3x3!(grads, inputs, width * c, step * c, pixels, &out, c)
                return out
            }
        }
    }
}

/// `body` with a pointer to `array`'s floats, or nil when there is no array.
private func withOptionalPointer(_ array: [Float]?, _ body: (UnsafePointer<Float>?) -> Void) {
    guard let array else { return body(nil) }
    array.withUnsafeBufferPointer { body($0.baseAddress) }
}
