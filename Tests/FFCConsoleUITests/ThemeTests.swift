// Theme files: every shipped theme parses, errors name file and line, lookup by name and path,
// and colour degradation to 256 / 16 colours.
import Foundation
import Testing

@testable import FFCConsoleUI

@Suite struct ThemeTests {
    @Test func everyShippedThemeParsesAndThereAreAtLeastFour() throws {
        let names = ThemeLoader.available(searching: [repositoryThemes])
        #expect(names.count >= 4)
        for name in names {
            let theme = try ThemeLoader.load(ThemeName(name), searching: [repositoryThemes])
            #expect(theme.name == name)
        }
    }

    @Test func builtInDefaultEqualsDefaultThemeFile() throws {
        #expect(try ThemeLoader.load("default", searching: [repositoryThemes]) == Theme.builtInDefault)
    }

    /// A theme saved with Windows line endings reads as the same theme ("\r\n" is one
    /// Character in Swift, so splitting on "\n" alone read such a file as one comment line).
    @Test func crlfThemeFilesReadLikeLFOnes() throws {
        let path = repositoryThemes + "/default.theme"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let crlf = text.replacingOccurrences(of: "\n", with: "\r\n")
        #expect(
            try ThemeParser.parse(crlf, path: path, fallbackName: "default")
                == ThemeParser.parse(text, path: path, fallbackName: "default"))
    }

    @Test func badColourNamesFileAndLine() {
        let text = "# comment\nname = x\n\ntext = #12345\n"
        #expect(
            throws: ThemeError.badLine(
                path: "t.theme", line: 4, text: "text = #12345",
                reason: "colour must be #rrggbb, got '#12345'")
        ) {
            try ThemeParser.parse(text, path: "t.theme", fallbackName: "t")
        }
    }

    /// Inputs of the kinds scripts/fuzz throws at ThemeLoader.parse: each is an error, not a crash
    /// or a silently accepted colour.
    @Test func malformedFilesAreRefused() {
        let nasty: [[UInt8]] = [
            [0xFF, 0xFE, 0x00],  // not UTF-8
            Array("text = #+12345\n".utf8),  // UInt32("+12345", radix: 16) parses
            Array("text = #-00000\n".utf8),
            Array("text = #１２３４５６\n".utf8),  // fullwidth digits are hex digits to Character
            Array("=\n".utf8), Array("name =\n".utf8), Array("\u{0} = #000000\n".utf8),
            Array(("text = #" + String(repeating: "f", count: 100_000) + "\n").utf8),
        ]
        for bytes in nasty {
            #expect(throws: ThemeError.self, "\(bytes.prefix(40))") {
                try ThemeLoader.parse(bytes, path: "fuzz.theme", fallbackName: "fuzz")
            }
        }
    }

    @Test func unknownKeyAndMissingEqualsAreErrors() {
        #expect(throws: ThemeError.badLine(path: "a", line: 1, text: "txet = #ffffff", reason: "unknown key 'txet'")) {
            try ThemeParser.parse("txet = #ffffff", path: "a", fallbackName: "a")
        }
        #expect(
            throws: ThemeError.badLine(path: "a", line: 2, text: "text #ffffff", reason: "expected 'key = #rrggbb'")
        ) {
            try ThemeParser.parse("\ntext #ffffff", path: "a", fallbackName: "a")
        }
    }

    @Test func brokenFileFallsBackToDefaultWithReadableError() throws {
        let dir = NSTemporaryDirectory() + "themes-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "background = #000000\naccent = blue\n".write(
            toFile: dir + "/broken.theme", atomically: true, encoding: .utf8)
        let (theme, error) = ThemeLoader.loadOrDefault("broken", searching: [dir])
        #expect(theme == .builtInDefault)
        #expect(
            error?.description
                == "theme file \(dir)/broken.theme line 2: colour must be #rrggbb, got 'blue': \"accent = blue\"")
        // The console shows the same text in its status line.
        let source = SimulatedSource(steps: 5)
        let controller = makeController(source, theme: "broken", themeDirectories: [dir])
        #expect(frame(controller, source, width: 200).line(23).contains("broken.theme line 2"))
    }

    @Test func pathsAndUnknownNames() throws {
        let nord = try ThemeLoader.load(ThemeName(repositoryThemes + "/nord.theme"))
        #expect(nord.colours["background"] == RGB(0x2e, 0x34, 0x40))
        #expect(throws: ThemeError.notFound(name: "nope", searched: ["/nonexistent"])) {
            try ThemeLoader.load("nope", searching: ["/nonexistent"])
        }
        #expect(try ThemeLoader.load("default", searching: ["/nonexistent"]) == .builtInDefault)
    }

    @Test func searchGoesFromExecutableUpToThePackageRoot() {
        let root = URL(fileURLWithPath: repositoryThemes).deletingLastPathComponent().path
        let dirs = ThemeLoader.searchDirectories(workingDirectory: "/tmp", executablePath: root + "/.build/debug/ffc")
        #expect(dirs.first == "/tmp/themes")
        #expect(dirs.last == repositoryThemes)
        #expect(dirs.contains(root + "/.build/debug/themes"))
    }

    @Test func coloursDegradeTo256And16() {
        #expect(ColourMapping.index256(RGB(255, 0, 0)) == 196)
        #expect(ColourMapping.index256(RGB(0x5f, 0x87, 0xaf)) == 67)
        #expect(ColourMapping.index256(RGB(0x1c, 0x1c, 0x1c)) == 234)
        #expect(ColourMapping.indexANSI(RGB(250, 10, 10)) == 9)
        #expect(ColourMapping.indexANSI(RGB(250, 10, 10), count: 8) == 1)
        #expect(ColourMapping.index(RGB(1, 2, 3), depth: .mono) == nil)
        #expect(ColourDepth.from(colours: 256, hasColours: true) == .palette256)
        #expect(ColourDepth.from(colours: 8, hasColours: true) == .ansi8)
        #expect(ColourDepth.from(colours: 256, hasColours: false) == .mono)
    }
}
