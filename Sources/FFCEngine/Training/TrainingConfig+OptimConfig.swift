// Training: reading the original FFC's optimiser config file (`config/optim_config`), a JSON
// object of typed pairs — `{"LR": ["float", "0.1"], "milestones": ["int", [8, 14, 17]], …}` —
// where the type is one of str/int/bool/float/none and the value a string, number or list.
import Foundation

extension TrainingConfig {
    /// The keys the original's file holds, and what they set here.
    public static let optimConfigKeys = [
        "scheduler", "epochs", "warmup", "patience", "milestones", "gammas", "LR_min", "optim", "LR",
        "decay", "momentum", "nesterov",
    ]

    /// Applies an optimiser config file over `self`. Unknown keys, malformed pairs and values
    /// that do not convert are errors naming the file and the key.
    public mutating func applyOptimConfig(json: String, path: String) throws {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(json.utf8))
        } catch {
            throw TrainingConfigError.unreadable(path: path, reason: "not JSON: \(error.localizedDescription)")
        }
        guard let entries = object as? [String: Any] else {
            throw TrainingConfigError.unreadable(path: path, reason: "top level is not a JSON object")
        }
        for key in entries.keys.sorted() {
            let value = try OptimConfigValue(key: key, pair: entries[key]!, path: path)
            func bad(_ reason: String) -> TrainingConfigError { .badEntry(path: path, key: key, reason: reason) }
            switch key {
            case "scheduler":
                let name = try value.string()
                guard let s = Scheduler.allCases.first(where: { $0.rawValue.lowercased() == name.lowercased() }) else {
                    throw bad("scheduler '\(name)' is not one of \(Scheduler.allCases.map(\.rawValue))")
                }
                scheduler = s
            case "epochs": epochs = try value.int()
            case "warmup": warmup = try value.int()
            case "patience": patience = try value.int()
            case "milestones": milestones = try value.ints()
            case "gammas": gammas = try value.doubles()
            case "LR_min": lrMin = try value.double()
            case "LR": lr = try value.double()
            case "decay": weightDecay = try value.double()
            case "momentum": momentum = try value.double()
            case "nesterov": nesterov = try value.bool()
            case "optim":
                let name = try value.string()
                guard name.uppercased() == "SGD" else { throw bad("optimiser '\(name)' is not supported (SGD only)") }
            default:
                throw TrainingConfigError.unknownKey(path: path, key: key, known: Self.optimConfigKeys)
            }
        }
    }

    /// Reads `path` and applies it (see `applyOptimConfig(json:path:)`).
    public mutating func applyOptimConfig(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TrainingConfigError.unreadable(path: path, reason: "no such file or not readable")
        }
        try applyOptimConfig(json: String(decoding: data, as: UTF8.self), path: path)
    }
}

/// One `[type, value]` pair of the original's file, converted the way its loader converts
/// (`int("19")`, `bool(int("1"))`, lists element by element).
struct OptimConfigValue {
    let key: String
    let path: String
    let type: String
    let items: [Any]
    let isList: Bool

    init(key: String, pair: Any, path: String) throws {
        self.key = key
        self.path = path
        guard let array = pair as? [Any], array.count == 2, let type = array[0] as? String else {
            throw TrainingConfigError.badEntry(path: path, key: key, reason: "expected [\"type\", value], got \(pair)")
        }
        guard ["str", "int", "bool", "float", "none"].contains(type) else {
            throw TrainingConfigError.badEntry(
                path: path, key: key, reason: "type '\(type)' is not str/int/bool/float/none")
        }
        self.type = type
        if let list = array[1] as? [Any] {
            items = list
            isList = true
        } else {
            items = [array[1]]
            isList = false
        }
    }

    private func bad(_ reason: String) -> TrainingConfigError { .badEntry(path: path, key: key, reason: reason) }

    private func text(_ item: Any) -> String {
        if let s = item as? String { return s.trimmingCharacters(in: .whitespaces) }
        if let n = item as? NSNumber { return n.stringValue }
        return "\(item)"
    }

    private func scalar() throws -> Any {
        guard !isList else { throw bad("expected one value, got a list") }
        return items[0]
    }

    private func expect(_ wanted: String) throws {
        guard type == wanted else { throw bad("declared type '\(type)' where '\(wanted)' is needed") }
    }

    private func convertInt(_ item: Any) throws -> Int {
        guard let v = Int(text(item)) else { throw bad("'\(text(item))' is not an int") }
        return v
    }

    private func convertDouble(_ item: Any) throws -> Double {
        guard let v = Double(text(item)) else { throw bad("'\(text(item))' is not a float") }
        return v
    }

    func string() throws -> String {
        try expect("str")
        return text(try scalar())
    }
    func int() throws -> Int {
        try expect("int")
        return try convertInt(try scalar())
    }
    func double() throws -> Double {
        try expect("float")
        return try convertDouble(try scalar())
    }
    func bool() throws -> Bool {
        try expect("bool")
        let item = try scalar()
        if let b = item as? Bool { return b }
        return try convertInt(item) != 0
    }
    func ints() throws -> [Int] {
        try expect("int")
        return try items.map(convertInt)
    }
    func doubles() throws -> [Double] {
        try expect("float")
        return try items.map(convertDouble)
    }
}
