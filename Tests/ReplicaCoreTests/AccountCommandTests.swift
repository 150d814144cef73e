import Testing
@testable import ReplicaCore

@Suite struct AccountCommandTests {
    @Test func creatingAnAccountStoresItWithAnEmptyInbox() throws {
        let chat = ChatFixture()
        let result = try chat.createAccount("Alice")
        guard case .success(.accountCreated(let account)) = result else {
            Issue.record("expected accountCreated, got \(result)")
            return
        }
        #expect(account.username == "Alice")
        #expect(chat.store.account(forKey: "alice")?.lastSeq == 0)
    }

    @Test func usernamesAreUniqueIgnoringCase() throws {
        let chat = ChatFixture()
        try chat.createAccount("alice")
        #expect(try chat.createAccount("ALICE").rejection == .usernameTaken)
        #expect(chat.store.accounts.count == 1)
    }

    @Test func deletingYourOwnAccountRemovesSessionsInboxAndKeys() throws {
        let chat = ChatFixture()
        let alice = try chat.signedUp("alice")
        let bob = try chat.signedUp("bob")
        try chat.send(from: bob, to: "alice")
        try chat.send(from: alice, to: "bob", key: "k1")
        let result = try chat.apply(.deleteAccount(.init(tokenHash: alice, username: "Alice")))
        #expect(result == .success(.accountDeleted(username: "alice")))
        #expect(chat.store.account(forKey: "alice") == nil)
        #expect(chat.store.session(forTokenHash: alice) == nil)
        #expect(chat.store.inboxes["alice"]?.isEmpty ?? true)
        #expect(chat.store.idempotencyRecords["alice"] == nil)
    }

    @Test func deletingSomeoneElsesAccountIsForbidden() throws {
        let chat = ChatFixture()
        let alice = try chat.signedUp("alice")
        _ = try chat.signedUp("bob")
        #expect(try chat.apply(.deleteAccount(.init(tokenHash: alice, username: "bob"))).rejection == .forbidden)
        #expect(chat.store.account(forKey: "bob") != nil)
    }

    @Test func deletingAnUnknownAccountIsNoSuchUser() throws {
        let chat = ChatFixture()
        let alice = try chat.signedUp("alice")
        #expect(try chat.apply(.deleteAccount(.init(tokenHash: alice, username: "carol"))).rejection == .noSuchUser)
    }

    @Test func deletingWithoutALiveSessionIsUnauthorized() throws {
        let chat = ChatFixture()
        try chat.createAccount("alice")
        #expect(try chat.apply(.deleteAccount(.init(tokenHash: "nope", username: "alice"))).rejection == .unauthorized)
    }

    @Test func sendingToADeletedAccountIsNoSuchUser() throws {
        let chat = ChatFixture()
        let alice = try chat.signedUp("alice")
        let bob = try chat.signedUp("bob")
        try chat.apply(.deleteAccount(.init(tokenHash: bob, username: "bob")))
        #expect(try chat.send(from: alice, to: "bob").rejection == .noSuchUser)
    }

    @Test func usernameRulesAcceptOnlyTheDocumentedCharacters() {
        #expect(Username.isValid("a"))
        #expect(Username.isValid("Alice_01.x-y"))
        #expect(Username.isValid(String(repeating: "a", count: 32)))
        #expect(!Username.isValid(""))
        #expect(!Username.isValid(String(repeating: "a", count: 33)))
        #expect(!Username.isValid(".alice"))
        #expect(!Username.isValid("-alice"))
        #expect(!Username.isValid("al ice"))
        #expect(!Username.isValid("alïce"))
    }
}
