import Foundation
import Synchronization

/// Several `chatd` replicas on loopback forming one cluster.
final class TestCluster: @unchecked Sendable {
    /// Replicas started with the cluster, then any that joined it (`addJoiner`).
    var replicas: [ChatdProcess] { members.withLock { $0 } }
    private let members: Mutex<[ChatdProcess]>
    private let root: URL
    private let secretArguments: [String]
    private let extraArguments: [String]
    private let tls: Bool
    static let secret = "test-cluster-secret"

    /// Timing for tests: elections in 300–600 ms, so failover is quick but a busy machine
    /// does not trigger needless elections.
    static let fastTiming = ["--tick-ms", "30", "--election-ticks", "10"]

    /// `secretArguments` tell each replica the cluster secret (`--cluster-secret` by default).
    /// `host` names every replica in `--peers` (loopback by default).
    /// With `tls`, every replica serves HTTPS and calls its peers with mutual TLS, each with
    /// its own certificate from `TestCertificates.main`.
    init(
        size: Int, extraArguments: [String] = [], secretArguments: [String] = ["--cluster-secret", secret],
        host: String? = nil, tls: Bool = false
    ) throws {
        var ports: [Int: Int] = [:]
        for id in 1...size { ports[id] = try FreePort.next() }
        let root = TemporaryDirectory.make()
        self.root = root
        self.secretArguments = secretArguments
        self.extraArguments = extraArguments
        self.tls = tls
        let hosts = host.map { host in Dictionary(uniqueKeysWithValues: (1...size).map { ($0, host) }) } ?? [:]
        members = Mutex([])
        members.withLock { members in
            members = (1...size).map { id in
                makeReplica(id: id, peers: ports, hosts: hosts, dataDirectory: root.appendingPathComponent("\(id)"))
            }
        }
    }

    /// A replica of this cluster: its secret, fast timing, extra arguments and, with TLS, its
    /// own certificate.
    private func makeReplica(id: Int, peers: [Int: Int], hosts: [Int: String] = [:], dataDirectory: URL) -> ChatdProcess {
        let replica = ChatdProcess(
            id: id, peers: peers, hosts: hosts, dataDirectory: dataDirectory,
            extraArguments: secretArguments + Self.fastTiming + extraArguments
                + (tls ? TestCertificates.main.mutualTLSArguments(for: id) : []))
        if tls { replica.scheme = "https" }
        return replica
    }

    /// A new replica `id` on a free port that joins through the running replicas (`--join`);
    /// not started.
    func addJoiner(id: Int, learner: Bool = false) throws -> ChatdProcess {
        let replica = makeReplica(
            id: id, peers: [id: try FreePort.next()],
            dataDirectory: root.appendingPathComponent("\(id)-\(UUID().uuidString.prefix(8))"))
        replica.entry = .join(running.map(\.baseURL), learner: learner)
        members.withLock { $0.append(replica) }
        return replica
    }

    static func started(size: Int, extraArguments: [String] = [], tls: Bool = false) async throws -> TestCluster {
        let cluster = try TestCluster(size: size, extraArguments: extraArguments, tls: tls)
        try await cluster.startAll()
        _ = try await cluster.waitForLeader()
        return cluster
    }

    func startAll() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for replica in replicas { group.addTask { try await replica.start() } }
            try await group.waitForAll()
        }
    }

    func replica(_ id: Int) -> ChatdProcess { replicas.last { $0.id == id }! }

    var running: [ChatdProcess] { replicas.filter(\.isRunning) }

    /// Waits until a running replica is leader and every running replica names it.
    func waitForLeader(timeout: Duration = .seconds(10)) async throws -> ChatdProcess {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var leaders: Set<Int> = []
            var agreed = true
            for replica in running {
                let view = try? await TestClient.shared.get("\(replica.baseURL)/v1/cluster").json
                guard let leader = (view?["leader"] as? [String: Any])?["id"] as? Int else {
                    agreed = false
                    break
                }
                leaders.insert(leader)
            }
            if agreed, leaders.count == 1, let id = leaders.first, replica(id).isRunning,
               (try? await TestClient.shared.get("\(replica(id).baseURL)/readyz"))?.status == 200 {
                return replica(id)
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw TestFailure("no leader agreed on within \(timeout): \(running.map { "\($0.id): \($0.recentLog.suffix(300))" })")
    }

    func followers(of leader: ChatdProcess) -> [ChatdProcess] { running.filter { $0.id != leader.id } }

    func stopAll(signal: Int32 = SIGTERM) {
        for replica in replicas { replica.stop(signal: signal) }
    }

    /// Wakes every replica a test paused (SIGSTOP), then stops them all.
    func resumeAndStopAll() {
        for replica in replicas { if let pid = replica.process?.processIdentifier { kill(pid, SIGCONT) } }
        stopAll()
    }
}

extension ChatdProcess {
    var clusterView: [String: Any] {
        get async throws { try await TestClient.shared.get("\(baseURL)/v1/cluster").json }
    }

    var appliedIndex: Int {
        get async throws { try await clusterView["applied_index"] as? Int ?? -1 }
    }

    /// The headers a fellow replica sends on internal calls: the secret and the cluster's id.
    var peerHeaders: [(String, String)] {
        get async throws {
            [("X-Chat-Cluster-Secret", TestCluster.secret), ("X-Chat-Cluster-Id", try await clusterView["cluster_id"] as? String ?? "")]
        }
    }
}

extension ChatUser {
    /// The same user talking to another replica.
    func at(_ replica: ChatdProcess) -> ChatUser {
        ChatUser(baseURL: replica.baseURL, username: username, token: token)
    }
}
