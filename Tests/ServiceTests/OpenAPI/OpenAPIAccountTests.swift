import Foundation
import Testing

/// `POST /v1/accounts`, `GET /v1/accounts` and `DELETE /v1/accounts/{username}` through the generated client.
@Suite struct OpenAPIAccountTests {
    static let bodyOver256KiB = String(repeating: "p", count: 300 * 1024)

    // MARK: createAccount

    @Test func createAccountAnswers201WithADocumentedAccount() async throws {
        let api = try await OpenAPIConnection.shared()
        let name = uniqueName("Created")
        let before = Date()
        let account = try await api.client.createAccount(body: .json(.init(username: name, password: "password123")))
            .created.body.json
        #expect(account.username == name)
        #expect(abs(account.created_at.timeIntervalSince(before)) < 60, "created_at \(account.created_at) is not now")
        try await api.expectOnlyDocumentedFields(of: account, from: "createAccount")
    }

    @Test func createAccountWithAnInvalidUsernameIs400InvalidUsername() async throws {
        let api = try await OpenAPIConnection.shared()
        let output = try await api.client.createAccount(body: .json(.init(username: ".dot", password: "password123")))
        expectError(try output.badRequest.body.json, code: "invalid_username")
    }

    @Test func createAccountWithAShortPasswordIs400InvalidPassword() async throws {
        let api = try await OpenAPIConnection.shared()
        let output = try await api.client.createAccount(body: .json(.init(username: uniqueName("pw"), password: "short")))
        expectError(try output.badRequest.body.json, code: "invalid_password")
    }

    @Test func createAccountWithMalformedJSONIs400InvalidJSON() async throws {
        let api = try await OpenAPIConnection.shared().rewriting(.body(Array(#"{"username": "#.utf8)))
        let output = try await api.client.createAccount(body: .json(.init(username: uniqueName("js"), password: "password123")))
        expectError(try output.badRequest.body.json, code: "invalid_json")
    }

    @Test func createAccountWithAMissingFieldIs400InvalidRequest() async throws {
        let api = try await OpenAPIConnection.shared().rewriting(.body(Array(#"{"username": "someone"}"#.utf8)))
        let output = try await api.client.createAccount(body: .json(.init(username: uniqueName("mf"), password: "password123")))
        expectError(try output.badRequest.body.json, code: "invalid_request")
    }

    @Test func createAccountWithATakenUsernameIs409UsernameTaken() async throws {
        let api = try await OpenAPIConnection.shared()
        let user = try await api.registerUnique("taken")
        let output = try await api.client.createAccount(
            body: .json(.init(username: user.username.uppercased(), password: "password123")))
        expectError(try output.conflict.body.json, code: "username_taken")
    }

    @Test func createAccountOver256KiBIs413PayloadTooLarge() async throws {
        let api = try await OpenAPIConnection.shared()
        let output = try await api.client.createAccount(
            body: .json(.init(username: uniqueName("big"), password: Self.bodyOver256KiB)))
        expectError(try output.contentTooLarge.body.json, code: "payload_too_large")
    }

    @Test func createAccountDeclaredAsPlainTextIs415UnsupportedMediaType() async throws {
        let api = try await OpenAPIConnection.shared().rewriting(.contentType("text/plain"))
        let output = try await api.client.createAccount(body: .json(.init(username: uniqueName("ct"), password: "password123")))
        expectError(try output.unsupportedMediaType.body.json, code: "unsupported_media_type")
    }

    // MARK: listAccounts

    @Test func listAccountsAnswers200WithDocumentedPagesLinkedByNext() async throws {
        let shared = try await OpenAPIConnection.shared()
        let prefix = uniqueName("lst")
        let user = try await shared.register("\(prefix)-a")
        _ = try await shared.register("\(prefix)-B")
        _ = try await shared.register("\(prefix)-c")
        let api = shared.authenticated(as: user)
        let first = try await api.client.listAccounts(query: .init(pattern: "\(prefix)-*", limit: 2)).ok.body.json
        #expect(first.accounts.map(\.username) == ["\(prefix)-a", "\(prefix)-B"])
        let next = try #require(first.next)
        try await api.expectOnlyDocumentedFields(of: first, from: "listAccounts")
        let second = try await api.client.listAccounts(query: .init(pattern: "\(prefix)-*", limit: 2, after: next)).ok.body.json
        #expect(second.accounts.map(\.username) == ["\(prefix)-c"])
        #expect(second.next == nil)
        try await api.expectOnlyDocumentedFields(of: second, from: "listAccounts")
    }

    @Test func listAccountsWithStaleConsistencyAnswers200() async throws {
        let shared = try await OpenAPIConnection.shared()
        let user = try await shared.registerUnique("stale")
        let page = try await shared.authenticated(as: user).client
            .listAccounts(query: .init(pattern: user.username, consistency: .stale)).ok.body.json
        #expect(page.accounts.map(\.username) == [user.username])
    }

    @Test func listAccountsWithALimitOf0Is400InvalidRequest() async throws {
        let shared = try await OpenAPIConnection.shared()
        let api = shared.authenticated(as: try await shared.registerUnique("lim"))
        let output = try await api.client.listAccounts(query: .init(limit: 0))
        expectError(try output.badRequest.body.json, code: "invalid_request")
    }

    @Test func listAccountsWithAPatternOutsideTheAlphabetIs400InvalidRequest() async throws {
        let shared = try await OpenAPIConnection.shared()
        let api = shared.authenticated(as: try await shared.registerUnique("pat"))
        let output = try await api.client.listAccounts(query: .init(pattern: "a[b"))
        expectError(try output.badRequest.body.json, code: "invalid_request")
    }

    @Test func listAccountsWithoutATokenIs401WithWWWAuthenticate() async throws {
        let api = try await OpenAPIConnection.shared()
        let unauthorized = try await api.client.listAccounts().unauthorized
        #expect(unauthorized.headers.WWW_hyphen_Authenticate == "Bearer")
        expectError(try unauthorized.body.json, code: "unauthorized")
    }

    // MARK: deleteAccount

    @Test func deleteAccountAnswers204AndTheAccountIsGone() async throws {
        let shared = try await OpenAPIConnection.shared()
        let doomed = try await shared.registerUnique("del")
        let witness = try await shared.registerUnique("wit")
        _ = try await shared.authenticated(as: doomed).client.deleteAccount(path: .init(username: doomed.username)).noContent
        let page = try await shared.authenticated(as: witness).client.listAccounts(query: .init(pattern: doomed.username))
            .ok.body.json
        #expect(page.accounts.isEmpty)
    }

    @Test func deleteAccountOfSomeoneElseIs403Forbidden() async throws {
        let shared = try await OpenAPIConnection.shared()
        let alice = try await shared.registerUnique("a")
        let bob = try await shared.registerUnique("b")
        let output = try await shared.authenticated(as: alice).client.deleteAccount(path: .init(username: bob.username))
        expectError(try output.forbidden.body.json, code: "forbidden")
    }

    @Test func deleteAccountOfAnUnknownUserIs404NoSuchUser() async throws {
        let shared = try await OpenAPIConnection.shared()
        let alice = try await shared.registerUnique("a")
        let output = try await shared.authenticated(as: alice).client.deleteAccount(path: .init(username: uniqueName("ghost")))
        expectError(try output.notFound.body.json, code: "no_such_user")
    }

    @Test func deleteAccountWithAQueryThatIsNotUTF8Is400InvalidRequest() async throws {
        let shared = try await OpenAPIConnection.shared()
        let alice = try await shared.registerUnique("a")
        let api = shared.authenticated(as: alice).rewriting(.query("x=%FF%FE"))
        let output = try await api.client.deleteAccount(path: .init(username: alice.username))
        expectError(try output.badRequest.body.json, code: "invalid_request")
    }

    @Test func deleteAccountWithoutATokenIs401() async throws {
        let api = try await OpenAPIConnection.shared()
        let output = try await api.client.deleteAccount(path: .init(username: uniqueName("x")))
        expectError(try output.unauthorized.body.json, code: "unauthorized")
    }
}
