// Data/FaceImage: one stored record → the network's input: parse the Datum, decode the image,
// fit it to the input size, flip, normalise.
//
// Channel order: the network sees **BGR**, as the original FFC does (cv2.imdecode gives BGR).
// Stored JPEGs carry true colours (OpenCV converts BGR → YCbCr when encoding, and `ffc synth`
// encodes RGB renders), our decoder yields RGB, and `FaceImage` swaps to BGR while
// normalising — so weights trained here and there agree.

/// How a stored image whose size differs from the network input is fitted to it.
public enum ImageFit: String, Sendable, Codable, CaseIterable {
    /// Cut the centred input-size window (the image must be at least that large).
    case centreCrop
    /// Bilinear resize of the whole image.
    case resize
}

/// A record that could not become an input image.
public struct FaceImageError: Error, Equatable, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}

/// Turns records into normalised BGR float pixels `(v − 127.5) / 128`, HWC.
public struct FaceImage: Sendable {
    public var height: Int
    public var width: Int
    public var fit: ImageFit

    public init(height: Int = 112, width: Int = 112, fit: ImageFit = .resize) {
        self.height = height
        self.width = width
        self.fit = fit
    }

    /// (v − 127.5) / 128 for every byte value v.
    static let normalised: [Float] = (0..<256).map { (Float($0) - 127.5) / 128 }

    /// Floats per image: H·W·3.
    public var floatsPerImage: Int { height * width * 3 }

    /// Decodes a Datum record into `out` (H·W·3 floats, BGR), mirrored left–right when `flip`.
    /// A JPEG of the input size (or larger, with centre-crop) is decoded straight into `out`;
    /// anything else (PNG, resize) goes through RGB pixels in `scratch`, which is reused
    /// between calls to avoid allocation. Both give the same floats.
    public func load(
        record: UnsafeRawBufferPointer, flip: Bool, into out: UnsafeMutableBufferPointer<Float>,
        scratch: inout [UInt8]
    ) throws {
        let datum = try Datum.parse(record)
        try load(image: UnsafeRawBufferPointer(rebasing: record[datum.image]), flip: flip, into: out, scratch: &scratch)
    }

    /// Decodes an encoded image (JPEG or PNG bytes, from any database format) as `load(record:)`.
    public func load(
        image: UnsafeRawBufferPointer, flip: Bool, into out: UnsafeMutableBufferPointer<Float>,
        scratch: inout [UInt8]
    ) throws {
        precondition(out.count >= floatsPerImage)
        if try ImageCodec.decodeNormalisedBGR(
            image, width: width, height: height, crop: fit == .centreCrop, flip: flip, into: out)
        {
            return
        }
        let (w, h) = try ImageCodec.decodeRGB(image, into: &scratch)
        try scratch.withUnsafeBufferPointer { rgb in
            try fitAndNormalise(rgb: rgb, width: w, height: h, flip: flip, into: out)
        }
    }

    /// Fits an RGB image (HWC bytes) to the input size and writes normalised BGR floats.
    public func fitAndNormalise(
        rgb: UnsafeBufferPointer<UInt8>, width w: Int, height h: Int, flip: Bool,
        into out: UnsafeMutableBufferPointer<Float>
    ) throws {
        precondition(out.count >= floatsPerImage)
        let scale: Float = 1.0 / 128.0
        if w == width && h == height || fit == .centreCrop {
            guard w >= width, h >= height else {
                throw FaceImageError(
                    reason: "stored image \(w)x\(h) is smaller than the \(width)x\(height) input; use resize")
            }
            let x0 = (w - width) / 2
            let y0 = (h - height) / 2
            let lut = FaceImage.normalised
            guard let src = rgb.baseAddress, let dst = out.baseAddress else { return }
            lut.withUnsafeBufferPointer { table in
                let t = table.baseAddress!
                for y in 0..<height {
                    let rowIn = src + ((y + y0) * w + x0) * 3
                    let rowOut = dst + y * width * 3
                    if flip {
                        for x in 0..<width {
                            let p = rowIn + (width - 1 - x) * 3
                            let q = rowOut + x * 3
                            q[0] = t[Int(p[2])]
                            q[1] = t[Int(p[1])]
                            q[2] = t[Int(p[0])]
                        }
                    } else {
                        for x in 0..<width {
                            let p = rowIn + x * 3
                            let q = rowOut + x * 3
                            q[0] = t[Int(p[2])]
                            q[1] = t[Int(p[1])]
                            q[2] = t[Int(p[0])]
                        }
                    }
                }
            }
            return
        }
        // Bilinear with pixel centres aligned (as cv2.resize INTER_LINEAR).
        let sx = Float(w) / Float(width)
        let sy = Float(h) / Float(height)
        for y in 0..<height {
            let fy = max(0, (Float(y) + 0.5) * sy - 0.5)
            let y0 = min(Int(fy), h - 1)
            let y1 = min(y0 + 1, h - 1)
            let wy = fy - Float(y0)
            for x in 0..<width {
                let xs = flip ? width - 1 - x : x
                let fx = max(0, (Float(xs) + 0.5) * sx - 0.5)
                let x0 = min(Int(fx), w - 1)
                let x1 = min(x0 + 1, w - 1)
                let wx = fx - Float(x0)
                let dst = (y * width + x) * 3
                for c in 0..<3 {
                    let a = Float(rgb[(y0 * w + x0) * 3 + c]) * (1 - wx) + Float(rgb[(y0 * w + x1) * 3 + c]) * wx
                    let b = Float(rgb[(y1 * w + x0) * 3 + c]) * (1 - wx) + Float(rgb[(y1 * w + x1) * 3 + c]) * wx
                    out[dst + 2 - c] = (a * (1 - wy) + b * wy - 127.5) * scale
                }
            }
        }
    }
}
