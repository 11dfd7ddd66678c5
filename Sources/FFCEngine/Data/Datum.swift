// Data/Datum: the protobuf `Datum` message around each stored image, coded by hand.
//
// Two layouts exist in the original FFC: the Caffe-style message its loader parses
// (channels = 1, height = 2, width = 3 varints, data = 4 bytes, label = 5, float_data = 6,
// encoded = 7, box floats 8–11) and the one-field message of its import tool (data = 1
// bytes). We read both — field 4 bytes, else field 1 when it is length-delimited — skip
// unknown fields by wire type as protobuf does, and write the Caffe-style one.

/// A malformed protobuf record.
public struct DatumError: Error, Equatable, CustomStringConvertible {
    public var reason: String
    public var offset: Int
    public var description: String { "malformed Datum at byte \(offset): \(reason)" }
}

/// The fields of a `Datum` the loaders need. `image` is a byte range inside the record.
public struct Datum: Equatable, Sendable {
    public var channels: Int?
    public var height: Int?
    public var width: Int?
    public var label: Int?
    public var encoded: Bool?
    /// Where the image bytes (JPEG or PNG) lie in the record.
    public var image: Range<Int>

    /// Parses `bytes` without copying the image.
    /// - Complexity: O(number of fields).
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(DatumError) -> Datum {
        var reader = ProtobufReader(bytes: bytes)
        var datum = Datum(image: 0..<0)
        var field4: Range<Int>?
        var field1: Range<Int>?
        while !reader.atEnd {
            let start = reader.offset
            let tag = try reader.varint()
            let field = Int(tag >> 3)
            let wireType = Int(tag & 7)
            guard field > 0 else { throw DatumError(reason: "field number 0", offset: start) }
            switch (field, wireType) {
            case (1, 2): field1 = try reader.lengthDelimited()
            case (1, 0): datum.channels = Int(truncatingIfNeeded: try reader.varint())
            case (2, 0): datum.height = Int(truncatingIfNeeded: try reader.varint())
            case (3, 0): datum.width = Int(truncatingIfNeeded: try reader.varint())
            case (4, 2): field4 = try reader.lengthDelimited()
            case (5, 0): datum.label = Int(Int32(truncatingIfNeeded: try reader.varint()))
            case (7, 0): datum.encoded = try reader.varint() != 0
            default: try reader.skip(wireType: wireType, at: start)
            }
        }
        guard let image = field4 ?? field1 else {
            throw DatumError(reason: "no image bytes (neither field 4 nor field 1)", offset: 0)
        }
        datum.image = image
        return datum
    }

    /// Encodes the Caffe-style layout around an encoded image.
    public static func encode(
        image: [UInt8], channels: Int, height: Int, width: Int, label: Int
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(image.count + 24)
        func varint(_ value: UInt64) {
            var v = value
            while v >= 0x80 {
                out.append(UInt8(v & 0x7F) | 0x80)
                v >>= 7
            }
            out.append(UInt8(v))
        }
        varint(1 << 3)
        varint(UInt64(channels))
        varint(2 << 3)
        varint(UInt64(height))
        varint(3 << 3)
        varint(UInt64(width))
        varint(4 << 3 | 2)
        varint(UInt64(image.count))
        out.append(contentsOf: image)
        varint(5 << 3)
        varint(UInt64(bitPattern: Int64(label)))
        varint(7 << 3)
        varint(1)
        return out
    }
}

/// Reads protobuf wire format from a buffer.
struct ProtobufReader {
    let bytes: UnsafeRawBufferPointer
    var offset = 0

    var atEnd: Bool { offset >= bytes.count }

    mutating func varint() throws(DatumError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        let start = offset
        while true {
            guard offset < bytes.count else {
                throw DatumError(reason: "truncated varint", offset: start)
            }
            let byte = bytes[offset]
            offset += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
            guard shift < 64 else { throw DatumError(reason: "varint longer than 10 bytes", offset: start) }
        }
    }

    mutating func lengthDelimited() throws(DatumError) -> Range<Int> {
        let start = offset
        let length = try varint()
        guard length <= UInt64(bytes.count - offset) else {
            throw DatumError(reason: "length \(length) runs past the record end", offset: start)
        }
        let range = offset..<(offset + Int(length))
        offset = range.upperBound
        return range
    }

    mutating func skip(wireType: Int, at start: Int) throws(DatumError) {
        switch wireType {
        case 0: _ = try varint()
        case 1: try advance(8, at: start)
        case 2: _ = try lengthDelimited()
        case 5: try advance(4, at: start)
        default: throw DatumError(reason: "unsupported wire type \(wireType)", offset: start)
        }
    }

    private mutating func advance(_ count: Int, at start: Int) throws(DatumError) {
        guard offset + count <= bytes.count else {
            throw DatumError(reason: "truncated fixed-width field", offset: start)
        }
        offset += count
    }
}
