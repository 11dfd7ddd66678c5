// Evaluation: insightface's verification test sets (lfw.bin, cfp_fp.bin, agedb_30.bin …),
// read directly. Such a file is a Python pickle of `(bins, issame_list)`: a list of encoded
// images (JPEG/PNG bytes) where images 2k and 2k+1 form pair k, and a list of same/different
// flags. This is a minimal pickle reader for exactly what pickle protocols 2–5 produce for that
// object — Python 2 `str` (SHORT_BINSTRING/BINSTRING), Python 3 `bytes` (SHORT_BINBYTES,
// BINBYTES, BINBYTES8, or `_codecs.encode(text, 'latin1')` under protocol 2), bools and 0/1
// ints, lists built with APPEND(S), tuples, the memo — and nothing else: any other object is
// refused with the opcode and offset.
import Foundation

public enum InsightfaceBinError: Error, CustomStringConvertible, Equatable {
    case cannotRead(path: String)
    case notInsightfaceBin(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotRead(let path): return "\(path): cannot read"
        case .notInsightfaceBin(let path, let reason): return "not an insightface .bin: \(path): \(reason)"
        }
    }
}

/// A verification set: encoded images and, per pair of consecutive images, whether they match.
public struct InsightfaceBin: Sendable {
    public var images: [[UInt8]]
    public var issame: [Bool]

    /// Pair k is images 2k and 2k+1.
    public var pairs: [VerificationPair] {
        issame.indices.map { VerificationPair(2 * $0, 2 * $0 + 1, same: issame[$0]) }
    }

    public static func read(path: String) throws -> InsightfaceBin {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InsightfaceBinError.cannotRead(path: path)
        }
        return try decode([UInt8](data), path: path)
    }

    public static func decode(_ bytes: [UInt8], path: String = "<memory>") throws -> InsightfaceBin {
        func fail(_ reason: String) -> InsightfaceBinError { .notInsightfaceBin(path: path, reason: reason) }
        var reader = PickleReader(bytes: bytes)
        let root: PickleValue
        do {
            root = try reader.load()
        } catch {
            throw fail((error as? PickleReader.Failure)?.reason ?? "\(error)")
        }
        guard case .tuple(let parts) = root, parts.count == 2,
            case .list(let binsBox) = parts[0], case .list(let flagsBox) = parts[1]
        else { throw fail("the pickle is not a (list of images, list of flags) tuple") }
        var images: [[UInt8]] = []
        images.reserveCapacity(binsBox.items.count)
        for (i, item) in binsBox.items.enumerated() {
            guard case .bytes(let b) = item else { throw fail("image \(i) is not a byte string") }
            images.append(b)
        }
        var issame: [Bool] = []
        for (i, item) in flagsBox.items.enumerated() {
            switch item {
            case .bool(let b): issame.append(b)
            case .int(let v) where v == 0 || v == 1: issame.append(v == 1)
            default: throw fail("flag \(i) is not a bool")
            }
        }
        guard images.count == 2 * issame.count else {
            throw fail("\(images.count) images for \(issame.count) pairs (need two images per pair)")
        }
        return InsightfaceBin(images: images, issame: issame)
    }
}

/// The values a verification pickle holds. Lists are boxed because the memo shares them and
/// APPENDS mutates them after they were memoised.
indirect enum PickleValue {
    final class ListBox {
        var items: [PickleValue] = []
    }
    case list(ListBox)
    case tuple([PickleValue])
    case bytes([UInt8])
    case text(String)
    case bool(Bool)
    case int(Int)
    case none
    case global(module: String, name: String)
    case mark
}

/// A stack machine over the subset of pickle opcodes listed in the file header.
struct PickleReader {
    struct Failure: Error {
        var reason: String
    }

    let bytes: [UInt8]
    var at = 0
    var stack: [PickleValue] = []
    var memo: [Int: PickleValue] = [:]

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func load() throws -> PickleValue {
        while true {
            let offset = at
            let op = try take(1)[0]
            switch op {
            case 0x80: _ = try take(1)  // PROTO
            case 0x95: _ = try take(8)  // FRAME: frames only group bytes; reading them in order is enough
            case 0x2E:  // STOP
                guard let top = stack.popLast() else { throw Failure(reason: "empty pickle") }
                return top
            case 0x5D: stack.append(.list(PickleValue.ListBox()))  // EMPTY_LIST
            case 0x29: stack.append(.tuple([]))  // EMPTY_TUPLE
            case 0x28: stack.append(.mark)  // MARK
            case 0x4E: stack.append(.none)  // NONE
            case 0x88: stack.append(.bool(true))  // NEWTRUE
            case 0x89: stack.append(.bool(false))  // NEWFALSE
            case 0x4B: stack.append(.int(Int(try take(1)[0])))  // BININT1
            case 0x4D: stack.append(.int(try little(2)))  // BININT2
            case 0x4A: stack.append(.int(Int(Int32(truncatingIfNeeded: try little(4)))))  // BININT
            case 0x55, 0x43: stack.append(.bytes(try take(Int(try take(1)[0]))))  // SHORT_BINSTRING, SHORT_BINBYTES
            case 0x54, 0x42: stack.append(.bytes(try take(try little(4))))  // BINSTRING, BINBYTES
            case 0x8E: stack.append(.bytes(try take(try little(8))))  // BINBYTES8
            case 0x8C: stack.append(.text(String(decoding: try take(Int(try take(1)[0])), as: UTF8.self)))  // SHORT_BINUNICODE
            case 0x58: stack.append(.text(String(decoding: try take(try little(4)), as: UTF8.self)))  // BINUNICODE
            case 0x8D: stack.append(.text(String(decoding: try take(try little(8)), as: UTF8.self)))  // BINUNICODE8
            case 0x71: try put(Int(try take(1)[0]))  // BINPUT
            case 0x72: try put(try little(4))  // LONG_BINPUT
            case 0x94: try put(memo.count)  // MEMOIZE
            case 0x68: try get(Int(try take(1)[0]), offset)  // BINGET
            case 0x6A: try get(try little(4), offset)  // LONG_BINGET
            case 0x61:  // APPEND
                let item = try pop(offset)
                try flat([item], inList: true, offset)
                try list(offset).items.append(item)
            case 0x65:  // APPENDS
                let items = try popToMark(offset)
                try flat(items, inList: true, offset)
                try list(offset).items.append(contentsOf: items)
            case 0x85, 0x86, 0x87:  // TUPLE1..3
                let n = Int(op - 0x84)
                guard stack.count >= n else { throw Failure(reason: "stack underflow at offset \(offset)") }
                let items = Array(stack.suffix(n))
                try flat(items, inList: false, offset)
                stack.removeLast(n)
                stack.append(.tuple(items))
            case 0x74:  // TUPLE
                let items = try popToMark(offset)
                try flat(items, inList: false, offset)
                stack.append(.tuple(items))
            case 0x63:  // GLOBAL
                let module = try line()
                let name = try line()
                stack.append(.global(module: module, name: name))
            case 0x93:  // STACK_GLOBAL
                guard case .text(let name) = try pop(offset), case .text(let module) = try pop(offset) else {
                    throw Failure(reason: "bad STACK_GLOBAL at offset \(offset)")
                }
                stack.append(.global(module: module, name: name))
            case 0x52: try reduce(offset)  // REDUCE
            default:
                throw Failure(
                    reason:
                        "pickle opcode 0x\(String(op, radix: 16)) at offset \(offset) is not part of a verification set"
                )
            }
        }
    }

    /// The one call verification pickles make: Python 3 bytes under protocol 2 are written as
    /// `_codecs.encode(text, 'latin1')`, whose result is the text's code points as bytes.
    private mutating func reduce(_ offset: Int) throws {
        let args = try pop(offset)
        let callable = try pop(offset)
        guard case .global(let module, let name) = callable else {
            throw Failure(reason: "REDUCE without a callable at offset \(offset)")
        }
        guard module == "_codecs", name == "encode", case .tuple(let a) = args, a.count == 2,
            case .text(let s) = a[0], case .text(let codec) = a[1], codec == "latin1" || codec == "latin-1"
        else {
            throw Failure(
                reason:
                    "object \(module).\(name) at offset \(offset) is not supported (re-save the set with plain bytes and bools)"
            )
        }
        var out: [UInt8] = []
        out.reserveCapacity(s.unicodeScalars.count)
        for u in s.unicodeScalars {
            guard u.value < 256 else {
                throw Failure(reason: "latin1 text with code point \(u.value) at offset \(offset)")
            }
            out.append(UInt8(u.value))
        }
        stack.append(.bytes(out))
    }

    /// A verification set nests two deep (a tuple of lists of scalars): lists hold no lists or
    /// tuples and tuples no tuples. Refusing more as it is built keeps every value acyclic (a
    /// list appended to itself through the memo would never be freed) and shallow (freeing a
    /// million nested tuples would overflow the stack).
    private func flat(_ items: [PickleValue], inList: Bool, _ offset: Int) throws {
        let outer = inList ? "list" : "tuple"
        for item in items {
            switch item {
            case .tuple: throw Failure(reason: "a tuple inside a \(outer) at offset \(offset) (deeper than a verification set)")
            case .list where inList: throw Failure(reason: "a list inside a list at offset \(offset) (deeper than a verification set)")
            default: continue
            }
        }
    }

    private mutating func take(_ n: Int) throws -> [UInt8] {
        guard n >= 0, n <= bytes.count - at else {  // not `at + n`: n may be near Int.max
            throw Failure(reason: "truncated at offset \(at) (needs \(n) more bytes)")
        }
        defer { at += n }
        return Array(bytes[at..<(at + n)])
    }

    private mutating func little(_ n: Int) throws -> Int {
        let b = try take(n)
        var v = 0
        for i in 0..<n { v |= Int(b[i]) << (8 * i) }
        return v
    }

    private mutating func line() throws -> String {
        guard let end = bytes[at...].firstIndex(of: 0x0A) else {
            throw Failure(reason: "unterminated GLOBAL at offset \(at)")
        }
        defer { at = end + 1 }
        return String(decoding: bytes[at..<end], as: UTF8.self)
    }

    private mutating func pop(_ offset: Int) throws -> PickleValue {
        guard let v = stack.popLast() else { throw Failure(reason: "stack underflow at offset \(offset)") }
        return v
    }

    private mutating func popToMark(_ offset: Int) throws -> [PickleValue] {
        guard let m = stack.lastIndex(where: { if case .mark = $0 { return true } else { return false } }) else {
            throw Failure(reason: "no MARK before offset \(offset)")
        }
        let items = Array(stack[(m + 1)...])
        stack.removeSubrange(m...)
        return items
    }

    private func list(_ offset: Int) throws -> PickleValue.ListBox {
        guard case .list(let box) = stack.last else {
            throw Failure(reason: "append to a non-list at offset \(offset)")
        }
        return box
    }

    private mutating func put(_ key: Int) throws {
        guard let top = stack.last else { throw Failure(reason: "memo store on an empty stack at offset \(at)") }
        memo[key] = top
    }

    private mutating func get(_ key: Int, _ offset: Int) throws {
        guard let v = memo[key] else { throw Failure(reason: "memo key \(key) unknown at offset \(offset)") }
        stack.append(v)
    }
}
