// The oneDNN probe of `ffc bench engine --conv` times the convolution we compute: its fp32
// forward on our layouts equals Conv2D's, and bf16 is either timed or refused with oneDNN's
// reason, whichever this CPU allows.
import FFCEngine
import Foundation
import Testing

@testable import FFCBench

@Suite struct OneDNNConvolutionTests {
    @Test(arguments: [(3, 1), (3, 2), (1, 1)])
    func fp32ForwardEqualsOurConvolution(kernel: Int, stride: Int) throws {
        let shape = OneDNNConvolution.Shape(
            batch: 2, inChannels: 5, outChannels: 7, kernel: kernel, stride: stride, side: 9)
        let conv = Conv2D(5, 7, kernel: kernel, stride: stride, padding: kernel / 2)
        var random = SeededRandom(seed: 11)
        for i in 0..<conv.weight.value.count { conv.weight.value[i] = random.gaussian() * 0.3 }
        let x = Tensor(shape: [2, 9, 9, 5])
        for i in 0..<x.count { x[i] = random.gaussian() }
        let ours = conv.forward(x, training: false)
        let input = (0..<x.count).map { x[$0] }
        let weight = (0..<conv.weight.value.count).map { conv.weight.value[$0] }
        let theirs = try OneDNNConvolution.forward(shape, input: input, weight: weight).get()
        #expect(theirs.count == ours.count)
        // Each output sums K·K·Cin ≤ 45 products of terms below ~4: float32 rounding in either
        // summation order stays under 45 · 2⁻²³ · 4 · 45 ≈ 1e-3 absolute; 1e-4 is what they reach.
        var worst: Float = 0
        for i in 0..<ours.count { worst = max(worst, abs(ours[i] - theirs[i])) }
        #expect(worst < 1e-4, "worst |ours − oneDNN| = \(worst)")
    }

    @Test func fp32IsTimedAndBF16IsTimedOrRefusedWithTheReason() {
        let shape = OneDNNConvolution.Shape(batch: 2, inChannels: 8, outChannels: 8, kernel: 3, stride: 1, side: 8)
        switch OneDNNConvolution.time(shape, precision: .fp32, threads: 1, repeats: 1) {
        case .success(let t):
            #expect(t.forward > 0 && t.backward > 0)
            #expect(!t.implementations.isEmpty && !t.implementations.hasPrefix("ref"))
        case .failure(let f):
            Issue.record("oneDNN fp32 convolution failed: \(f.message)")
        }
        let cpuHasBF16Kernels =
            (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))
            .map { $0.contains(" avx512bw") } ?? false  // oneDNN 2.6 wants avx512_core for bf16
        switch OneDNNConvolution.time(shape, precision: .bf16, threads: 1, repeats: 1) {
        case .success(let t):
            #expect(cpuHasBF16Kernels, "bf16 ran (\(t.implementations)) on a CPU without AVX-512")
        case .failure(let f):
            #expect(!cpuHasBF16Kernels || f.message.contains("reference"), "\(f.message)")
            #expect(f.message.contains("oneDNN"))
        }
    }
}
