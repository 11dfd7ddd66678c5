import Foundation

@testable import FFCEngine

/// What the fault and control-socket tests need from the system: the built `ffc` as a child
/// process (it can be SIGKILLed, or run as another user), a throwaway Unix user, a small tmpfs.
/// Each thing a test creates it also removes; a test that cannot have it (not root, mounting
/// not permitted) is skipped with that reason.
enum ChildProcess {
    /// The `ffc` built beside this test binary: `swift build --build-tests` builds both.
    static let ffc: String = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        .deletingLastPathComponent().appendingPathComponent("ffc").path

    struct Outcome {
        var status: Int32
        /// The signal that ended the child, if one did.
        var signal: Int32?
        var output: String
        var timedOut: Bool
    }

    /// Runs `executable` to its end (or kills it after `timeoutSeconds`); stdout and stderr together.
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], timeoutSeconds: Double
    ) throws -> Outcome {
        let outputPath = NSTemporaryDirectory() + "ffc-child-\(UUID().uuidString).log"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        defer { unlink(outputPath) }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        var timedOut = false
        while process.isRunning {
            if Date() > deadline {
                timedOut = true
                kill(process.processIdentifier, SIGKILL)
            }
            usleep(10_000)
        }
        try output.close()
        let text = String(decoding: FileManager.default.contents(atPath: outputPath) ?? Data(), as: UTF8.self)
        let bySignal = process.terminationReason == .uncaughtSignal
        return Outcome(
            status: process.terminationStatus, signal: bySignal ? process.terminationStatus : nil, output: text,
            timedOut: timedOut)
    }
}

/// A Unix user made for one test and deleted after it (`useradd` / `userdel`; needs root).
struct ThrowawayUser {
    let name: String
    let uid: UInt32

    static let unavailableReason: String? = {
        if geteuid() != 0 { return "creating a second Unix user needs root" }
        for tool in ["/usr/sbin/useradd", "/usr/sbin/userdel", "/usr/sbin/runuser"]
        where !FileManager.default.isExecutableFile(atPath: tool) {
            return "\(tool) is missing"
        }
        return nil
    }()

    static func create() throws -> ThrowawayUser {
        let name = "ffcprobe" + UUID().uuidString.prefix(8).lowercased()
        let made = try ChildProcess.run(
            "/usr/sbin/useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            timeoutSeconds: 30)
        guard made.status == 0, let entry = getpwnam(name) else {
            throw SystemFixtureError.failed("useradd \(name): \(made.output)")
        }
        return ThrowawayUser(name: name, uid: entry.pointee.pw_uid)
    }

    /// Runs `executable` as this user (runuser: no password, no login shell).
    func run(_ executable: String, _ arguments: [String], timeoutSeconds: Double) throws -> ChildProcess.Outcome {
        try ChildProcess.run(
            "/usr/sbin/runuser", ["-u", name, "--", executable] + arguments, timeoutSeconds: timeoutSeconds)
    }

    func delete() {
        _ = try? ChildProcess.run("/usr/sbin/userdel", [name], timeoutSeconds: 30)
    }
}

/// A tmpfs of a fixed size mounted on a directory for one test (needs CAP_SYS_ADMIN).
struct TmpfsMount {
    let path: String

    /// Nil when this process may mount a tmpfs; otherwise why not (found by trying once).
    static let unavailableReason: String? = {
        let probe = NSTemporaryDirectory() + "ffc-mount-probe-\(getpid())"
        try? FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: true)
        defer { rmdir(probe) }
        guard let mount = try? TmpfsMount(at: probe, bytes: 1 << 16) else {
            return "mounting a tmpfs is not permitted here (needs root with CAP_SYS_ADMIN)"
        }
        mount.unmount()
        return nil
    }()

    init(at path: String, bytes: Int) throws {
        let result = try ChildProcess.run(
            "/usr/bin/mount", ["-t", "tmpfs", "-o", "size=\(bytes),mode=0755", "tmpfs", path], timeoutSeconds: 30)
        guard result.status == 0 else { throw SystemFixtureError.failed("mount tmpfs on \(path): \(result.output)") }
        self.path = path
    }

    func unmount() {
        _ = try? ChildProcess.run("/usr/bin/umount", [path], timeoutSeconds: 30)
    }
}

enum SystemFixtureError: Error, CustomStringConvertible {
    case failed(String)
    var description: String {
        switch self {
        case .failed(let what): return what
        }
    }
}
