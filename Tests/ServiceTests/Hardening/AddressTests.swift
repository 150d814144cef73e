import Foundation
import Testing

/// `--listen` takes IPv6 addresses and host names; `--peers` URLs may name hosts.
extension ClusterTests {
    @Suite(.serialized) struct Addresses {
        @Test(arguments: ["[::1]", "localhost"])
        func aReplicaListensOnAnIPv6AddressOrAHostName(_ host: String) async throws {
            let port = try FreePort.next()
            let replica = ChatdProcess(
                peers: [1: port], hosts: [1: host], dataDirectory: TemporaryDirectory.make(),
                extraArguments: ["--listen", "\(host):\(port)", "--log-level", "info"])
            try await replica.start()
            defer { replica.stop() }
            let response = try await TestClient.shared.get("http://\(host):\(port)/healthz")
            #expect(response.status == 200, "GET /healthz on \(host) answered \(response.status)")
            #expect(replica.recentLog.contains("listening on http://\(host):\(port)"), "the log names a URL that does not work")
        }

        /// Found by probing: alone with --listen and no --peers (as with --restore), a replica
        /// recorded http://127.0.0.1:8001 as its address for good, wherever it listened.
        @Test func aLoneReplicaWithoutPeersAdvertisesTheAddressItListensOn() async throws {
            let port = try FreePort.next()
            let replica = ChatdProcess(
                peers: [1: port], dataDirectory: TemporaryDirectory.make(),
                extraArguments: ["--id", "1", "--listen", "127.0.0.1:\(port)"])
            replica.entry = .dataDirectoryOnly
            try await replica.start()
            defer { replica.stop() }
            let members = try await replica.clusterView["members"] as? [[String: Any]] ?? []
            #expect(members.map { $0["url"] as? String } == ["http://127.0.0.1:\(port)"], "\(members)")
        }

        /// Peers reach each other, and clients reach them, over IPv6 loopback.
        @Test func aClusterFormsWithPeersAtIPv6Addresses() async throws {
            let cluster = try TestCluster(size: 3, host: "[::1]")
            defer { cluster.stopAll() }
            try await cluster.startAll()
            let leader = try await cluster.waitForLeader()
            #expect(leader.baseURL.hasPrefix("http://[::1]:"))
            let user = try await ChatUser.register(uniqueName("ipv6"), at: leader.baseURL)
            for replica in cluster.replicas {
                #expect(try await user.at(replica).inbox().status == 200, "replica \(replica.id) serves the user")
            }
        }
    }
}
