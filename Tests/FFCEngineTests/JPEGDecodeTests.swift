// Tests for the loaders' fused JPEG path (decode straight into normalised BGR floats): it
// must give the very floats of the general path (RGB decode, then FaceImage.fitAndNormalise),
// fall back where it does not apply, and keep working after a corrupt image.
import Foundation
import Testing

@testable import FFCEngine

@Suite struct JPEGDecodeTests {
    /// The general path's floats for encoded image bytes.
    static func reference(_ bytes: [UInt8], _ image: FaceImage, flip: Bool) throws -> [Float] {
        var rgb: [UInt8] = []
        let (w, h) = try bytes.withUnsafeBytes { try ImageCodec.decodeRGB($0, into: &rgb) }
        var out = [Float](repeating: .nan, count: image.floatsPerImage)
        try rgb.withUnsafeBufferPointer { p in
            try out.withUnsafeMutableBufferPointer {
                try image.fitAndNormalise(rgb: p, width: w, height: h, flip: flip, into: $0)
            }
        }
        return out
    }

    /// The fused path's floats, or nil when it declines.
    static func fused(_ bytes: [UInt8], _ image: FaceImage, flip: Bool) throws -> [Float]? {
        var out = [Float](repeating: .nan, count: image.floatsPerImage)
        let done = try bytes.withUnsafeBytes { raw in
            try out.withUnsafeMutableBufferPointer {
                try ImageCodec.decodeNormalisedBGR(
                    raw, width: image.width, height: image.height, crop: image.fit == .centreCrop, flip: flip,
                    into: $0)
            }
        }
        return done ? out : nil
    }

    static func synthJPEG(width: Int, height: Int, identity: Int) throws -> [UInt8] {
        let side = max(width, height)
        let square = SyntheticFaces.render(identity: identity, variant: 2, size: side, seed: 4)
        var pixels: [UInt8] = []
        for y in 0..<height { pixels += square[(y * side * 3)..<((y * side + width) * 3)] }
        return try ImageCodec.encodeJPEG(pixels, width: width, height: height, quality: 85)
    }

    @Test func fusedDecodeEqualsTheGeneralPathOnOriginalRecords() throws {
        let db = try FaceDatabase.open(paths: [DataFixtures.caffe])
        let txn = try db.beginRead()
        let image = FaceImage(height: 32, width: 32)
        var fusedCount = 0
        for i in 0..<db.imageCount {
            let record = try txn.record(ofImage: i)!
            let bytes = Array(record[try Datum.parse(record).image])
            for flip in [false, true] {
                guard let got = try Self.fused(bytes, image, flip: flip) else { continue }
                fusedCount += 1
                #expect(got == (try Self.reference(bytes, image, flip: flip)), "record \(i) flip \(flip)")
            }
        }
        // Colour and grey JPEGs take the fused path; the one PNG does not.
        #expect(fusedCount == 2 * (db.imageCount - 1))
    }

    @Test func centreCropOfALargerJPEGEqualsTheGeneralPath() throws {
        let bytes = try Self.synthJPEG(width: 41, height: 35, identity: 5)
        let image = FaceImage(height: 24, width: 24, fit: .centreCrop)
        for flip in [false, true] {
            let got = try #require(try Self.fused(bytes, image, flip: flip))
            #expect(got == (try Self.reference(bytes, image, flip: flip)))
        }
        // Resizing is the general path's job.
        #expect(try Self.fused(bytes, FaceImage(height: 24, width: 24, fit: .resize), flip: false) == nil)
        #expect(try Self.fused(bytes, FaceImage(height: 48, width: 48, fit: .centreCrop), flip: false) == nil)
    }

    @Test func loadFallsBackToResizeAndGivesTheSameFloats() throws {
        let bytes = try Self.synthJPEG(width: 40, height: 40, identity: 1)
        let image = FaceImage(height: 20, width: 20, fit: .resize)
        let record = Datum.encode(image: bytes, channels: 3, height: 40, width: 40, label: 0)
        var out = [Float](repeating: .nan, count: image.floatsPerImage)
        var scratch: [UInt8] = []
        try record.withUnsafeBytes { raw in
            try out.withUnsafeMutableBufferPointer {
                try image.load(record: raw, flip: true, into: $0, scratch: &scratch)
            }
        }
        #expect(out == (try Self.reference(bytes, image, flip: true)))
    }

    @Test func aCorruptJPEGThrowsAndTheThreadsDecoderStillWorks() throws {
        let good = try Self.synthJPEG(width: 24, height: 24, identity: 2)
        var corrupt = Array(good.prefix(40))
        corrupt += [UInt8](repeating: 0xFF, count: 8)
        let image = FaceImage(height: 24, width: 24)
        #expect(throws: ImageCodecError.self) { _ = try Self.fused(corrupt, image, flip: false) }
        let got = try #require(try Self.fused(good, image, flip: false))
        #expect(got == (try Self.reference(good, image, flip: false)))
    }
}
