// Control: the JSON-lines metrics stream of a run (`metrics.jsonl`). One object per line:
// `{"type":"step", "step":…, "loss":…, …}` for logged steps, `{"type":"event", …}` for
// commands, checkpoints and warnings and `{"type":"validation", "set":…, …}` for each `.bin`
// set scored in training. The trainer appends; `ffc attach`, `ffc runs` and
// after-the-fact views rebuild history by reading it back.
import Foundation

/// One line of the stream.
public enum MetricsLine: Sendable, Equatable {
    case step(StepRecord)
    case event(EventRecord)
    case validation(ValidationRecord)
}

/// One validation set scored at one step: 10-fold accuracy without and with the flip test,
/// and the best flip accuracy of this set so far in the run.
public struct ValidationRecord: Sendable, Equatable, Codable {
    public var step: Int
    public var set: String
    public var pairs: Int
    public var accuracy: Double
    public var accuracyFlip: Double
    public var bestAccuracyFlip: Double
    public var bestStep: Int
    public init(
        step: Int, set: String, pairs: Int, accuracy: Double, accuracyFlip: Double, bestAccuracyFlip: Double,
        bestStep: Int
    ) {
        self.step = step
        self.set = set
        self.pairs = pairs
        self.accuracy = accuracy
        self.accuracyFlip = accuracyFlip
        self.bestAccuracyFlip = bestAccuracyFlip
        self.bestStep = bestStep
    }
}

extension MetricsLine: Codable {
    private enum TypeKey: String, CodingKey { case type }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: TypeKey.self)
        switch try c.decode(String.self, forKey: .type) {
        case "step": self = .step(try StepRecord(from: decoder))
        case "event": self = .event(try EventRecord(from: decoder))
        case "validation": self = .validation(try ValidationRecord(from: decoder))
        case let other:
            throw DecodingError.dataCorruptedError(
                forKey: .type, in: c, debugDescription: "unknown line type '\(other)'")
        }
    }

    public func encode(to encoder: Encoder) throws {
        switch self {
        case .step(let record): try record.encode(to: encoder)
        case .event(let record): try record.encode(to: encoder)
        case .validation(let record): try record.encode(to: encoder)
        }
        var c = encoder.container(keyedBy: TypeKey.self)
        switch self {
        case .step: try c.encode("step", forKey: .type)
        case .event: try c.encode("event", forKey: .type)
        case .validation: try c.encode("validation", forKey: .type)
        }
    }
}

/// Appends lines to `metrics.jsonl`. Each line is written with one `write` call on an
/// `O_APPEND` descriptor, so a reader never sees half a line except after a crash mid-write.
/// Opening a stream whose last line was torn that way ends it first, so the torn line is
/// skipped alone instead of swallowing the first line appended after it.
public final class MetricsStreamWriter {
    public let path: String
    private let fd: Int32
    private let encoder: JSONEncoder

    public init(path: String) throws {
        self.path = path
        // Read-write: the torn-line check reads the last byte.
        fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RunDirectoryError.cannotOpen(path: path, errno: errno) }
        var st = stat()
        var last: UInt8 = 0
        if fstat(fd, &st) == 0, st.st_size > 0, pread(fd, &last, 1, st.st_size - 1) == 1, last != UInt8(ascii: "\n") {
            var newline = UInt8(ascii: "\n")
            guard write(fd, &newline, 1) == 1 else {
                let e = errno
                close(fd)
                throw RunDirectoryError.cannotWrite(path: path, errno: e)
            }
        }
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    }

    deinit { close(fd) }

    public func append(_ line: MetricsLine) throws {
        var bytes = [UInt8](try encoder.encode(line))
        bytes.append(UInt8(ascii: "\n"))
        let ok = bytes.withUnsafeBytes { raw -> Bool in
            var done = 0
            while done < raw.count {
                let n = write(fd, raw.baseAddress! + done, raw.count - done)
                if n <= 0 { return false }
                done += n
            }
            return true
        }
        guard ok else { throw RunDirectoryError.cannotWrite(path: path, errno: errno) }
    }
}

/// Reads a stream back: every complete, well-formed line, in order. A torn last line (the
/// process was killed mid-write) and lines of unknown type are skipped and counted.
public struct MetricsStreamContents: Sendable {
    public var steps: [StepRecord] = []
    public var events: [EventRecord] = []
    public var validations: [ValidationRecord] = []
    public var skippedLines = 0

    public init() {}

    public static func read(path: String) throws -> MetricsStreamContents {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RunDirectoryError.cannotOpen(path: path, errno: ENOENT)
        }
        return parse(data)
    }

    public static func parse(_ data: Data) -> MetricsStreamContents {
        var out = MetricsStreamContents()
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            switch try? decoder.decode(MetricsLine.self, from: Data(line)) {
            case .step(let record): out.steps.append(record)
            case .event(let record): out.events.append(record)
            case .validation(let record): out.validations.append(record)
            case nil: out.skippedLines += 1
            }
        }
        return out
    }
}
