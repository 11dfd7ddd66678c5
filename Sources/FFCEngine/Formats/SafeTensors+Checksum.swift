// Formats: the checksum our safetensors files carry (checkpoints always do). `__metadata__`
// key `crc32` holds 8 lower-case hex digits: zlib's CRC-32 of the whole file as written, with
// those 8 digits read as "00000000". It covers the length prefix, the header (tensor table and
// every metadata value) and the data, so a truncated file or one flipped bit anywhere is
// refused before any of it is used. The one file here that calls zlib. Python checks a file:
//     raw = open(p, "rb").read(); n = int.from_bytes(raw[:8], "little")
//     v = json.loads(raw[8:8 + n])["__metadata__"]["crc32"]
//     zlib.crc32(raw.replace(b'"crc32":"' + v.encode() + b'"', b'"crc32":"00000000"', 1)) == int(v, 16)
import CZlib

extension SafeTensorsFile {
    public static let checksumKey = "crc32"
    private static let blankDigits = "00000000"

    /// The encoded file with its CRC-32 in the metadata (any `crc32` entry is replaced).
    public func encodeWithChecksum() -> [UInt8] {
        var sealed = self
        sealed.metadata[Self.checksumKey] = Self.blankDigits
        var bytes = sealed.encode()
        // The header was written by `encode` a line above, so the field is there exactly once.
        let digits = Self.checksumDigits(in: bytes)!
        bytes.replaceSubrange(digits, with: Array(Self.hex(Self.crc32(bytes, blanking: digits)).utf8))
        return bytes
    }

    /// Checks a whole encoded file against the checksum its header states.
    static func verifyChecksum(_ bytes: [UInt8], stated: String, path: String) throws {
        guard let digits = checksumDigits(in: bytes), String(decoding: bytes[digits], as: UTF8.self) == stated,
            stated.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) })
        else { throw SafeTensorsError.badChecksumField(path: path) }
        let computed = hex(crc32(bytes, blanking: digits))
        guard computed == stated else {
            throw SafeTensorsError.checksumMismatch(path: path, stated: stated, computed: computed)
        }
    }

    /// Where the 8 digits of `"crc32":"…"` sit in the header; nil unless found exactly once.
    /// A JSON string never holds a bare quote, so the pattern cannot occur inside a value.
    private static func checksumDigits(in bytes: [UInt8]) -> Range<Int>? {
        guard bytes.count >= 8 else { return nil }
        var headerLength = 0
        for i in 0..<8 { headerLength |= Int(bytes[i]) << (8 * i) }
        guard headerLength >= 0, headerLength <= bytes.count - 8 else { return nil }
        let pattern = Array("\"\(checksumKey)\":\"".utf8)
        let header = bytes[8..<(8 + headerLength)]
        var found: Range<Int>?
        var i = header.startIndex
        while i + pattern.count + blankDigits.utf8.count < header.endIndex {
            if header[i..<(i + pattern.count)].elementsEqual(pattern) {
                let start = i + pattern.count
                guard found == nil, header[start + blankDigits.utf8.count] == UInt8(ascii: "\"") else { return nil }
                found = start..<(start + blankDigits.utf8.count)
            }
            i += 1
        }
        return found
    }

    private static func crc32(_ bytes: [UInt8], blanking digits: Range<Int>) -> UInt32 {
        bytes.withUnsafeBufferPointer { all in
            var crc = CZlib.crc32_z(0, nil, 0)
            crc = CZlib.crc32_z(crc, all.baseAddress, z_size_t(digits.lowerBound))
            crc = Array(blankDigits.utf8).withUnsafeBufferPointer {
                CZlib.crc32_z(crc, $0.baseAddress, z_size_t($0.count))
            }
            crc = CZlib.crc32_z(crc, all.baseAddress! + digits.upperBound, z_size_t(all.count - digits.upperBound))
            return UInt32(truncatingIfNeeded: crc)
        }
    }

    /// CRC-32 of tensors' names, dtypes, shapes and bytes in name order: a fingerprint of a
    /// state (the ranks' class pools are compared with it), not of a file.
    public static func crc32(tensors: [String: NamedTensor]) -> UInt32 {
        var crc = CZlib.crc32_z(0, nil, 0)
        func add(_ bytes: [UInt8]) {
            bytes.withUnsafeBufferPointer { crc = CZlib.crc32_z(crc, $0.baseAddress, z_size_t($0.count)) }
        }
        for name in tensors.keys.sorted() {
            let t = tensors[name]!
            add(Array("\(name) \(t.dtype.rawValue) \(t.shape)\n".utf8))
            add(t.bytes)
        }
        return UInt32(truncatingIfNeeded: crc)
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}
