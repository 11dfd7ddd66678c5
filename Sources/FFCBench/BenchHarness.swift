// The harness every `ffc bench …` command shares: one median, one load probe, one CPU clock,
// one Python-reference runner, one table printer and one JSON-line printer. Resident memory
// comes from FFCEngine's `ResidentMemory` and durations from its `DurationFormat` (the engine
// needs both itself).
import Foundation

public enum Harness {
    /// The median: the middle value of an odd count, the mean of the two middle values of an
    /// even count; nan for no values.
    public static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// The element whose `key` is the median, for records that cannot be averaged (a run's whole
    /// result): of an even count, the upper of the two middle ones; nil for none.
    public static func medianElement<T>(_ elements: [T], by key: (T) -> Double) -> T? {
        guard !elements.isEmpty else { return nil }
        return elements.sorted { key($0) < key($1) }[elements.count / 2]
    }

    /// `value` with `digits` decimals, as the tables print numbers.
    public static func fixed(_ value: Double, _ digits: Int) -> String {
        String(format: "%.\(digits)f", value)
    }
}

/// The machine's load average, printed with every table: on a shared machine it says what the
/// numbers met.
public enum LoadProbe {
    /// The 1, 5 and 15 minute load averages as /proc/loadavg writes them ("1.92 3.33 2.34"),
    /// or "?" where it cannot be read.
    public static func read(path: String = "/proc/loadavg") -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)).flatMap(parse) ?? "?"
    }

    /// The first three fields of a /proc/loadavg line; nil when it has fewer than three numbers.
    public static func parse(_ text: String) -> String? {
        let fields = text.split(whereSeparator: \.isWhitespace).prefix(3)
        guard fields.count == 3, fields.allSatisfy({ Double($0) != nil }) else { return nil }
        return fields.joined(separator: " ")
    }
}

/// A reference script (tools/reference/*_bench.py) run as `/usr/bin/env python3 SCRIPT ARGS…`
/// with stderr discarded; each bench reads the JSON it prints on stdout.
public struct PythonReference: Sendable {
    public var python: String
    public var script: String

    public init(python: String = "python3", script: String) {
        self.python = python
        self.script = script
    }

    /// Whether the script file is there (python3 and its modules are found out by running it).
    public var scriptExists: Bool { FileManager.default.fileExists(atPath: script) }

    /// Exit status and stdout of the script; nil when it is missing or cannot start.
    public func run(_ arguments: [String]) -> (status: Int32, stdout: String)? {
        guard scriptExists else { return nil }
        return Self.execute(python, [script] + arguments)
    }

    /// The JSON object on the last line of a successful run; nil when it fails or prints none.
    public func lastObject(_ arguments: [String]) -> [String: Any]? {
        guard let result = run(arguments), result.status == 0 else { return nil }
        return Self.lastObject(in: result.stdout)
    }

    /// Every stdout line that decodes as `T`, whether or not the run finished (a reference that
    /// runs out of memory on the largest row still reports the others).
    public func rows<T: Decodable>(_ type: T.Type, _ arguments: [String]) -> [T] {
        guard let result = run(arguments) else { return [] }
        return Self.rows(type, in: result.stdout)
    }

    /// The JSON object on the last non-empty line of `text`.
    public static func lastObject(in text: String) -> [String: Any]? {
        guard let line = text.split(separator: "\n").last(where: { !$0.allSatisfy(\.isWhitespace) }) else {
            return nil
        }
        return (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
    }

    /// The lines of `text` that decode as `T`.
    public static func rows<T: Decodable>(_ type: T.Type, in text: String) -> [T] {
        let decoder = JSONDecoder()
        return text.split(separator: "\n").compactMap { try? decoder.decode(T.self, from: Data($0.utf8)) }
    }

    /// Exit status and stdout of `/usr/bin/env program arguments…`; nil when it cannot start.
    public static func execute(_ program: String, _ arguments: [String]) -> (status: Int32, stdout: String)? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [program] + arguments
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// A text table of fixed-width columns, as every bench prints one.
public struct TextTable: Sendable {
    public enum Alignment: Sendable { case left, right }

    public struct Column: Sendable {
        public var title: String
        /// Characters the cell is padded to; nil: the cell as it is (a trailing note).
        public var width: Int?
        public var alignment: Alignment

        public init(_ title: String, _ width: Int?, _ alignment: Alignment = .left) {
            self.title = title
            self.width = width
            self.alignment = alignment
        }
    }

    public var columns: [Column]
    /// Put between cells.
    public var separator: String
    /// Spaces a padded cell keeps on its padding side however long it is (0 or 1).
    public var minimumFill: Int
    /// Put before every line.
    public var indent: String

    public init(_ columns: [Column], separator: String = " ", minimumFill: Int = 0, indent: String = "") {
        self.columns = columns
        self.separator = separator
        self.minimumFill = minimumFill
        self.indent = indent
    }

    /// The column titles as a line.
    public var header: String { line(columns.map(\.title)) }

    /// `cells` padded to their columns (fewer cells than columns: the first ones; more: the
    /// rest as they are); cells are never cut.
    public func line(_ cells: [String]) -> String {
        indent
            + cells.enumerated().map { index, cell in
                guard index < columns.count, let width = columns[index].width else { return cell }
                let fill = String(repeating: " ", count: max(minimumFill, width - cell.count))
                return columns[index].alignment == .left ? cell + fill : fill + cell
            }.joined(separator: separator)
    }
}

/// `--json` output: one JSON object per row, on one line, keys sorted.
public enum JSONLine {
    /// `object` (JSONSerialization types; NSNull for null) as one line.
    public static func encode(_ object: [String: Any]) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// An encodable row as one line.
    public static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    public static func print(_ object: [String: Any]) throws { Swift.print(try encode(object)) }

    public static func print<T: Encodable>(_ value: T) throws { Swift.print(try encode(value)) }

    /// `value` rounded to `digits` decimals, for keys whose precision the tables fix.
    public static func rounded(_ value: Double, _ digits: Int) -> Double {
        Double(Harness.fixed(value, digits)) ?? value
    }
}
