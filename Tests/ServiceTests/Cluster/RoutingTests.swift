import Foundation
import Testing

extension ClusterTests {
    @Suite(.serialized) struct Routing {
        @Test(arguments: [3, 5])
        func aLeaderIsElectedAndFollowersRedirectWritesToIt(size: Int) async throws {
            let cluster = try await TestCluster.started(size: size)
            let leader = try await cluster.waitForLeader()
            let alice = try await ChatUser.register("alice", at: leader.baseURL)
            for follower in cluster.followers(of: leader) {
                let response = try await TestClient.shared.request(
                    .POST, "\(follower.baseURL)/v1/messages?trace=1", token: alice.token, json: ["to": "alice", "body": "x"])
                #expect(response.status == 307)
                #expect(response.headers.first(name: "Location") == "\(leader.baseURL)/v1/messages?trace=1")
                #expect(response.errorCode == "not_leader")
                let named = (response.json["error"] as? [String: Any])?["leader"] as? [String: Any]
                #expect(named?["id"] as? Int == leader.id)
            }
        }

        @Test func readsWorkOnEveryReplicaAndSeeTheLatestWrite() async throws {
            let cluster = try await TestCluster.started(size: 3)
            let leader = try await cluster.waitForLeader()
            let alice = try await ChatUser.register("alice", at: leader.baseURL)
            let bob = try await ChatUser.register("bob", at: leader.baseURL)
            for index in 1...3 {
                _ = try await alice.send(to: "bob", "m\(index)")
                for replica in cluster.replicas {
                    let inbox = try await bob.at(replica).inbox()
                    #expect(inbox.status == 200)
                    #expect(inbox.bodies.count == index, "replica \(replica.id) missed a write acknowledged before the read")
                }
            }
            let accounts = try await TestClient.shared.get("\(cluster.followers(of: leader)[0].baseURL)/v1/accounts", token: bob.token)
            #expect((accounts.json["accounts"] as? [[String: Any]])?.count == 2)
        }

        @Test func aLongPollOnAFollowerIsWokenByASendAtTheLeader() async throws {
            let cluster = try await TestCluster.started(size: 3)
            let leader = try await cluster.waitForLeader()
            let alice = try await ChatUser.register("alice", at: leader.baseURL)
            let bob = try await ChatUser.register("bob", at: leader.baseURL)
            let follower = cluster.followers(of: leader)[0]
            let poll = Task { try await bob.at(follower).inbox("wait=20") }
            try await Task.sleep(for: .milliseconds(300))
            let started = ContinuousClock.now
            _ = try await alice.send(to: "bob", "to the follower")
            let response = try await poll.value
            #expect(response.bodies == ["to the follower"])
            #expect(ContinuousClock.now - started < .seconds(2))
        }

        @Test func aTokenWorksOnEveryReplicaAndLogoutRevokesItEverywhere() async throws {
            let cluster = try await TestCluster.started(size: 3)
            let leader = try await cluster.waitForLeader()
            let alice = try await ChatUser.register("alice", at: leader.baseURL)
            for replica in cluster.replicas {
                #expect(try await alice.at(replica).inbox().status == 200)
            }
            let logout = try await TestClient.shared.request(.DELETE, "\(leader.baseURL)/v1/sessions/current", token: alice.token)
            #expect(logout.status == 204)
            for replica in cluster.replicas {
                #expect(try await alice.at(replica).inbox().status == 401, "replica \(replica.id) still accepts a revoked token")
            }
        }

        @Test func internalRoutesRefuseAMissingOrWrongClusterSecret() async throws {
            let cluster = try await TestCluster.started(size: 3)
            let replica = cluster.replicas[0]
            let termBefore = try await replica.clusterView["term"] as? Int
            let forged = #"[{"version":1,"from":2,"to":1,"term":999,"kind":{"timeoutNow":{}}}]"#
            for headers in [[], [("X-Chat-Cluster-Secret", "wrong")]] as [[(String, String)]] {
                let response = try await TestClient.shared.request(
                    .POST, "\(replica.baseURL)/internal/raft/messages", rawBody: Array(forged.utf8), headers: headers)
                #expect(response.status == 401)
            }
            #expect(try await replica.clusterView["term"] as? Int == termBefore)
        }

        /// A stranger cannot make a replica buffer up to the 64 MiB peer body limit.
        @Test func aPeerCallWithoutTheClusterSecretIsRefusedBeforeItsBodyIsRead() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll() }
            for secret in [nil, "wrong"] as [String?] {
                let connection = try RawHTTPConnection(port: cluster.replicas[0].port)
                let secretHeader = secret.map { "X-Chat-Cluster-Secret: \($0)\r\n" } ?? ""
                connection.send(
                    "POST /internal/raft/messages HTTP/1.1\r\nHost: test\r\n\(secretHeader)"
                        + "Content-Length: 60000000\r\n\r\n" + String(repeating: "x", count: 1024))
                #expect(connection.readStatus() == 401, "secret \(secret ?? "none")")
            }
        }

        /// Peer batches are binary (`RaftWireCodec`); anything else is refused before Raft sees it.
        @Test func aMalformedPeerBatchIs400AndChangesNothing() async throws {
            let cluster = try await TestCluster.started(size: 3)
            let replica = cluster.replicas[0]
            let termBefore = try await replica.clusterView["term"] as? Int
            let headers = try await replica.peerHeaders
            for body in [Array(#"[{"version":1,"from":2,"to":1,"term":999}]"#.utf8), [1, 0, 0, 0, 1], [255, 255, 255, 255]] {
                let response = try await TestClient.shared.request(
                    .POST, "\(replica.baseURL)/internal/raft/messages", rawBody: body, headers: headers)
                #expect(response.status == 400, "a malformed batch answered \(response.status)")
                #expect(response.errorCode == "invalid_body")
            }
            #expect(try await replica.clusterView["term"] as? Int == termBefore)
        }

        @Test func anEmptyPeerBatchIsAnsweredWithNoReplies() async throws {
            let cluster = try await TestCluster.started(size: 3)
            let response = try await TestClient.shared.request(
                .POST, "\(cluster.replicas[0].baseURL)/internal/raft/messages", rawBody: [0, 0, 0, 0],
                headers: try await cluster.replicas[0].peerHeaders)
            #expect(response.status == 200)
            #expect(Array(response.body) == [0, 0, 0, 0], "an empty batch of replies")
        }
    }
}
