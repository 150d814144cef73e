import ChatClient
import Foundation
import Testing

@Suite("ChatAPI")
struct ChatAPITests {
    let replicas = [URL(string: "http://a:8001")!]

    func makeAPI(_ steps: [ScriptedTransport.Step], token: String? = "t") -> (ChatAPI, ScriptedTransport) {
        let transport = ScriptedTransport(["a:8001": steps])
        let client = FailoverClient(replicas: replicas, transport: transport, clock: ManualRetryClock())
        return (ChatAPI(client: client, token: token), transport)
    }

    @Test("turns an error envelope into a server error with its code and message")
    func decodesServerError() async throws {
        let (api, _) = makeAPI([.respond(.error(409, code: "username_taken"))], token: nil)

        await #expect(throws: ChatClientError.server(ServerError(status: 409, code: "username_taken", message: "username_taken happened."))) {
            _ = try await api.register(username: "alice", password: "password1")
        }
    }

    @Test("sends credentials as JSON without a token")
    func registerRequest() async throws {
        let (api, transport) = makeAPI(
            [.respond(.json(201, #"{"username":"alice","created_at":"2026-11-25T10:00:00.000Z"}"#))], token: nil)

        let account = try await api.register(username: "alice", password: "password1")

        #expect(account == Account(username: "alice", createdAt: "2026-11-25T10:00:00.000Z"))
        let request = try #require(transport.requests.first)
        #expect(request.method == .post)
        #expect(request.url.absoluteString == "http://a:8001/v1/accounts")
        #expect(request.headers["Authorization"] == nil)
        #expect(request.headers["Content-Type"] == "application/json")
        let body = try JSONSerialization.jsonObject(with: request.body ?? Data()) as? [String: String]
        #expect(body == ["username": "alice", "password": "password1"])
    }

    @Test("refuses an operation that needs a token when there is none, without a request")
    func needsToken() async throws {
        let (api, transport) = makeAPI([], token: nil)

        await #expect(throws: ChatClientError.notLoggedIn) {
            _ = try await api.send("hi", to: "bob")
        }
        #expect(transport.requests.isEmpty)
    }

    @Test("pages through every account, passing the cursor along and encoding the pattern")
    func pagesThroughAccounts() async throws {
        let (api, transport) = makeAPI([
            .respond(.json(200, #"{"accounts":[{"username":"al","created_at":"x"}],"next":"al"}"#)),
            .respond(.json(200, #"{"accounts":[{"username":"alice","created_at":"y"}],"next":null}"#)),
        ])
        var usernames: [String] = []

        try await api.forEachAccount(matching: "a*?", pageSize: 1) { usernames.append($0.username) }

        #expect(usernames == ["al", "alice"])
        #expect(transport.requests.map { $0.url.query ?? "" } == ["pattern=a%2A%3F&limit=1", "pattern=a%2A%3F&limit=1&after=al"])
        #expect(transport.requests.allSatisfy { $0.headers["Authorization"] == "Bearer t" })
    }

    @Test("deletes an account by its percent-encoded name and expects 204")
    func deletesAccount() async throws {
        let (api, transport) = makeAPI([.respond(TransportResponse(status: 204))])

        try await api.deleteAccount("a.b-c")

        #expect(transport.requests.first?.method == .delete)
        #expect(transport.requests.first?.url.path == "/v1/accounts/a.b-c")
    }

    @Test("reports a response that is neither the expected success nor an error envelope")
    func unexpectedResponse() async throws {
        let (api, _) = makeAPI([.respond(TransportResponse(status: 500, body: Data("oops".utf8)))])

        await #expect(throws: ChatClientError.unexpectedResponse(status: 500, detail: "oops")) {
            try await api.logOut()
        }
    }
}
