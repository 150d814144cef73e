import Foundation
import Testing

extension ClusterTests {
    /// The documented `307 not_leader` of a follower, through the generated client.
    @Suite(.serialized) struct OpenAPIRedirect {
        @Test func aFollowerAnswersCreateAccountWith307NotLeaderNamingTheLeader() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll(signal: SIGKILL) }
            let leader = try await cluster.waitForLeader()
            let follower = try #require(cluster.followers(of: leader).first)
            let api = OpenAPIConnection(baseURL: follower.baseURL)
            let redirect = try await api.client.createAccount(body: .json(.init(username: uniqueName("r"), password: "password123")))
                .temporaryRedirect
            #expect(redirect.headers.Location == "\(leader.baseURL)/v1/accounts")
            let error = try redirect.body.json.error
            #expect(error.code == "not_leader")
            #expect(error.leader?.id == Int64(leader.id))
            #expect(error.leader?.url == leader.baseURL)
            try await api.expectOnlyDocumentedFields(of: try redirect.body.json, from: "createAccount")
        }

        @Test func aFollowerRedirectsAWriteKeepingItsQuery() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll(signal: SIGKILL) }
            let leader = try await cluster.waitForLeader()
            let user = try await OpenAPIConnection(baseURL: leader.baseURL).registerUnique("r")
            let follower = try #require(cluster.followers(of: leader).first)
            let api = OpenAPIConnection(baseURL: follower.baseURL, token: user.token).rewriting(.query("trace=1"))
            let redirect = try await api.client.acknowledgeInbox(body: .json(.init(up_to: 0))).temporaryRedirect
            #expect(redirect.headers.Location == "\(leader.baseURL)/v1/inbox/ack?trace=1")
            expectError(try redirect.body.json, code: "not_leader")
        }

        /// Not a 307: a follower serves a linearizable read itself, after learning the leader's
        /// commit index (the spec once said it would redirect).
        @Test func aFollowerServesALinearizableInboxReadThatSeesAMessageJustSentAtTheLeader() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll(signal: SIGKILL) }
            let leader = try await cluster.waitForLeader()
            let atLeader = OpenAPIConnection(baseURL: leader.baseURL)
            let alice = try await atLeader.registerUnique("a")
            let bob = try await atLeader.registerUnique("b")
            let sent = try await atLeader.authenticated(as: alice).client
                .sendMessage(body: .json(.init(to: bob.username, body: "fresh"))).created.body.json
            for follower in cluster.followers(of: leader) {
                let inbox = try await OpenAPIConnection(baseURL: follower.baseURL, token: bob.token).client
                    .readInbox(query: .init(consistency: .linearizable)).ok.body.json
                #expect(inbox.messages.map(\.id) == [sent.id], "replica \(follower.id)")
            }
        }
    }
}
