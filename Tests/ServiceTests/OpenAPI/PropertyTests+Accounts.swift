import Foundation
import PropertyBased
import Testing

extension PropertyTests {
    @Test func aValidAccountCanLogInAndIsListedUnderAnyCaseOfItsName() async throws {
        let api = try await Self.connection()
        await propertyCheck(
            count: Self.iterationCount, input: APIGen.uniqueValidUsername, APIGen.password, APIGen.caseFlips
        ) { username, password, flips in
            let credentials = Components.Schemas.Credentials(username: username, password: password)
            let account = try await api.client.createAccount(body: .json(credentials)).created.body.json
            #expect(account.username == username)
            let session = try await api.client.createSession(body: .json(credentials)).created.body.json
            #expect(session.username == username)
            let pattern = APIGen.flippingCase(username, flips)
            let page = try await OpenAPIConnection(baseURL: api.baseURL, token: session.token).client
                .listAccounts(query: .init(pattern: pattern)).ok.body.json
            #expect(page.accounts.map(\.username) == [username], "pattern \(pattern)")
            #expect(page.next == nil)
        }
    }

    @Test func anInvalidUsernameIsAlways400InvalidUsernameAndWritesNothing() async throws {
        let api = try await Self.connection()
        await propertyCheck(count: Self.iterationCount, input: APIGen.invalidUsername) { username in
            let before = try await Self.logPosition(api)
            let output = try await api.client.createAccount(body: .json(.init(username: username, password: "password123")))
            expectError(try output.badRequest.body.json, code: "invalid_username")
            #expect(try await Self.logPosition(api) == before, "refusing \(username.debugDescription) wrote to the log")
        }
    }
}
