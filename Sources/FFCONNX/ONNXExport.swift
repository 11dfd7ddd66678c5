// FFCONNX: a backbone as an ONNX model of standard operators (opset 13) — what `ffc export
// --onnx` writes, for onnxruntime, TensorRT, OpenVINO and insightface's ONNX tooling.
//
// The graph reads `data` (N, 3, S, S) float32 — NCHW as insightface's ONNX models do, BGR, pixels
// (v − 127.5)/128 exactly as training feeds the net — and yields `embedding` (N, D), the raw
// backbone output (not L2-normalised). It is the eval-mode net: batch norm uses the running
// statistics and is folded into the convolution or Gemm just before it (exact up to float32
// rounding, since no padding lies between them); a batch norm with no such producer (IResNet's
// pre-activation ones) stays a BatchNormalization node. Dropout is the identity in eval and
// is left out.
//
// Layouts: the engine's NHWC weights become ONNX's (Cout, Cin, KH, KW); a depthwise (KH, KW, C)
// becomes (C, 1, KH, KW) with group = C; the engine flattens (h, w, c) and ONNX's Flatten of
// NCHW gives (c, h, w), so the Gemm after a Flatten gets its columns permuted to match.
import FFCEngine
import Foundation
import SwiftProtobuf

public enum ONNXExportError: Error, CustomStringConvertible, Equatable {
    case unsupportedLayer(path: String, summary: String)
    case invalidBatch(String)

    public var description: String {
        switch self {
        case .unsupportedLayer(let path, let summary):
            return "cannot export layer '\(path)' (\(summary)) to ONNX"
        case .invalidBatch(let text):
            return "--batch \(text): use a positive number of images or 'dynamic'"
        }
    }
}

/// The batch axis of the exported graph.
public enum ONNXBatch: Equatable, Sendable, CustomStringConvertible {
    /// A symbolic batch (`N`): any number of images per call.
    case dynamic
    case fixed(Int)

    /// "dynamic" or a positive count.
    public init(parsing text: String) throws {
        if text == "dynamic" {
            self = .dynamic
        } else if let n = Int(text), n > 0 {
            self = .fixed(n)
        } else {
            throw ONNXExportError.invalidBatch(text)
        }
    }

    public var description: String {
        switch self {
        case .dynamic: "dynamic"
        case .fixed(let n): "\(n)"
        }
    }
}

public enum ONNXExport {
    public static let opset: Int64 = 13
    public static let inputName = "data"
    public static let outputName = "embedding"
    /// Every operator an exported graph may contain.
    public static let operators: Set<String> = [
        "Conv", "BatchNormalization", "PRelu", "Relu", "MaxPool", "Add", "Flatten", "Gemm",
    ]

    /// The model proto of `backbone` in eval mode; `source` (a checkpoint path, say) goes into
    /// the doc string.
    static func model(of backbone: Backbone, batch: ONNXBatch, source: String) throws -> Onnx_ModelProto {
        var builder = GraphBuilder()
        let side = backbone.inputSize
        let last = try builder.emit(backbone.network, path: "", input: inputName, shape: [1, side, side, 3])
        builder.rename(last.name, to: outputName)

        var graph = Onnx_GraphProto()
        graph.name = backbone.architecture
        graph.node = builder.nodes
        graph.initializer = builder.initializers
        graph.input = [valueInfo(inputName, batch: batch, dims: [3, side, side])]
        graph.output = [valueInfo(outputName, batch: batch, dims: [backbone.embeddingSize])]

        var model = Onnx_ModelProto()
        model.irVersion = 7
        var opsetID = Onnx_OperatorSetIdProto()
        opsetID.domain = ""
        opsetID.version = opset
        model.opsetImport = [opsetID]
        model.producerName = "ffc"
        model.producerVersion = "FFC Console"
        model.docString = docString(of: backbone, batch: batch, source: source)
        model.graph = graph
        return model
    }

    /// What the model's doc string states: the input's layout and normalisation, the output.
    public static func docString(of backbone: Backbone, batch: ONNXBatch, source: String) -> String {
        let s = backbone.inputSize
        let n = batch == .dynamic ? "N" : "\(batch)"
        return """
            FFC Console \(backbone.name) face embedding (\(backbone.architecture)) from \(source). \
            Input '\(inputName)': float32 \(n)×3×\(s)×\(s) (NCHW), an aligned face resized to \(s)×\(s), \
            channels in BGR order, each pixel (v − 127.5) / 128 — the normalisation used in training. \
            Output '\(outputName)': float32 \(n)×\(backbone.embeddingSize), not L2-normalised \
            (normalise it before comparing by cosine). Eval mode: batch norm uses running statistics, \
            folded into the preceding Conv or Gemm where there is one.
            """
    }

    /// The serialised model (deterministic bytes for a given net and batch).
    static func serialize(_ model: Onnx_ModelProto) throws -> [UInt8] {
        [UInt8](try model.serializedData())
    }

    /// Writes the model atomically (temporary file, fsync, rename): a failed export never
    /// replaces a good file. Returns the byte count.
    @discardableResult
    public static func write(_ backbone: Backbone, batch: ONNXBatch, source: String, to path: String) throws -> Int {
        let bytes = try serialize(model(of: backbone, batch: batch, source: source))
        try AtomicFile.write(bytes, to: path)
        return bytes.count
    }

    private static func valueInfo(_ name: String, batch: ONNXBatch, dims: [Int]) -> Onnx_ValueInfoProto {
        var shape = Onnx_TensorShapeProto()
        var first = Onnx_TensorShapeProto.Dimension()
        switch batch {
        case .dynamic: first.dimParam = "N"
        case .fixed(let n): first.dimValue = Int64(n)
        }
        shape.dim =
            [first]
            + dims.map {
                var d = Onnx_TensorShapeProto.Dimension()
                d.dimValue = Int64($0)
                return d
            }
        var tensor = Onnx_TypeProto.Tensor()
        tensor.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensor.shape = shape
        var type = Onnx_TypeProto()
        type.tensorType = tensor
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type = type
        return info
    }
}

/// Nodes and initializers in topological order, built by walking the engine's layer tree with
/// its NHWC shapes.
struct GraphBuilder {
    var nodes: [Onnx_NodeProto] = []
    var initializers: [Onnx_TensorProto] = []
    /// Tensors produced by a Flatten, with the (H, W, C) they flattened.
    private var flattened: [String: (h: Int, w: Int, c: Int)] = [:]

    struct Value {
        var name: String
        var shape: [Int]  // engine layout: (N, H, W, C) or (N, F)
    }

    mutating func emit(_ layer: any Layer, path: String, input: String, shape: [Int]) throws -> Value {
        func child(_ name: String) -> String { path.isEmpty ? name : path + "." + name }
        switch layer {
        case let sequence as Sequential:
            var value = Value(name: input, shape: shape)
            var i = 0
            let layers = sequence.layers
            while i < layers.count {
                let (name, current) = layers[i]
                let next = i + 1 < layers.count ? layers[i + 1].layer as? BatchNorm : nil
                if let bn = next, producesChannels(current) == bn.channels {
                    value = try emitAffine(current, path: child(name), input: value, foldedNorm: bn)
                    i += 2
                } else {
                    value = try emit(current, path: child(name), input: value.name, shape: value.shape)
                    i += 1
                }
            }
            return value
        case let block as Residual:
            let main = try emit(block.body, path: path, input: input, shape: shape)
            let side =
                try block.shortcut.map { try emit($0, path: child("downsample"), input: input, shape: shape) }
                ?? Value(name: input, shape: shape)
            var sum = Value(name: child("add"), shape: main.shape)
            node("Add", child("add"), inputs: [main.name, side.name], output: sum.name)
            if block.activation != nil {
                sum = Value(name: child("relu"), shape: sum.shape)
                node("Relu", child("relu"), inputs: [child("add")], output: sum.name)
            }
            return sum
        case is Conv2D, is DepthwiseConv2D, is Linear:
            return try emitAffine(layer, path: path, input: Value(name: input, shape: shape), foldedNorm: nil)
        case let bn as BatchNorm:
            let out = Value(name: path, shape: shape)
            addInitializer(path + ".weight", bn.scale.value.values, dims: [bn.channels])
            addInitializer(path + ".bias", bn.shift.value.values, dims: [bn.channels])
            addInitializer(path + ".running_mean", bn.runningMean.values, dims: [bn.channels])
            addInitializer(path + ".running_var", bn.runningVariance.values, dims: [bn.channels])
            var attribute = Onnx_AttributeProto()
            attribute.name = "epsilon"
            attribute.type = .float
            attribute.f = bn.epsilon
            node(
                "BatchNormalization", path,
                inputs: [input] + ["weight", "bias", "running_mean", "running_var"].map { path + "." + $0 },
                output: out.name, attributes: [attribute])
            return out
        case let prelu as PReLU:
            let out = Value(name: path, shape: shape)
            // Slopes broadcast over (C, 1, 1) on NCHW, over (C) on (N, C).
            let dims = shape.count == 4 ? [prelu.channels, 1, 1] : [prelu.channels]
            addInitializer(path + ".slope", prelu.slope.value.values, dims: dims)
            node("PRelu", path, inputs: [input, path + ".slope"], output: out.name)
            return out
        case is ReLU:
            node("Relu", path, inputs: [input], output: path)
            return Value(name: path, shape: shape)
        case let pool as MaxPool2D:
            let g = pool.geometry
            node(
                "MaxPool", path, inputs: [input], output: path,
                attributes: [
                    ints("kernel_shape", [g.kernel, g.kernel]), ints("strides", [g.stride, g.stride]),
                    ints("pads", [g.padding, g.padding, g.padding, g.padding]),
                ])
            return Value(name: path, shape: pool.outputShape(shape))
        case is Flatten:
            var axis = Onnx_AttributeProto()
            axis.name = "axis"
            axis.type = .int
            axis.i = 1
            node("Flatten", path, inputs: [input], output: path, attributes: [axis])
            flattened[path] = (shape[1], shape[2], shape[3])
            return Value(name: path, shape: layer.outputShape(shape))
        case is Dropout:  // the identity in eval mode
            return Value(name: input, shape: shape)
        default:
            throw ONNXExportError.unsupportedLayer(path: path, summary: layer.summary)
        }
    }

    /// Output channels of a layer a following batch norm can fold into.
    private func producesChannels(_ layer: any Layer) -> Int? {
        switch layer {
        case let conv as Conv2D: conv.outChannels
        case let dw as DepthwiseConv2D: dw.channels
        case let linear as Linear: linear.outFeatures
        default: nil
        }
    }

    /// Eval batch norm as y = a·x + b per channel: a = γ/√(var + ε), b = β − mean·a (in double).
    static func eval(_ bn: BatchNorm) -> (scale: [Float], shift: [Float]) {
        var a = [Float](repeating: 0, count: bn.channels)
        var b = [Float](repeating: 0, count: bn.channels)
        for c in 0..<bn.channels {
            let inv = 1 / (Double(bn.runningVariance[c]) + Double(bn.epsilon)).squareRoot()
            let scale = Double(bn.scale.value[c]) * inv
            a[c] = Float(scale)
            b[c] = Float(Double(bn.shift.value[c]) - Double(bn.runningMean[c]) * scale)
        }
        return (a, b)
    }

    /// Conv, depthwise conv or Gemm, with the batch norm after it folded in when given.
    private mutating func emitAffine(_ layer: any Layer, path: String, input: Value, foldedNorm bn: BatchNorm?)
        throws -> Value
    {
        let norm = bn.map { Self.eval($0) }
        let nodeName = bn == nil ? path : path + "+bn"
        switch layer {
        case let conv as Conv2D:
            let (co, k, ci) = (conv.outChannels, conv.geometry.kernel, conv.inChannels)
            let w = conv.weight.value
            var weight = [Float](repeating: 0, count: co * ci * k * k)  // (Cout, Cin, KH, KW)
            for o in 0..<co {
                let a = norm?.scale[o] ?? 1
                for ky in 0..<k {
                    for kx in 0..<k {
                        for c in 0..<ci {
                            weight[((o * ci + c) * k + ky) * k + kx] = w[((o * k + ky) * k + kx) * ci + c] * a
                        }
                    }
                }
            }
            return convNode(
                nodeName, input: input, weight: weight, dims: [co, ci, k, k], bias: norm?.shift, group: 1,
                geometry: conv.geometry, output: conv.outputShape(input.shape))
        case let dw as DepthwiseConv2D:
            let (c, k) = (dw.channels, dw.geometry.kernel)
            let w = dw.weight.value
            var weight = [Float](repeating: 0, count: c * k * k)  // (C, 1, KH, KW)
            for ch in 0..<c {
                let a = norm?.scale[ch] ?? 1
                for ky in 0..<k {
                    for kx in 0..<k { weight[(ch * k + ky) * k + kx] = w[(ky * k + kx) * c + ch] * a }
                }
            }
            return convNode(
                nodeName, input: input, weight: weight, dims: [c, 1, k, k], bias: norm?.shift, group: c,
                geometry: dw.geometry, output: dw.outputShape(input.shape))
        case let linear as Linear:
            let (o, f) = (linear.outFeatures, linear.inFeatures)
            let w = linear.weight.value
            // Column j of ONNX's (c, h, w) order reads engine column (h·W + w)·C + c.
            var column = Array(0..<f)
            if let (h, wd, c) = flattened[input.name] {
                for ch in 0..<c {
                    for y in 0..<h {
                        for x in 0..<wd { column[(ch * h + y) * wd + x] = (y * wd + x) * c + ch }
                    }
                }
            }
            var weight = [Float](repeating: 0, count: o * f)
            var bias = [Float](repeating: 0, count: o)
            for r in 0..<o {
                let a = norm?.scale[r] ?? 1
                for j in 0..<f { weight[r * f + j] = w[r * f + column[j]] * a }
                bias[r] = (linear.bias?.value[r] ?? 0) * a + (norm?.shift[r] ?? 0)
            }
            addInitializer(nodeName + ".weight", weight, dims: [o, f])
            addInitializer(nodeName + ".bias", bias, dims: [o])
            var transB = Onnx_AttributeProto()
            transB.name = "transB"
            transB.type = .int
            transB.i = 1
            node(
                "Gemm", nodeName, inputs: [input.name, nodeName + ".weight", nodeName + ".bias"], output: nodeName,
                attributes: [transB])
            return Value(name: nodeName, shape: [input.shape[0], o])
        default:
            throw ONNXExportError.unsupportedLayer(path: path, summary: layer.summary)
        }
    }

    private mutating func convNode(
        _ name: String, input: Value, weight: [Float], dims: [Int], bias: [Float]?, group: Int,
        geometry g: ConvGeometry, output: [Int]
    ) -> Value {
        addInitializer(name + ".weight", weight, dims: dims)
        var inputs = [input.name, name + ".weight"]
        if let bias {
            addInitializer(name + ".bias", bias, dims: [dims[0]])
            inputs.append(name + ".bias")
        }
        var groupAttribute = Onnx_AttributeProto()
        groupAttribute.name = "group"
        groupAttribute.type = .int
        groupAttribute.i = Int64(group)
        node(
            "Conv", name, inputs: inputs, output: name,
            attributes: [
                ints("kernel_shape", [g.kernel, g.kernel]), ints("strides", [g.stride, g.stride]),
                ints("pads", [g.padding, g.padding, g.padding, g.padding]), groupAttribute,
            ])
        return Value(name: name, shape: output)
    }

    private func ints(_ name: String, _ values: [Int]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .ints
        a.ints = values.map(Int64.init)
        return a
    }

    private mutating func node(
        _ op: String, _ name: String, inputs: [String], output: String, attributes: [Onnx_AttributeProto] = []
    ) {
        var n = Onnx_NodeProto()
        n.opType = op
        n.name = name
        n.input = inputs
        n.output = [output]
        n.attribute = attributes
        nodes.append(n)
    }

    private mutating func addInitializer(_ name: String, _ values: [Float], dims: [Int]) {
        var t = Onnx_TensorProto()
        t.name = name
        t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        t.dims = dims.map(Int64.init)
        // raw_data is little-endian float32, as on every CPU this runs on.
        t.rawData = values.withUnsafeBytes { Data($0) }
        initializers.append(t)
    }

    /// Makes the node that produces `old` produce `new` instead (the graph's output name).
    mutating func rename(_ old: String, to new: String) {
        for i in nodes.indices {
            for j in nodes[i].output.indices where nodes[i].output[j] == old { nodes[i].output[j] = new }
            for j in nodes[i].input.indices where nodes[i].input[j] == old { nodes[i].input[j] = new }
        }
    }
}
