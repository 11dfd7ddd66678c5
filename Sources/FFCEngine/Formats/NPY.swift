// Formats: numpy `.npy` arrays (format versions 1.0, 2.0 and 3.0; little-endian float32
// `<f4` and int64 `<i8`; C order). Embeddings leave and enter the engine this way, so any
// model's features can be scored and ours can be read with `numpy.load`. Large matrices can
// be read a block of rows at a time (`NPYFile.readRows`), so a million distractors never
// have to sit in memory at once.
import Foundation

public enum NPYError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String)
    case notNPY(path: String)
    case badHeader(path: String, reason: String)
    case unsupportedDType(path: String, descr: String)
    case fortranOrder(path: String)
    case truncated(path: String, needBytes: Int, haveBytes: Int)
    case wrongDType(path: String, have: String, want: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path): return "\(path): cannot open"
        case .notNPY(let path): return "\(path): not a .npy file (no \\x93NUMPY magic)"
        case .badHeader(let path, let reason): return "\(path): bad .npy header: \(reason)"
        case .unsupportedDType(let path, let descr):
            return
                "\(path): unsupported dtype '\(descr)' (supported: '<f4' float32, '<i8' int64; convert with arr.astype(np.float32))"
        case .fortranOrder(let path):
            return "\(path): array is in Fortran order; save it with np.save(path, np.ascontiguousarray(arr))"
        case .truncated(let path, let need, let have):
            return "\(path): truncated: needs \(need) data bytes, has \(have)"
        case .wrongDType(let path, let have, let want): return "\(path): holds \(have), expected \(want)"
        }
    }
}

/// An in-memory `.npy` array: float32 or int64 values in C order.
public struct NPYArray: Sendable, Equatable {
    public enum DType: String, Sendable {
        case float32 = "<f4"
        case int64 = "<i8"
        var size: Int { self == .float32 ? 4 : 8 }
    }
    public var dtype: DType
    public var shape: [Int]
    /// Raw little-endian values, `shape.product × dtype.size` bytes.
    public var bytes: [UInt8]

    public init(floats: [Float], shape: [Int]) {
        precondition(shape.reduce(1, *) == floats.count, "shape \(shape) does not hold \(floats.count) values")
        dtype = .float32
        self.shape = shape
        bytes = floats.withUnsafeBytes { Array($0) }
    }

    public init(ints: [Int64], shape: [Int]) {
        precondition(shape.reduce(1, *) == ints.count, "shape \(shape) does not hold \(ints.count) values")
        dtype = .int64
        self.shape = shape
        bytes = ints.withUnsafeBytes { Array($0) }
    }

    /// The values as float32; an error if the file held int64.
    public func floats(path: String = "<memory>") throws -> [Float] {
        guard dtype == .float32 else { throw NPYError.wrongDType(path: path, have: dtype.rawValue, want: "<f4") }
        return bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    /// The values as int64; an error if the file held float32.
    public func ints(path: String = "<memory>") throws -> [Int64] {
        guard dtype == .int64 else { throw NPYError.wrongDType(path: path, have: dtype.rawValue, want: "<i8") }
        return bytes.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }
    }

    public static func read(path: String) throws -> NPYArray {
        let file = try NPYFile(path: path)
        defer { file.close() }
        var out = NPYArray(ints: [], shape: [0])
        out.dtype = file.dtype
        out.shape = file.shape
        out.bytes = try file.readBytes(offset: 0, count: file.dataBytes)
        return out
    }

    /// Parses a whole `.npy` file held in memory; `path` only labels errors (the fuzz harness
    /// calls this). Bytes after the declared values are ignored, as `NPYFile` ignores them.
    public static func decode(_ bytes: [UInt8], path: String = "<memory>") throws -> NPYArray {
        let header = try NPYHeader.parse(fileSize: bytes.count, path: path) { offset, count in
            Array(bytes[min(offset, bytes.count)..<min(offset + count, bytes.count)])
        }
        var out = NPYArray(ints: [], shape: [0])
        out.dtype = header.dtype
        out.shape = header.shape
        let count = header.shape.reduce(1, *) * header.dtype.size
        out.bytes = Array(bytes[header.dataOffset..<(header.dataOffset + count)])
        return out
    }

    /// The file bytes: a version 1.0 header (2.0 when the header exceeds 65535 bytes) padded so
    /// the data starts on a 64-byte boundary, then the raw values.
    public func encode() -> [UInt8] {
        let shapeText =
            shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var dict = "{'descr': '\(dtype.rawValue)', 'fortran_order': False, 'shape': \(shapeText), }"
        let v1 = 10 + dict.utf8.count + 1 <= 65535 + 10
        let prefix = v1 ? 10 : 12
        let total = (prefix + dict.utf8.count + 1 + 63) / 64 * 64
        dict += String(repeating: " ", count: total - prefix - dict.utf8.count - 1) + "\n"
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [v1 ? 1 : 2, 0]
        let n = dict.utf8.count
        if v1 {
            out += [UInt8(n & 0xFF), UInt8(n >> 8)]
        } else {
            out += (0..<4).map { UInt8((n >> (8 * $0)) & 0xFF) }
        }
        out += Array(dict.utf8)
        out += bytes
        return out
    }

    /// Writes atomically (temporary file, fsync, rename).
    public func write(path: String) throws {
        try AtomicFile.write(encode(), to: path)
    }
}

/// An open `.npy` file whose data is read on demand, a range of rows at a time.
public final class NPYFile: @unchecked Sendable {
    public let path: String
    public let dtype: NPYArray.DType
    public let shape: [Int]
    /// Byte offset of the first value in the file.
    public let dataOffset: Int
    private var fd: Int32

    /// Values per row (product of all but the first dimension; 1 for a vector).
    public var rowLength: Int { shape.dropFirst().reduce(1, *) }
    public var rows: Int { shape.first ?? 1 }
    public var dataBytes: Int { shape.reduce(1, *) * dtype.size }

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw NPYError.cannotOpen(path: path) }
        var ok = false
        defer { if !ok { Foundation.close(fd) } }
        var st = stat()
        fstat(fd, &st)
        let header = try NPYHeader.parse(fileSize: Int(st.st_size), path: path) { offset, count in
            var buffer = [UInt8](repeating: 0, count: count)
            let got = pread(fd, &buffer, count, off_t(offset))
            return Array(buffer.prefix(max(got, 0)))
        }
        dtype = header.dtype
        shape = header.shape
        dataOffset = header.dataOffset
        self.fd = fd
        ok = true
    }

    deinit { close() }

    public func close() {
        if fd >= 0 { Foundation.close(fd) }
        fd = -1
    }

    /// Reads rows `start ..< start + count` as float32 into `out` (count × rowLength values).
    /// - Complexity: O(count × rowLength), one `pread`.
    public func readRows(_ start: Int, count: Int, into out: UnsafeMutableBufferPointer<Float>) throws {
        guard dtype == .float32 else { throw NPYError.wrongDType(path: path, have: dtype.rawValue, want: "<f4") }
        precondition(start >= 0 && start + count <= rows && out.count >= count * rowLength)
        let bytes = count * rowLength * 4
        try readInto(UnsafeMutableRawPointer(out.baseAddress!), offset: start * rowLength * 4, count: bytes)
    }

    func readBytes(offset: Int, count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        try out.withUnsafeMutableBytes { try readInto($0.baseAddress!, offset: offset, count: count) }
        return out
    }

    private func readInto(_ dest: UnsafeMutableRawPointer, offset: Int, count: Int) throws {
        var done = 0
        while done < count {
            let n = pread(fd, dest + done, count - done, off_t(dataOffset + offset + done))
            guard n > 0 else {
                throw NPYError.truncated(path: path, needBytes: offset + count, haveBytes: offset + done)
            }
            done += n
        }
    }
}

/// What a `.npy` header says: the dtype, the shape and where the values start. Shared by
/// `NPYFile` (reading with `pread`) and `NPYArray.decode` (bytes in memory).
struct NPYHeader {
    var dtype: NPYArray.DType
    var shape: [Int]
    var dataOffset: Int

    /// Parses the header of a file of `fileSize` bytes; `read(offset, count)` returns the
    /// (up to `count`) bytes at `offset`. Errors unless the file holds all the values it declares.
    static func parse(fileSize: Int, path: String, read: (_ offset: Int, _ count: Int) -> [UInt8]) throws -> NPYHeader {
        let lead = read(0, 12)
        let got = lead.count
        guard got >= 10, lead[0] == 0x93, Array(lead[1..<6]) == Array("NUMPY".utf8) else {
            throw NPYError.notNPY(path: path)
        }
        let major = lead[6]
        let headerLength: Int
        let prefix: Int
        switch major {
        case 1:
            headerLength = Int(lead[8]) | Int(lead[9]) << 8
            prefix = 10
        case 2, 3:
            guard got >= 12 else { throw NPYError.notNPY(path: path) }
            headerLength = (0..<4).reduce(0) { $0 | Int(lead[8 + $1]) << (8 * $1) }
            prefix = 12
        default:
            throw NPYError.badHeader(path: path, reason: "format version \(major) is not 1, 2 or 3")
        }
        // Checked against the file before reading, so a declared 4 GB header allocates nothing.
        let header = headerLength <= fileSize - prefix ? read(prefix, headerLength) : []
        guard header.count == headerLength else {
            throw NPYError.badHeader(path: path, reason: "header shorter than its declared \(headerLength) bytes")
        }
        let text = String(decoding: header, as: UTF8.self)
        let descr = try value(of: "descr", in: text, path: path)
        let fortran = try value(of: "fortran_order", in: text, path: path)
        let shapeText = try value(of: "shape", in: text, path: path)
        let plainDescr = descr.trimmingCharacters(in: CharacterSet(charactersIn: "'\""))
        let dtype: NPYArray.DType
        switch plainDescr {
        case "<f4", "f4", "float32": dtype = .float32
        case "<i8", "i8", "int64": dtype = .int64
        default: throw NPYError.unsupportedDType(path: path, descr: plainDescr)
        }
        guard fortran == "False" else {
            if fortran == "True" { throw NPYError.fortranOrder(path: path) }
            throw NPYError.badHeader(path: path, reason: "fortran_order is '\(fortran)'")
        }
        let inner = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "() "))
        var dims: [Int] = []
        for part in inner.split(separator: ",") {
            let t = part.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { continue }
            guard let d = Int(t.hasSuffix("L") ? String(t.dropLast()) : t), d >= 0 else {
                throw NPYError.badHeader(path: path, reason: "shape \(shapeText)")
            }
            dims.append(d)
        }
        let dataOffset = prefix + headerLength
        let have = fileSize - dataOffset
        // A shape whose byte count overflows cannot fit any file: refused, not trapped on.
        var need = dtype.size
        for d in dims {
            let (product, overflow) = need.multipliedReportingOverflow(by: d)
            guard !overflow else {
                throw NPYError.badHeader(path: path, reason: "shape \(shapeText) holds more bytes than a file can")
            }
            need = product
        }
        guard have >= need else { throw NPYError.truncated(path: path, needBytes: need, haveBytes: max(have, 0)) }
        return NPYHeader(dtype: dtype, shape: dims, dataOffset: dataOffset)
    }

    /// The text after `'key':` up to the next top-level comma (a tuple counts as one value).
    static func value(of key: String, in header: String, path: String) throws -> String {
        guard let r = header.range(of: "'\(key)':") ?? header.range(of: "\"\(key)\":") else {
            throw NPYError.badHeader(path: path, reason: "no '\(key)' in \(header)")
        }
        var depth = 0
        var out = ""
        for c in header[r.upperBound...] {
            if c == "(" { depth += 1 }
            if c == ")" { depth -= 1 }
            if depth == 0 && (c == "," || c == "}") { break }
            out.append(c)
        }
        return out.trimmingCharacters(in: .whitespaces)
    }
}
