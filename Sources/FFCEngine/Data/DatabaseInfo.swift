// Data/DatabaseInfo: what `ffc data info` reports about a database set — counts, the
// images-per-identity distribution, and a decode check of a sample of records.
import Foundation

public struct DatabaseInfo: Sendable, Codable, Equatable {
    public struct Part: Sendable, Codable, Equatable {
        /// `lmdb` or `rec`.
        public var format: FaceDatabase.Part.Format
        public var path: String
        /// The kv file, or a RecordIO set's `.idx`.
        public var kv: String
        public var images: Int
        public var identities: Int
        public var labelOffset: Int
        /// Records skipped as corrupt while indexing a RecordIO set.
        public var skippedRecords: Int
    }
    /// One histogram bar: identities with `low…high` images.
    public struct Bucket: Sendable, Codable, Equatable {
        public var low: Int
        public var high: Int
        public var identities: Int
    }
    /// Label count (classes the head must know), including labels without images.
    public var identities: Int
    public var identitiesWithImages: Int
    public var images: Int
    public var imagesPerIdentityMin: Int
    public var imagesPerIdentityMedian: Double
    public var imagesPerIdentityMean: Double
    public var imagesPerIdentityMax: Int
    /// Buckets 1, 2, 3–4, 5–8, … (powers of two).
    public var histogram: [Bucket]
    public var sampleChecked: Int
    public var sampleFailed: Int
    /// Distinct `WxH` sizes seen in the sample, with counts.
    public var sampleSizes: [String: Int]
    /// First few decode failures: `key: reason`.
    public var sampleFailures: [String]
    public var parts: [Part]

    /// Counts everything and decodes `sample` records spread evenly over the set.
    /// - Complexity: O(identities + sample · decode).
    public init(database db: FaceDatabase, sample: Int = 64) throws {
        var counts = db.presentIdentities.map { db.images(ofIdentity: Int($0)).count }
        counts.sort()
        identities = db.identityCount
        identitiesWithImages = counts.count
        images = db.imageCount
        imagesPerIdentityMin = counts.first ?? 0
        imagesPerIdentityMax = counts.last ?? 0
        let mid = counts.count / 2
        imagesPerIdentityMedian =
            counts.count % 2 == 1 ? Double(counts[mid]) : Double(counts[mid - 1] + counts[mid]) / 2
        imagesPerIdentityMean = Double(db.imageCount) / Double(max(1, counts.count))
        var buckets: [Bucket] = []
        var low = 1
        var high = 1
        var i = 0
        while i < counts.count {
            var n = 0
            while i < counts.count && counts[i] <= high {
                n += 1
                i += 1
            }
            buckets.append(Bucket(low: low, high: high, identities: n))
            low = high + 1
            high *= 2
        }
        histogram = buckets
        parts = db.parts.map {
            Part(
                format: $0.format, path: $0.path, kv: $0.kvPath, images: $0.imageCount,
                identities: $0.identityCount, labelOffset: $0.labelOffset, skippedRecords: $0.skippedRecords)
        }

        let checked = min(sample, db.imageCount)
        var failed = 0
        var sizes: [String: Int] = [:]
        var failures: [String] = []
        let txn = try db.beginRead()
        var scratch: [UInt8] = []
        for s in 0..<checked {
            let index = s * db.imageCount / max(1, checked)
            do {
                guard let encoded = try txn.image(ofImage: index) else {
                    throw FaceImageError(reason: "key missing from its LMDB")
                }
                let (w, h) = try ImageCodec.decodeRGB(encoded, into: &scratch)
                sizes["\(w)x\(h)", default: 0] += 1
            } catch let error as LMDBError {
                throw error
            } catch {
                failed += 1
                if failures.count < 5 { failures.append("\(db.key(ofImage: index)): \(error)") }
            }
        }
        sampleChecked = checked
        sampleFailed = failed
        sampleSizes = sizes
        sampleFailures = failures
    }
}
