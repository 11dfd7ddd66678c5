// The detached trainer: `ffc train` on a terminal re-runs itself headless in a new session
// (no controlling terminal, so a closed SSH connection sends it no SIGHUP), with stdin on
// /dev/null and stdout/stderr appended to the run's output.log.
import ArgumentParser
import FFCEngine
import Foundation

enum DetachedProcess {
    /// glibc's POSIX_SPAWN_SETSID (a GNU extension the Swift importer does not expose).
    private static let spawnSetSID: Int16 = 0x80

    static func spawn(arguments: [String], output: String) throws -> pid_t {
        let executable =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, spawnSetSID)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard rc == 0 else {
            throw ValidationError("cannot start the trainer (\(executable)): \(String(cString: strerror(rc)))")
        }
        return pid
    }

    /// Waits until the trainer's socket answers; if the trainer exits first, shows the end
    /// of its output and fails.
    static func waitForSocket(run: RunDirectory, pid: pid_t, timeoutSeconds: Double = 300) throws {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while Date() < deadline {
            if run.isLive { return }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                let text = (try? String(contentsOfFile: run.outputPath, encoding: .utf8)) ?? ""
                let tail = text.split(separator: "\n", omittingEmptySubsequences: false).suffix(15).joined(
                    separator: "\n")
                FileHandle.standardError.write(Data("the trainer exited before it was ready:\n\(tail)\n".utf8))
                throw ExitCode.failure
            }
            usleep(50_000)
        }
        throw ValidationError(
            "the trainer did not open \(run.socketPath) within \(Int(timeoutSeconds)) s; see \(run.outputPath)")
    }
}
