// Formats: safetensors files (an 8-byte little-endian header length, a JSON header naming
// each tensor's dtype, shape and byte range, then the raw little-endian data). Used for
// checkpoints and for the PyTorch reference fixtures the tests read; Python reads them with
// `safetensors` or a few lines of `json` + `numpy`.
import Foundation

/// One named float32 (or int64, stored as such) tensor in a safetensors file.
public struct NamedTensor: Sendable, Equatable {
    public enum DType: String, Sendable {
        case f32 = "F32"
        case i64 = "I64"
        case u8 = "U8"
    }
    public var dtype: DType
    public var shape: [Int]
    /// Raw little-endian bytes, `shape.product × dtype size` long.
    public var bytes: [UInt8]

    public init(floats: [Float], shape: [Int]) {
        precondition(shape.reduce(1, *) == floats.count, "shape \(shape) does not hold \(floats.count) values")
        dtype = .f32
        self.shape = shape
        bytes = floats.withUnsafeBytes { Array($0) }
    }

    public init(ints: [Int64], shape: [Int]) {
        precondition(shape.reduce(1, *) == ints.count, "shape \(shape) does not hold \(ints.count) values")
        dtype = .i64
        self.shape = shape
        bytes = ints.withUnsafeBytes { Array($0) }
    }

    public init(bytes: [UInt8], shape: [Int]) {
        dtype = .u8
        self.shape = shape
        self.bytes = bytes
    }

    public var floats: [Float] {
        precondition(dtype == .f32, "tensor is \(dtype.rawValue), not F32")
        return bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    public var ints: [Int64] {
        precondition(dtype == .i64, "tensor is \(dtype.rawValue), not I64")
        return bytes.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }
    }
}

public enum SafeTensorsError: Error, CustomStringConvertible, Equatable {
    case truncated(path: String)
    case badHeader(path: String, reason: String)
    case missing(path: String, name: String)
    case checksumMismatch(path: String, stated: String, computed: String)
    case badChecksumField(path: String)

    public var description: String {
        switch self {
        case .truncated(let path): return "\(path): file is truncated (not a complete safetensors file)"
        case .badHeader(let path, let reason): return "\(path): bad safetensors header: \(reason)"
        case .missing(let path, let name): return "\(path): no tensor named '\(name)'"
        case .checksumMismatch(let path, let stated, let computed):
            return "\(path): checksum mismatch: the header says crc32 \(stated), the bytes give \(computed) (corrupted)"
        case .badChecksumField(let path):
            return "\(path): the header's crc32 entry is not 8 hex digits stated once (corrupted)"
        }
    }
}

/// A safetensors file: named tensors plus string metadata.
public struct SafeTensorsFile: Sendable {
    public var tensors: [String: NamedTensor] = [:]
    public var metadata: [String: String] = [:]
    public var path = "<memory>"

    public init() {}

    public subscript(name: String) -> NamedTensor? {
        get { tensors[name] }
        set { tensors[name] = newValue }
    }

    /// The tensor called `name`, or an error naming the file and the tensor.
    public func require(_ name: String) throws -> NamedTensor {
        guard let t = tensors[name] else { throw SafeTensorsError.missing(path: path, name: name) }
        return t
    }

    public static func read(path: String) throws -> SafeTensorsFile {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        var file = try decode([UInt8](data), path: path)
        file.path = path
        return file
    }

    public static func decode(_ bytes: [UInt8], path: String = "<memory>") throws -> SafeTensorsFile {
        guard bytes.count >= 8 else { throw SafeTensorsError.truncated(path: path) }
        var declared: UInt64 = 0
        for i in 0..<8 { declared |= UInt64(bytes[i]) << (8 * i) }
        // Compared with what is there, not as `8 + length`: a declared length near 2^64 overflows.
        guard declared >= 2, declared <= UInt64(bytes.count - 8) else {
            throw SafeTensorsError.truncated(path: path)
        }
        let headerLength = Int(declared)
        let json = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + headerLength)]))
        guard let header = json as? [String: Any] else {
            throw SafeTensorsError.badHeader(path: path, reason: "not a JSON object")
        }
        var file = SafeTensorsFile()
        file.path = path
        let dataStart = 8 + headerLength
        for (name, value) in header {
            if name == "__metadata__" {
                file.metadata = value as? [String: String] ?? [:]
                continue
            }
            guard let entry = value as? [String: Any],
                let dtypeName = entry["dtype"] as? String,
                let dtype = NamedTensor.DType(rawValue: dtypeName),
                let shape = entry["shape"] as? [Int],
                let offsets = entry["data_offsets"] as? [Int], offsets.count == 2
            else {
                throw SafeTensorsError.badHeader(path: path, reason: "entry '\(name)' is malformed or not F32/I64/U8")
            }
            // Offsets and shape come from the file: every sum and product is checked against
            // the bytes present before it is formed, so none can overflow or slice out of range.
            let dataBytes = bytes.count - dataStart
            guard offsets[0] >= 0, offsets[0] <= offsets[1] else {
                throw SafeTensorsError.badHeader(path: path, reason: "entry '\(name)' has inconsistent offsets")
            }
            guard offsets[1] <= dataBytes else { throw SafeTensorsError.truncated(path: path) }
            let start = dataStart + offsets[0]
            let end = dataStart + offsets[1]
            var expected = dtype == .u8 ? 1 : (dtype == .f32 ? 4 : 8)
            for d in shape {
                let (product, overflow) = expected.multipliedReportingOverflow(by: d)
                guard d >= 0, !overflow else {
                    throw SafeTensorsError.badHeader(path: path, reason: "entry '\(name)' has shape \(shape)")
                }
                expected = product
            }
            guard end - start == expected else {
                throw SafeTensorsError.badHeader(path: path, reason: "entry '\(name)' has inconsistent offsets")
            }
            var tensor = NamedTensor(bytes: Array(bytes[start..<end]), shape: shape)
            tensor.dtype = dtype
            file.tensors[name] = tensor
        }
        if let stated = file.metadata[checksumKey] { try verifyChecksum(bytes, stated: stated, path: path) }
        return file
    }

    /// Serialises with tensors in name order, so equal contents give equal bytes.
    public func encode() -> [UInt8] {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let t = tensors[name]!
            header[name] = [
                "dtype": t.dtype.rawValue, "shape": t.shape, "data_offsets": [offset, offset + t.bytes.count],
            ]
            offset += t.bytes.count
        }
        var json = (try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])) ?? Data("{}".utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        var out = [UInt8]()
        out.reserveCapacity(8 + json.count + offset)
        for i in 0..<8 { out.append(UInt8((json.count >> (8 * i)) & 0xFF)) }
        out.append(contentsOf: json)
        for name in names { out.append(contentsOf: tensors[name]!.bytes) }
        return out
    }

    /// Writes atomically: a temporary file beside the target, fsync, then rename, so a
    /// crash leaves either the old file or the new one, never half of one. With `checksum`
    /// the metadata carries the file's CRC-32 (SafeTensors+Checksum.swift), checked on read.
    public func write(path: String, checksum: Bool = false) throws {
        try AtomicFile.write(checksum ? encodeWithChecksum() : encode(), to: path)
    }
}

public enum AtomicFileError: Error, CustomStringConvertible, Equatable {
    case failed(path: String, operation: String, errno: Int32)

    public var description: String {
        switch self {
        case .failed(let path, let operation, let e):
            return "\(path): \(operation) failed: \(String(cString: strerror(e)))"
        }
    }
}

/// Whole-file writes that are never seen half-written: a temporary file `PATH.tmp-PID` beside
/// the target, written, fsynced, renamed over the target, then the directory fsynced so the
/// rename itself survives a power cut. On any failure (a full disk, say) the temporary file is
/// removed and the target is untouched; the error names the call and the system's reason.
public enum AtomicFile {
    public static let temporaryInfix = ".tmp-"

    /// `faultPoints` name where the SIGKILL test may stop this write (`FaultPoint`): with
    /// half the bytes written, and after the rename before the directory is synced.
    public static func write(
        _ bytes: [UInt8], to path: String, faultPoints: (halfWritten: FaultPoint, renamed: FaultPoint)? = nil
    ) throws {
        let tmp = path + temporaryInfix + "\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw AtomicFileError.failed(path: tmp, operation: "open", errno: errno) }
        func fail(_ operation: String, _ e: Int32) -> AtomicFileError {
            unlink(tmp)
            return .failed(path: tmp, operation: operation, errno: e)
        }
        let half = bytes.count / 2
        let writeError: Int32? = bytes.withUnsafeBytes { raw in
            for (range, fault) in [(0..<half, faultPoints?.halfWritten), (half..<raw.count, nil)] {
                var written = range.lowerBound
                while written < range.upperBound {
                    let n = Foundation.write(fd, raw.baseAddress! + written, range.upperBound - written)
                    if n < 0 && errno == EINTR { continue }
                    if n < 0 { return errno }
                    if n == 0 { return EIO }
                    written += n
                }
                fault?.pass()
            }
            return nil
        }
        if let e = writeError {
            close(fd)
            throw fail("write", e)
        }
        if fsync(fd) != 0 {
            let e = errno
            close(fd)
            throw fail("fsync", e)
        }
        if close(fd) != 0 { throw fail("close", errno) }
        if rename(tmp, path) != 0 { throw fail("rename to \(path)", errno) }
        faultPoints?.renamed.pass()
        let dir = (path as NSString).deletingLastPathComponent
        let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else { throw AtomicFileError.failed(path: dir, operation: "open directory", errno: errno) }
        defer { close(dfd) }
        guard fsync(dfd) == 0 else {
            throw AtomicFileError.failed(path: dir, operation: "fsync directory", errno: errno)
        }
    }
}
