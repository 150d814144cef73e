import Foundation
import Testing

@Suite struct MessageEndpointTests {
    @Test func sendingAnswers201WithTheStoredMessage() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let alice = try await ChatUser.register(uniqueName("a"), at: base)
        let bob = try await ChatUser.register(uniqueName("b"), at: base)
        let response = try await alice.send(to: bob.username.uppercased(), "héllo ✓")
        #expect(response.status == 201)
        #expect(response.json["from"] as? String == alice.username)
        #expect(response.json["to"] as? String == bob.username)
        #expect(response.json["body"] as? String == "héllo ✓")
        #expect(response.json["seq"] as? Int == 1)
        #expect((response.json["id"] as? String)?.isEmpty == false)
        #expect(response.json["sent_at"] is String)
    }

    @Test func sendingToAnUnknownUserIs404() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let alice = try await ChatUser.register(uniqueName("a"), at: base)
        let response = try await alice.send(to: uniqueName("ghost"), "hi")
        #expect(response.status == 404)
        #expect(response.errorCode == "no_such_user")
    }

    /// Found by probing: a name no account can have was answered 404 "There is no user named .".
    @Test(arguments: ["", "a b", ".dot", String(repeating: "n", count: 33), "é"])
    func sendingToANameThatBreaksTheUsernameRulesIs400(_ name: String) async throws {
        let base = try await SharedReplica.instance.baseURL()
        let alice = try await ChatUser.register(uniqueName("a"), at: base)
        let response = try await alice.send(to: name, "hi")
        #expect(response.status == 400, "\(response.status) \(response.text)")
        #expect(response.errorCode == "invalid_username")
    }

    @Test(arguments: [0, 65_537])
    func bodiesOutside1To65536BytesAreRefused(_ size: Int) async throws {
        let base = try await SharedReplica.instance.baseURL()
        let alice = try await ChatUser.register(uniqueName("a"), at: base)
        let bob = try await ChatUser.register(uniqueName("b"), at: base)
        let response = try await alice.send(to: bob.username, String(repeating: "x", count: size))
        #expect(response.status == 400)
        #expect(response.errorCode == "invalid_body")
        #expect(try await bob.inbox().messages.isEmpty)
    }

    @Test func aBodyOfExactly65536BytesIsAccepted() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let alice = try await ChatUser.register(uniqueName("a"), at: base)
        let bob = try await ChatUser.register(uniqueName("b"), at: base)
        #expect(try await alice.send(to: bob.username, String(repeating: "é", count: 32_768)).status == 201)
    }

    @Test func aRetryWithTheSameIdempotencyKeyIsDeliveredOnce() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let alice = try await ChatUser.register(uniqueName("a"), at: base)
        let bob = try await ChatUser.register(uniqueName("b"), at: base)
        let first = try await alice.send(to: bob.username, "once", key: "key-1")
        let retry = try await alice.send(to: bob.username, "once", key: "key-1")
        #expect(first.status == 201)
        #expect(retry.status == 201)
        #expect(retry.json["id"] as? String == first.json["id"] as? String)
        #expect(retry.json["seq"] as? Int == first.json["seq"] as? Int)
        #expect(try await bob.inbox().bodies == ["once"])
    }

    @Test func reusingAKeyForADifferentRequestIs422() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let alice = try await ChatUser.register(uniqueName("a"), at: base)
        let bob = try await ChatUser.register(uniqueName("b"), at: base)
        _ = try await alice.send(to: bob.username, "first", key: "key-2")
        let reused = try await alice.send(to: bob.username, "second", key: "key-2")
        #expect(reused.status == 422)
        #expect(reused.errorCode == "idempotency_key_reused")
        #expect(try await bob.inbox().bodies == ["first"])
    }

    @Test func anOverlongIdempotencyKeyIsRefused() async throws {
        let base = try await SharedReplica.instance.baseURL()
        let alice = try await ChatUser.register(uniqueName("a"), at: base)
        let response = try await alice.send(to: alice.username, "x", key: String(repeating: "k", count: 129))
        #expect(response.status == 400)
        #expect(response.errorCode == "invalid_idempotency_key")
    }
}
