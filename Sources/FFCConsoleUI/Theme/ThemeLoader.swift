// Finding theme files: a PATH, or NAME looked up as themes/NAME.theme relative to the working
// directory and to the executable's folder and its parents up to the package root.
import Foundation

/// A theme given on the command line: a name from themes/ or a path to a file.
public struct ThemeName: Sendable, Equatable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var value: String
    public init(_ value: String) { self.value = value }
    public init(stringLiteral value: String) { self.value = value }
    public var description: String { value }
    public static let `default` = ThemeName("default")
    var looksLikePath: Bool { value.contains("/") || value.hasSuffix(".theme") }
}

public enum ThemeLoader {
    static let fileExtension = "theme"

    /// themes/ folders to search, in order: under the working directory, then beside the executable
    /// and in each parent up to (and including) the first folder holding Package.swift.
    public static func searchDirectories(
        workingDirectory: String = FileManager.default.currentDirectoryPath,
        executablePath: String? = executablePath()
    ) -> [String] {
        var dirs = [(workingDirectory as NSString).appendingPathComponent("themes")]
        if let exe = executablePath {
            var dir = (exe as NSString).deletingLastPathComponent
            while !dir.isEmpty {
                dirs.append((dir as NSString).appendingPathComponent("themes"))
                let isPackageRoot = FileManager.default.fileExists(
                    atPath: (dir as NSString).appendingPathComponent("Package.swift"))
                let parent = (dir as NSString).deletingLastPathComponent
                if isPackageRoot || parent == dir { break }
                dir = parent
            }
        }
        var seen = Set<String>()
        return dirs.filter { seen.insert($0).inserted }
    }

    /// The running executable, resolved through /proc/self/exe when available.
    public static func executablePath() -> String? {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments.first
    }

    /// Loads a theme by name or path. "default" without a file falls back to the built-in default.
    public static func load(_ name: ThemeName, searching dirs: [String] = searchDirectories()) throws(ThemeError)
        -> Theme
    {
        let path: String
        if name.looksLikePath {
            path = name.value
        } else if let found = dirs.map({ "\($0)/\(name.value).\(fileExtension)" }).first(
            where: FileManager.default.fileExists)
        {
            path = found
        } else if name == .default {
            return .builtInDefault
        } else {
            throw .notFound(name: name.value, searched: dirs)
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(path: path) }
        let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        return try parse([UInt8](data), path: path, fallbackName: stem)
    }

    /// Parses a theme file's bytes (UTF-8 text, else `.unreadable`); `path` only labels errors.
    /// The fuzz harness calls this.
    public static func parse(_ bytes: [UInt8], path: String, fallbackName: String) throws(ThemeError) -> Theme {
        guard let text = String(data: Data(bytes), encoding: .utf8) else { throw .unreadable(path: path) }
        return try ThemeParser.parse(text, path: path, fallbackName: fallbackName)
    }

    /// Loads a theme, or the default with the error's text when it cannot be loaded.
    public static func loadOrDefault(_ name: ThemeName, searching dirs: [String] = searchDirectories()) -> (
        Theme, ThemeError?
    ) {
        do {
            return (try load(name, searching: dirs), nil)
        } catch {
            return (.builtInDefault, error)
        }
    }

    /// Names of the themes found in `dirs` (first folder wins), "default" first, for cycling with `t`.
    public static func available(searching dirs: [String] = searchDirectories()) -> [String] {
        var names = Set<String>()
        for dir in dirs {
            for file in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            where file.hasSuffix(".\(fileExtension)") {
                names.insert((file as NSString).deletingPathExtension)
            }
        }
        names.insert("default")
        return ["default"] + names.subtracting(["default"]).sorted()
    }
}
