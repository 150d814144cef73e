import Foundation
import Testing

extension ClusterTests {
    /// Replicas on hosts of their own: each in a network namespace with its own address on a
    /// private bridge, so one can be cut off the network the way a real partition does.
    @Suite(.serialized) struct SeparateHosts {
        @Test(.enabled(if: NamespaceNetwork.canCreate, "skipped: network namespaces cannot be created here (needs root and iproute2)"))
        func aPartitionedLeaderStepsDownAndTheMajorityCarriesOn() async throws {
            let network = try NamespaceNetwork(hosts: 3)
            defer { network.tearDown() }
            let replicas = (1...3).map { id in
                ChatdProcess(
                    id: id, peers: Dictionary(uniqueKeysWithValues: (1...3).map { ($0, 8001) }),
                    hosts: network.addresses, namespace: network.namespace(id),
                    dataDirectory: TemporaryDirectory.make(),
                    extraArguments: ["--cluster-secret", TestCluster.secret] + TestCluster.fastTiming)
            }
            for replica in replicas { try await replica.start() }
            let leader = try await eventually(timeout: .seconds(10)) { try await Self.leader(of: replicas) }
            let alice = try await ChatUser.register("alice", at: leader.baseURL)

            try network.cut(leader.id)
            let isolatedRole = try await eventually(timeout: .seconds(5)) { () -> String? in
                let role = try network.clusterView(of: leader)["role"] as? String
                return role != "leader" ? role : nil
            }
            #expect(isolatedRole != "leader", "the cut-off leader must step down once it loses its majority")
            let majority = replicas.filter { $0.id != leader.id }
            let newLeader = try await eventually(timeout: .seconds(10)) { try await Self.leader(of: majority) }
            #expect(newLeader.id != leader.id)
            let sent = try await alice.at(newLeader).send(to: "alice", "during the partition")
            #expect(sent.status == 201, "the majority side must keep accepting writes")

            try network.heal(leader.id)
            _ = try await eventually(timeout: .seconds(10)) {
                try await alice.at(leader).inbox().bodies == ["during the partition"] ? true : nil
            }
            for replica in replicas { replica.stop(signal: SIGKILL) }
        }

        static func leader(of replicas: [ChatdProcess]) async throws -> ChatdProcess? {
            for replica in replicas {
                let view = try? await replica.clusterView
                if view?["role"] as? String == "leader",
                   (try? await TestClient.shared.get("\(replica.baseURL)/readyz"))?.status == 200 {
                    return replica
                }
            }
            return nil
        }
    }
}

/// Network namespaces `chat<pid>n<i>`, each with one veth pair onto a private bridge.
struct NamespaceNetwork {
    let prefix = "chat\(ProcessInfo.processInfo.processIdentifier % 100_000)"
    let hosts: Int
    var bridge: String { "\(prefix)br" }
    var addresses: [Int: String] { Dictionary(uniqueKeysWithValues: (1...hosts).map { ($0, "10.213.0.\($0)") }) }

    func namespace(_ host: Int) -> String { "\(prefix)n\(host)" }
    func hostLink(_ host: Int) -> String { "\(prefix)v\(host)" }

    /// Whether this machine lets us create a namespace (root with iproute2).
    static let canCreate: Bool = {
        let probe = "chatprobe\(ProcessInfo.processInfo.processIdentifier % 100_000)"
        guard (try? ip("netns", "add", probe)) != nil else { return false }
        _ = try? ip("netns", "del", probe)
        return true
    }()

    init(hosts: Int) throws {
        self.hosts = hosts
        tearDown()
        try Self.ip("link", "add", bridge, "type", "bridge")
        try Self.ip("addr", "add", "10.213.0.254/24", "dev", bridge)
        try Self.ip("link", "set", bridge, "up")
        for host in 1...hosts {
            try Self.ip("netns", "add", namespace(host))
            try Self.ip("link", "add", hostLink(host), "type", "veth", "peer", "name", "eth0", "netns", namespace(host))
            try Self.ip("link", "set", hostLink(host), "master", bridge, "up")
            try Self.ip("-n", namespace(host), "addr", "add", "10.213.0.\(host)/24", "dev", "eth0")
            try Self.ip("-n", namespace(host), "link", "set", "eth0", "up")
            try Self.ip("-n", namespace(host), "link", "set", "lo", "up")
        }
    }

    /// Takes the host's link to the bridge down: it can reach nobody, and nobody reaches it.
    func cut(_ host: Int) throws { try Self.ip("link", "set", hostLink(host), "down") }

    func heal(_ host: Int) throws { try Self.ip("link", "set", hostLink(host), "up") }

    /// Asks a replica for its view from inside its own namespace (the test can't reach it when cut off).
    func clusterView(of replica: ChatdProcess) throws -> [String: Any] {
        let output = try Self.run(
            "/usr/sbin/ip", ["netns", "exec", namespace(replica.id), "curl", "-s", "-m", "2", "\(replica.baseURL)/v1/cluster"])
        return (try? JSONSerialization.jsonObject(with: Data(output.utf8))) as? [String: Any] ?? [:]
    }

    func tearDown() {
        for host in 1...hosts { _ = try? Self.ip("netns", "del", namespace(host)) }
        _ = try? Self.ip("link", "del", bridge)
    }

    @discardableResult
    static func ip(_ arguments: String...) throws -> String { try run("/usr/sbin/ip", arguments) }

    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = Pipe()
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestFailure("\(executable) \(arguments.joined(separator: " ")) exited \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
