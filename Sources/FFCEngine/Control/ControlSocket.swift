// Control: the POSIX side of the run's control socket — a Unix-domain stream socket carrying
// newline-delimited JSON that only its owner may use: the socket file is mode 0600, its
// directory must be the owner's and writable by nobody else (or others could replace the
// socket), and the server checks each peer's uid (SO_PEERCRED) as well. This is the one file
// here that calls socket APIs; `ControlServer` and `RemoteSource` see descriptors and lines.
import Foundation

public enum ControlSocketError: Error, CustomStringConvertible, Equatable {
    case pathTooLong(path: String, limit: Int)
    case alreadyServed(path: String)
    case system(call: String, path: String, errno: Int32)
    case closed(path: String)
    case timeout(path: String, seconds: Double)
    case protocolError(path: String, reason: String)
    case unsafeDirectory(path: String, mode: UInt32, owner: UInt32)

    public var description: String {
        switch self {
        case .pathTooLong(let path, let limit):
            return "\(path): socket path is \(path.utf8.count) bytes, the limit is \(limit); use a shorter --run-dir"
        case .alreadyServed(let path): return "\(path): another trainer is already serving this run"
        case .system(let call, let path, let e): return "\(path): \(call) failed: \(String(cString: strerror(e)))"
        case .closed(let path): return "\(path): connection closed"
        case .timeout(let path, let seconds): return "\(path): no reply within \(seconds) s"
        case .protocolError(let path, let reason): return "\(path): protocol error: \(reason)"
        case .unsafeDirectory(let path, let mode, let owner):
            let whose = owner == geteuid() ? "yours" : "owned by uid \(owner), not by you (uid \(geteuid()))"
            return "\(path): the control socket's directory is \(whose), mode \(String(mode, radix: 8)): "
                + "it must be yours and writable by you only, or others could replace the socket "
                + "(chown, then chmod go-w \(path))"
        }
    }
}

enum ControlSocket {
    /// Longest path `sockaddr_un.sun_path` holds, without its terminating zero.
    static let pathLimit = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    private static func address(_ path: String) throws -> sockaddr_un {
        let bytes = Array(path.utf8)
        guard bytes.count <= pathLimit else { throw ControlSocketError.pathTooLong(path: path, limit: pathLimit) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            raw[bytes.count] = 0
        }
        return addr
    }

    private static func newSocket(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlSocketError.system(call: "socket", path: path, errno: errno) }
        return fd
    }

    /// Binds and listens at `path` with mode 0600, in a directory only we may write. A stale
    /// socket file (nobody answers) is replaced; a live one is an error.
    static func listen(path: String) throws -> Int32 {
        var addr = try address(path)
        let parent = (path as NSString).deletingLastPathComponent
        let dir = parent.isEmpty ? "." : parent
        var st = stat()
        guard stat(dir, &st) == 0 else { throw ControlSocketError.system(call: "stat", path: dir, errno: errno) }
        guard st.st_uid == geteuid(), st.st_mode & 0o022 == 0 else {
            throw ControlSocketError.unsafeDirectory(path: dir, mode: st.st_mode & 0o7777, owner: st.st_uid)
        }
        if FileManager.default.fileExists(atPath: path) {
            if answers(path: path) { throw ControlSocketError.alreadyServed(path: path) }
            unlink(path)
        }
        let fd = try newSocket(path)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else {
            let e = errno
            close(fd)
            throw ControlSocketError.system(call: "bind", path: path, errno: e)
        }
        // Nobody can connect before listen(), so tightening the mode here leaves no window.
        guard chmod(path, 0o600) == 0, Glibc.listen(fd, 16) == 0 else {
            let e = errno
            close(fd)
            unlink(path)
            throw ControlSocketError.system(call: "chmod/listen", path: path, errno: e)
        }
        return fd
    }

    static func connect(path: String) throws -> Int32 {
        var addr = try address(path)
        let fd = try newSocket(path)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw ControlSocketError.system(call: "connect", path: path, errno: e)
        }
        return fd
    }

    /// The next connection on a listening descriptor (close-on-exec), or -1 with errno set.
    static func accept(_ listenFD: Int32) -> Int32 {
        let fd = Glibc.accept(listenFD, nil, nil)
        if fd >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return fd
    }

    /// The connected peer's pid and user (SO_PEERCRED: as the kernel saw them at connect).
    static func peer(_ fd: Int32) -> (pid: Int32, uid: UInt32)? {
        // Linux's `struct ucred` (pid_t, uid_t, gid_t); Glibc's module leaves it out without _GNU_SOURCE.
        struct PeerCredentials {
            var pid: Int32 = 0
            var uid: UInt32 = 0
            var gid: UInt32 = 0
        }
        var cred = PeerCredentials()
        var length = socklen_t(MemoryLayout<PeerCredentials>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) == 0 else { return nil }
        return (cred.pid, cred.uid)
    }

    /// Whether a process accepts connections at `path` now.
    static func answers(path: String) -> Bool {
        guard let fd = try? connect(path: path) else { return false }
        close(fd)
        return true
    }

    /// Writes all of `bytes`; false when the peer is gone. Never raises SIGPIPE.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = send(fd, raw.baseAddress! + done, raw.count - done, Int32(MSG_NOSIGNAL))
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                done += n
            }
            return true
        }
    }

    /// What one non-blocking send did.
    enum SendResult: Equatable {
        case sent(Int)
        /// The peer's receive buffer is full: try again later.
        case wouldBlock
        case closed
    }

    /// Sends what the socket takes now without waiting for the peer to read. Never raises SIGPIPE.
    static func sendWithoutWaiting(_ fd: Int32, _ bytes: ArraySlice<UInt8>) -> SendResult {
        bytes.withUnsafeBytes { raw in
            while true {
                let n = send(fd, raw.baseAddress!, raw.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
                if n > 0 { return .sent(n) }
                if n < 0 && errno == EINTR { continue }
                if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return .wouldBlock }
                return .closed
            }
        }
    }
}

/// Splits what arrives on a socket into lines. Blocking; one reader per descriptor.
final class LineReader {
    /// What the next read yields.
    enum Frame: Equatable {
        /// One line without its newline.
        case line([UInt8])
        /// A line grew past `maxLineBytes`: it is skipped up to its newline, unbuffered.
        case oversized(limit: Int)
        /// The stream ended in the middle of a line of `bytes` bytes.
        case truncated(bytes: Int)
    }

    private let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private var discarding = false
    let maxLineBytes: Int

    init(fd: Int32, maxLineBytes: Int = 32 << 20) {
        self.fd = fd
        self.maxLineBytes = maxLineBytes
    }

    /// The next frame, or nil at the end of the stream (or on an error) with nothing pending.
    func next() -> Frame? {
        while true {
            if let nl = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffer[start..<nl])
                start = nl + 1
                if start > 1 << 16 {
                    buffer.removeFirst(start)
                    start = 0
                }
                if discarding {
                    discarding = false
                    continue
                }
                return .line(line)
            }
            if discarding || buffer.count - start > maxLineBytes {
                buffer.removeAll(keepingCapacity: true)
                start = 0
                if !discarding {
                    discarding = true
                    return .oversized(limit: maxLineBytes)
                }
            }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                let pending = buffer.count - start
                buffer.removeAll()
                start = 0
                return pending > 0 && !discarding ? .truncated(bytes: pending) : nil
            }
            buffer.append(contentsOf: chunk[0..<n])
        }
    }
}
