import Foundation
import Synchronization

/// A real `chatd` process on loopback, with its own data directory.
final class ChatdProcess: @unchecked Sendable {
    let id: Int
    let peers: [Int: Int]  // replica id → port
    /// Replica id → host address; loopback unless the replicas live in network namespaces.
    let hosts: [Int: String]
    /// Runs chatd inside this network namespace (`ip netns exec`), if set.
    let namespace: String?
    let dataDirectory: URL
    var extraArguments: [String]
    /// `https` for a replica started with `--tls-cert`.
    var scheme = "http"
    /// How the process names its cluster: `--peers` (a new cluster), `--join`, or nothing
    /// but its data directory (a restart after the first start).
    enum Entry: Sendable {
        case peers
        case join([String], learner: Bool)
        case dataDirectoryOnly
    }
    var entry: Entry = .peers
    private(set) var process: Process?
    let logURL: URL

    var port: Int { peers[id]! }
    var baseURL: String { "\(scheme)://\(hosts[id] ?? "127.0.0.1"):\(port)" }

    static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["CHATD_BIN"] { return URL(fileURLWithPath: path) }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/chatd")
    }

    init(
        id: Int = 1, peers: [Int: Int], hosts: [Int: String] = [:], namespace: String? = nil,
        dataDirectory: URL, extraArguments: [String] = []
    ) {
        self.id = id
        self.peers = peers
        self.hosts = hosts
        self.namespace = namespace
        self.dataDirectory = dataDirectory
        self.extraArguments = extraArguments
        logURL = dataDirectory.appendingPathExtension("log")
    }

    /// A lone replica on a free port with a fresh data directory.
    static func single(extraArguments: [String] = []) async throws -> ChatdProcess {
        let replica = ChatdProcess(
            peers: [1: try FreePort.next()], dataDirectory: TemporaryDirectory.make(), extraArguments: extraArguments)
        try await replica.start()
        try await replica.waitUntil(path: "/readyz")
        return replica
    }

    /// Starts the process and waits until it answers `/healthz` (unless `waitForHealth` is false:
    /// for a replica the test client cannot talk to).
    func start(waitForHealth: Bool = true) async throws {
        let process = Process()
        let peerList = peers.keys.sorted().map { "\($0)=\(scheme)://\(hosts[$0] ?? "127.0.0.1"):\(peers[$0]!)" }
            .joined(separator: ",")
        var launcher: [String] = []
        if let namespace {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            launcher = ["netns", "exec", namespace, Self.binary.path]
        } else {
            process.executableURL = Self.binary
        }
        let entryArguments: [String] = switch entry {
        case .peers: ["--id", String(id), "--peers", peerList]
        case .join(let urls, let learner):
            ["--id", String(id), "--join", urls.joined(separator: ","), "--listen", "\(hosts[id] ?? "127.0.0.1"):\(port)"]
                + (learner ? ["--learner"] : [])
        case .dataDirectoryOnly: []
        }
        process.arguments = launcher + entryArguments + [
            "--data-dir", dataDirectory.path,
            "--insecure-password-rounds", "1000", "--log-level", "warning", "--exit-with-parent",
            // Tests register users from many tests at once, with cheap hashes.
            "--password-check-queue", "100000",
        ] + extraArguments
        FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        log.seekToEndOfFile()
        process.standardError = log
        process.standardOutput = log
        try process.run()
        self.process = process
        if waitForHealth { try await waitUntil(path: "/healthz") }
    }

    /// Whether the replica's process is alive in the kernel's view. `Process.isRunning` alone
    /// stays true for good once a test reaps a child Foundation missed (see `exitStatus(of:)`).
    var isRunning: Bool {
        guard let process, process.isRunning else { return false }
        return !hasExited(process.processIdentifier)
    }

    /// Polls `path` until it answers 200.
    func waitUntil(path: String, timeout: Duration = .seconds(15)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let response = try? await TestClient.shared.get("\(baseURL)\(path)"), response.status == 200 { return }
            guard isRunning else { throw TestFailure("chatd \(id) exited: \(recentLog)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("chatd \(id) did not answer 200 on \(path): \(recentLog)")
    }

    /// Sends `signal` and waits for the process to exit.
    ///
    /// Not `waitUntilExit()`: Foundation on Linux sometimes misses or delays a child's exit when
    /// many children come and go, leaving `isRunning` true for a zombie (seen in full runs,
    /// where it added 3 s to a timed handover). The kernel's view of the process decides here;
    /// reaping is left to Foundation, since nothing reads this process's exit status.
    func stop(signal: Int32 = SIGTERM) {
        guard let process, process.isRunning else { return }
        let pid = process.processIdentifier
        kill(pid, signal)
        let start = ContinuousClock.now
        while process.isRunning && !hasExited(pid) && ContinuousClock.now - start < .seconds(15) {
            usleep(2_000)
        }
        self.process = nil
    }

    var recentLog: String {
        let text = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
        return String(text.suffix(2000))
    }

    deinit {
        if process != nil { stop(signal: SIGKILL) }
    }
}

/// The exit status of `process` once it has exited, or nil after `timeout`. If Foundation has
/// not noticed the exit after a grace period (see `ChatdProcess.stop`), the child is reaped
/// here, only then, so the two never race; `Process.terminationStatus` would trap after that.
func exitStatus(of process: Process, timeout: Duration) -> Int32? {
    let pid = process.processIdentifier
    let start = ContinuousClock.now
    while ContinuousClock.now - start < timeout {
        if !process.isRunning { return process.terminationStatus }
        var status: Int32 = 0
        if ContinuousClock.now - start > .seconds(3), waitpid(pid, &status, WNOHANG) == pid {
            // Like Foundation: the exit code, or the number of the signal that ended it.
            return status & 0x7f == 0 ? (status >> 8) & 0xff : status & 0x7f
        }
        usleep(2_000)
    }
    return nil
}

/// Whether the child `pid` has ended: the kernel shows it as a zombie (`Z`) until it is
/// reaped, and not at all after.
func hasExited(_ pid: pid_t) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let nameEnd = stat.lastIndex(of: ")")
    else { return true }
    // The state follows the command name, which is in parentheses and may hold spaces.
    let state = stat[stat.index(after: nameEnd)...].first { $0 != " " }
    return state == "Z" || state == "X"
}

/// The directories tests run replicas in, all under one folder of the system's temporary
/// directory. Nothing knows when the last test of a run is done with its directory, so each run
/// removes what runs long finished left there (about 160 MB a run).
enum TemporaryDirectory {
    static let root = FileManager.default.temporaryDirectory.appendingPathComponent("chat-tests")
    /// Older than any test run: a directory unchanged for this long belongs to no running test.
    static let abandonedAfter: TimeInterval = 6 * 3600

    private static let sweptRoot: URL = {
        removeAbandoned(in: root, olderThan: Date().addingTimeInterval(-abandonedAfter))
        return root
    }()

    static func make() -> URL {
        let url = sweptRoot.appendingPathComponent(UUID().uuidString)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Removes what in `directory` was last changed before `date`.
    static func removeAbandoned(in directory: URL, olderThan date: Date) {
        let manager = FileManager.default
        let children = (try? manager.contentsOfDirectory(at: directory, includingPropertiesForKeys: [.contentModificationDateKey])) ?? []
        for child in children {
            let changed = (try? child.resourceValues(forKeys: [.contentModificationDateKey]))?.contentModificationDate
            if let changed, changed < date { try? manager.removeItem(at: child) }
        }
    }
}

/// Asks the kernel for a port nobody is listening on.
enum FreePort {
    /// Every port handed out in this run. The kernel may hand a closed ephemeral port out again
    /// at once; two replicas given one port would share an address (seen in a fresh-clone run:
    /// "replicas 1 and 5 have one URL in --peers").
    private static let handedOut = Mutex<Set<Int>>([])

    static func next() throws -> Int {
        for _ in 0..<1_000 {
            let port = try unboundPort()
            if handedOut.withLock({ $0.insert(port).inserted }) { return port }
        }
        throw TestFailure("every free port the kernel offered was handed out before")
    }

    private static func unboundPort() throws -> Int {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw TestFailure("socket() failed") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(socket, pointer, length) == 0 && getsockname(socket, pointer, &length) == 0
            }
        }
        guard bound else { throw TestFailure("bind() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
