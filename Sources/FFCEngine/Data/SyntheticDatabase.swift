// Data/SyntheticDatabase: `ffc synth` — writes SyntheticFaces identities as an FFC-format
// database (Caffe-style Datum JPEG records + NAME_kv.txt), plus held-out identities in
// NAME_holdout.lmdb (+ NAME_holdout_kv.txt) and a verification pairs file NAME_pairs.txt.
//
// Pairs file format: one `keyA keyB same` line per pair, keys of NAME_holdout.lmdb, same = 1
// for two different images of one identity and 0 for two identities; half of each, shuffled.
//
// Streams in chunks: memory stays flat whatever the identity count; W workers render and
// encode a chunk while the calling thread owns the LMDB write transaction.
import Foundation

/// Images per synthetic identity.
public enum ImagesPerIdentity: Sendable, Equatable {
    case fixed(Int)
    /// Long-tailed counts in 1…max (see `SyntheticFaces.longTailCount`).
    case longTail(max: Int)

    func count(identity: Int, seed: UInt64, atLeast minimum: Int = 1) -> Int {
        switch self {
        case .fixed(let k): return max(k, minimum)
        case .longTail(let m):
            return max(SyntheticFaces.longTailCount(identity: identity, seed: seed, maxImages: m), minimum)
        }
    }
}

public struct SynthOptions: Sendable {
    public var identities: Int
    public var images: ImagesPerIdentity
    public var size: Int
    public var seed: UInt64
    /// `NAME.lmdb`.
    public var out: String
    /// Identities N..<N+holdout go to NAME_holdout.lmdb, with at least 2 images each.
    public var holdout: Int
    public var pairs: Int
    public var workers: Int
    public var jpegQuality: Int

    public init(
        identities: Int, images: ImagesPerIdentity, size: Int = 112, seed: UInt64 = 0, out: String,
        holdout: Int = 0, pairs: Int = 0, workers: Int = 2, jpegQuality: Int = 90
    ) {
        self.identities = identities
        self.images = images
        self.size = size
        self.seed = seed
        self.out = out
        self.holdout = holdout
        self.pairs = pairs
        self.workers = workers
        self.jpegQuality = jpegQuality
    }

    /// NAME without `.lmdb`.
    public var baseName: String {
        var base = out
        while base.hasSuffix("/") { base.removeLast() }
        if base.hasSuffix(".lmdb") { base.removeLast(5) }
        return base
    }
    public var holdoutPath: String { baseName + "_holdout.lmdb" }
    public var pairsPath: String { baseName + "_pairs.txt" }
}

public struct SynthSummary: Sendable {
    public var images = 0
    public var holdoutImages = 0
    public var pairs = 0
    public var bytes = 0
    public var seconds = 0.0
    public var imagesPerSecond: Double { Double(images + holdoutImages) / max(seconds, 1e-9) }
}

/// A failure writing a text file next to the database.
public struct SynthFileError: Error, CustomStringConvertible {
    public var path: String
    public var description: String { "cannot write \(path)" }
}

public enum SyntheticDatabase {
    static let keyDigits = 10
    static let chunkImages = 256

    /// The key of image `index` of a synthetic database (zero-padded, so key order = write order).
    public static func key(_ index: Int) -> String {
        let digits = String(index)
        return String(repeating: "0", count: max(0, keyDigits - digits.count)) + digits
    }

    /// Writes the databases; `progress(done, total)` is called after each chunk (total is an
    /// estimate for long-tailed sets).
    public static func write(_ options: SynthOptions, progress: (Int, Int) -> Void = { _, _ in }) throws -> SynthSummary
    {
        let start = Date()
        var summary = SynthSummary()
        let expected = expectedImages(options)
        let (trainImages, trainBytes) = try writeOne(
            path: options.out, identities: 0..<options.identities, options: options, minimumImages: 1
        ) { progress($0, expected) }
        summary.images = trainImages
        summary.bytes = trainBytes
        if options.holdout > 0 {
            let holdoutIdentities = options.identities..<(options.identities + options.holdout)
            let (n, bytes) = try writeOne(
                path: options.holdoutPath, identities: holdoutIdentities, options: options, minimumImages: 2
            ) { progress(trainImages + $0, expected) }
            summary.holdoutImages = n
            summary.bytes += bytes
            summary.pairs = try writePairs(options: options, identities: holdoutIdentities)
        }
        summary.seconds = Date().timeIntervalSince(start)
        return summary
    }

    static func expectedImages(_ options: SynthOptions) -> Int {
        switch options.images {
        case .fixed(let k): return (options.identities + options.holdout) * k
        case .longTail(let m): return (options.identities + options.holdout) * max(1, min(m, 6))
        }
    }

    private static func writeOne(
        path: String, identities: Range<Int>, options: SynthOptions, minimumImages: Int,
        progress: (Int) -> Void
    ) throws -> (images: Int, bytes: Int) {
        try? FileManager.default.removeItem(atPath: path)
        let writer = try LMDBWriter(path: path, recordsPerCommit: chunkImages)
        let kvPath = FaceDatabase.defaultKVPath(for: path)
        guard FileManager.default.createFile(atPath: kvPath, contents: nil),
            let kv = FileHandle(forWritingAtPath: kvPath)
        else { throw SynthFileError(path: kvPath) }
        defer { try? kv.close() }
        var written = 0
        var bytes = 0
        var chunk: [(identity: Int, variant: Int)] = []
        chunk.reserveCapacity(chunkImages)

        func flush() throws {
            let records = render(chunk, options: options)
            var lines = ""
            for (k, item) in chunk.enumerated() {
                let label = item.identity - identities.lowerBound
                let key = key(written + k)
                let record = try records[k].get()
                try writer.put(key: key, value: record)
                bytes += record.count
                lines += "\(key) \(label)\n"
            }
            try writer.commit()  // the write transaction never outlives this call's thread
            try kv.write(contentsOf: Data(lines.utf8))
            written += chunk.count
            chunk.removeAll(keepingCapacity: true)
            progress(written)
        }

        for identity in identities {
            let count = options.images.count(identity: identity, seed: options.seed, atLeast: minimumImages)
            for variant in 0..<count {
                chunk.append((identity, variant))
                if chunk.count == chunkImages { try flush() }
            }
        }
        if !chunk.isEmpty { try flush() }
        try writer.close()
        return (written, bytes)
    }

    /// Renders and encodes a chunk on `options.workers` threads, slots interleaved.
    private static func render(_ chunk: [(identity: Int, variant: Int)], options: SynthOptions)
        -> [Result<[UInt8], ImageCodecError>]
    {
        let results = ResultSlots(count: chunk.count)
        let workers = max(1, options.workers)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            for k in stride(from: w, to: chunk.count, by: workers) {
                let item = chunk[k]
                let rgb = SyntheticFaces.render(
                    identity: item.identity, variant: item.variant, size: options.size, seed: options.seed)
                let label = item.identity
                results.set(
                    k,
                    Result { () throws(ImageCodecError) -> [UInt8] in
                        let jpeg = try ImageCodec.encodeJPEG(
                            rgb, width: options.size, height: options.size, quality: options.jpegQuality)
                        return Datum.encode(
                            image: jpeg, channels: 3, height: options.size, width: options.size, label: label)
                    })
            }
        }
        return results.values
    }

    private static func writePairs(options: SynthOptions, identities: Range<Int>) throws -> Int {
        guard options.pairs > 0 else { return 0 }
        // Image index ranges per held-out identity, in write order.
        var firstImage: [Int] = []
        var counts: [Int] = []
        var next = 0
        for identity in identities {
            let n = options.images.count(identity: identity, seed: options.seed, atLeast: 2)
            firstImage.append(next)
            counts.append(n)
            next += n
        }
        var rng = SeededRandom(seed: options.seed, 13)
        var lines: [String] = []
        let m = identities.count
        for p in 0..<options.pairs {
            if p % 2 == 0 {
                let y = Int(rng.next() % UInt64(m))
                let a = Int(rng.next() % UInt64(counts[y]))
                let b = (a + 1 + Int(rng.next() % UInt64(counts[y] - 1))) % counts[y]
                lines.append("\(key(firstImage[y] + a)) \(key(firstImage[y] + b)) 1")
            } else if m > 1 {
                let y = Int(rng.next() % UInt64(m))
                let z = (y + 1 + Int(rng.next() % UInt64(m - 1))) % m
                let a = Int(rng.next() % UInt64(counts[y]))
                let b = Int(rng.next() % UInt64(counts[z]))
                lines.append("\(key(firstImage[y] + a)) \(key(firstImage[z] + b)) 0")
            }
        }
        lines.shuffle(using: &rng)
        let text = lines.joined(separator: "\n") + "\n"
        guard FileManager.default.createFile(atPath: options.pairsPath, contents: Data(text.utf8)) else {
            throw SynthFileError(path: options.pairsPath)
        }
        return lines.count
    }
}

/// Fixed slots that worker threads fill at distinct indices.
private final class ResultSlots: @unchecked Sendable {
    // @unchecked: each index is written by exactly one worker, and read after all have joined.
    private let storage: UnsafeMutableBufferPointer<Result<[UInt8], ImageCodecError>>

    init(count: Int) {
        storage = .allocate(capacity: count)
        storage.initialize(repeating: .success([]))
    }

    deinit {
        storage.deinitialize()
        storage.deallocate()
    }

    func set(_ i: Int, _ value: Result<[UInt8], ImageCodecError>) { storage[i] = value }
    var values: [Result<[UInt8], ImageCodecError>] { Array(storage) }
}
