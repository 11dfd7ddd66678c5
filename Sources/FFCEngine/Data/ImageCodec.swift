// Data/ImageCodec: the only file that talks to the CJPEG codecs (libjpeg-turbo, libpng).
// Decoding yields RGB (grey replicated); encoding takes RGB. Which channel order the network
// sees is decided in FaceImage (BGR, as the original FFC's cv2.imdecode gives); the loaders'
// fast path decodes a JPEG straight into that layout. Each thread reuses one decompressor.
import CJPEG

/// An image that could not be decoded or encoded, with the codec's message.
public struct ImageCodecError: Error, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { "image codec: \(message)" }
}

public enum ImageCodec {
    /// Width, height and channel count (1 or 3) of a JPEG or PNG, without decoding it.
    public static func header(_ bytes: UnsafeRawBufferPointer) throws(ImageCodecError) -> (
        width: Int, height: Int, channels: Int
    ) {
        var w: Int32 = 0
        var h: Int32 = 0
        var c: Int32 = 0
        var err = [CChar](repeating: 0, count: 200)
        let code = ffc_image_header(
            bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, &w, &h, &c, &err, err.count)
        if code != 0 { throw ImageCodecError(message: message(err)) }
        return (Int(w), Int(h), Int(c))
    }

    /// Decodes a JPEG or PNG into `pixels` as interleaved RGB (HWC) and returns its size.
    /// `pixels` is reused when it is large enough (it may then be longer than w·h·3) and
    /// grown otherwise, so a steady stream of same-size images parses each header once.
    public static func decodeRGB(_ bytes: UnsafeRawBufferPointer, into pixels: inout [UInt8])
        throws(ImageCodecError) -> (width: Int, height: Int)
    {
        var w: Int32 = 0
        var h: Int32 = 0
        var err = [CChar](repeating: 0, count: 200)
        let data = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        func attempt() -> Int32 {
            pixels.withUnsafeMutableBufferPointer { out in
                ffc_image_decode_rgb(data, bytes.count, out.baseAddress, out.count, &w, &h, &err, err.count)
            }
        }
        if !pixels.isEmpty, attempt() == 0 { return (Int(w), Int(h)) }
        let (width, height, _) = try header(bytes)
        guard width > 0, height > 0, width * height <= 1 << 26 else {
            throw ImageCodecError(message: "implausible size \(width)x\(height)")
        }
        if pixels.count < width * height * 3 { pixels = [UInt8](repeating: 0, count: width * height * 3) }
        if attempt() != 0 { throw ImageCodecError(message: message(err)) }
        return (Int(w), Int(h))
    }

    /// Decodes a JPEG straight into normalised BGR floats `(v − 127.5) / 128`, HWC: the
    /// centred `width`×`height` window (the whole image when the sizes match; a larger image
    /// only when `crop`), mirrored left–right when `flip`. One pass over the decoded scanlines,
    /// no intermediate image. Returns false, writing nothing, when this path does not apply
    /// (not a JPEG, or a size it cannot fit): decode with `decodeRGB` then.
    public static func decodeNormalisedBGR(
        _ bytes: UnsafeRawBufferPointer, width: Int, height: Int, crop: Bool, flip: Bool,
        into out: UnsafeMutableBufferPointer<Float>
    ) throws(ImageCodecError) -> Bool {
        precondition(out.count >= width * height * 3)
        var w: Int32 = 0
        var h: Int32 = 0
        // The message buffer lives on the stack: this runs once per training image.
        return try withUnsafeTemporaryAllocation(of: CChar.self, capacity: 200) { err throws(ImageCodecError) in
            err[0] = 0
            let code = ffc_jpeg_decode_normalised_bgr(
                bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, Int32(width), Int32(height),
                crop ? 1 : 0, flip ? 1 : 0, out.baseAddress, &w, &h, err.baseAddress, err.count)
            if code < 0 { throw ImageCodecError(message: String(cString: err.baseAddress!)) }
            return code == 0
        }
    }

    /// Encodes interleaved RGB (channels 3) or grey (channels 1) pixels as JPEG.
    public static func encodeJPEG(
        _ pixels: [UInt8], width: Int, height: Int, channels: Int = 3, quality: Int = 90
    ) throws(ImageCodecError) -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        var length = 0
        var err = [CChar](repeating: 0, count: 200)
        let code = pixels.withUnsafeBufferPointer { p in
            ffc_jpeg_encode(
                p.baseAddress, Int32(width), Int32(height), Int32(channels), Int32(quality),
                &out, &length, &err, err.count)
        }
        if code != 0 { throw ImageCodecError(message: message(err)) }
        defer { ffc_image_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: length))
    }

    private static func message(_ err: [CChar]) -> String {
        String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
