// The backbone API the trainer uses: registry, state dicts, copy, EMA, memory reuse.
import Foundation
import Testing

@testable import FFCEngine

@Suite struct BackboneTests {
    @Test func unknownNameListsTheKnownOnes() {
        #expect(throws: BackboneError.unknownName("resnet9000", known: Backbone.names)) {
            _ = try Backbone.make(name: "resnet9000")
        }
    }

    @Test func inputSizeThatIsNotAMultipleOf16IsRefused() {
        #expect(throws: BackboneError.self) { _ = try Backbone.make(name: "ir18", inputSize: 100) }
    }

    @Test func backbonesHaveThePyTorchModelsParameterCounts() throws {
        // tiny counted by hand (convs 240 480, norms and slopes 1 056, FC 1 049 088 + BN 1 024);
        // the others are the PyTorch models in tools/reference/engine_models.py (ir34: 34 139 328,
        // ir50: 43 590 848, ir100: 65 156 160 — too slow to initialise in a debug test).
        let expected = ["tiny": 1_291_648, "mobilefacenet": 1_200_512, "ir18": 24_025_600]
        for (name, count) in expected {
            #expect(try Backbone.make(name: name, embeddingSize: 512).parameterCount == count, "\(name)")
        }
    }

    @Test func stateDictRoundTripsThroughSafeTensorsAndRefusesOtherBackbones() throws {
        let a = try Backbone.make(name: "tiny", embeddingSize: 16, seed: 1)
        let b = try Backbone.make(name: "tiny", embeddingSize: 16, seed: 2)
        var file = SafeTensorsFile()
        file.tensors = a.stateDict()
        let path = NSTemporaryDirectory() + "bb-\(UUID().uuidString).safetensors"
        defer { unlink(path) }
        try file.write(path: path)
        try b.load(SafeTensorsFile.read(path: path).tensors)
        #expect(b.parameters.map(\.value.values) == a.parameters.map(\.value.values))
        let other = try Backbone.make(name: "tiny", embeddingSize: 32)
        #expect(throws: BackboneError.self) { try other.load(a.stateDict()) }
        let mobile = try Backbone.make(name: "mobilefacenet", embeddingSize: 16)
        #expect(throws: BackboneError.self) { try mobile.load(a.stateDict()) }
    }

    @Test func copyIsIndependentAndEMAMovesTowardTheProbe() throws {
        let probe = try Backbone.make(name: "tiny", embeddingSize: 8, inputSize: 32, seed: 5)
        let gallery = probe.copy()
        #expect(gallery.parameters.map(\.value.values) == probe.parameters.map(\.value.values))
        let x = randomTensor([4, 32, 32, 3], seed: 1)
        _ = probe.forward(input: x, training: true)  // moves the probe's running statistics
        let before = gallery.parameters[0].value[0]
        probe.parameters[0].value[0] += 1
        #expect(gallery.parameters[0].value[0] == before)
        gallery.ema(from: probe, alpha: 0.99)
        #expect(abs(gallery.parameters[0].value[0] - (before + 0.01)) < 1e-6)
        #expect(gallery.buffers.map(\.tensor.values) == probe.buffers.map(\.tensor.values))
    }

    @Test func repeatedStepsAllocateNoNewActivationBuffers() throws {
        // Activations come from a pool: later steps find every block the first one returned
        // (no new allocation, same bytes held), and nothing stays live once the caller lets go.
        let net = try Backbone.make(name: "tiny", embeddingSize: 8, inputSize: 32)
        let x = randomTensor([4, 32, 32, 3], seed: 2)
        let pool = ActivationPool()
        func step() throws {
            let y = net.forward(input: x, training: true)
            _ = try #require(net.backward(y, inputGradient: true))
        }
        try ActivationPool.$current.withValue(pool) {
            try step()
            let first = pool.counters
            #expect(first.liveBytes == 0)
            #expect(first.allocations > 0)
            try step()
            try step()
            #expect(pool.counters.allocations == first.allocations)
            #expect(pool.counters.heldBytes == first.heldBytes)
            #expect(pool.counters.liveBytes == 0)
            // Kept across a second forward (the FFC step's two halves), then both backwards.
            let y1 = net.forward(input: x, training: true)
            let saved = net.takeSaved()
            let y2 = net.forward(input: x, training: true)
            _ = net.backward(y2)
            net.restoreSaved(saved)
            _ = net.backward(y1)
        }
        pool.trim()
        #expect(pool.counters.heldBytes == 0)
    }

    @Test func sgdTrainsTinyToSeparateTwoIdentities() throws {
        // Two "identities": bright-left vs bright-right images; pull embeddings of the same
        // identity together and apart otherwise with a squared-cosine loss on the first dim.
        let net = try Backbone.make(name: "tiny", embeddingSize: 4, inputSize: 16, seed: 9)
        let sgd = SGD(learningRate: 0.05, momentum: 0.9, nesterov: true, weightDecay: 5e-4)
        let x = Tensor(shape: [8, 16, 16, 3])
        var g = SeededRandom(seed: 3)
        for n in 0..<8 {
            for h in 0..<16 {
                for w in 0..<16 {
                    for c in 0..<3 {
                        x[((n * 16 + h) * 16 + w) * 3 + c] = ((w < 8) == (n % 2 == 0) ? 1 : -1) + g.uniform(-0.3, 0.3)
                    }
                }
            }
        }
        var firstLoss = 0.0
        var lastLoss = 0.0
        for step in 0..<30 {
            net.zeroGrad()
            let e = net.forward(input: x, training: true)
            let dE = Tensor(shape: e.shape)
            var loss = 0.0
            for n in 0..<8 {
                let target: Float = n % 2 == 0 ? 1 : -1
                let d = e[n * 4] - target
                loss += Double(d * d)
                dE[n * 4] = 2 * d / 8
            }
            net.backward(dE)
            let norm = sgd.step(net)
            #expect(norm.isFinite)
            if step == 0 { firstLoss = loss }
            lastLoss = loss
        }
        #expect(lastLoss < 0.2 * firstLoss, "loss \(firstLoss) → \(lastLoss)")
    }
}
