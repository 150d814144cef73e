import Foundation

/// The chat API's operations, sent through a ``FailoverClient``.
public struct ChatAPI: Sendable {
    public let client: FailoverClient
    /// The bearer token sent with every operation that needs one.
    public var token: String?
    /// Makes the `Idempotency-Key` of each new message; a UUID by default.
    public var makeIdempotencyKey: @Sendable () -> String

    public init(
        client: FailoverClient,
        token: String? = nil,
        makeIdempotencyKey: @escaping @Sendable () -> String = { UUID().uuidString.lowercased() }
    ) {
        self.client = client
        self.token = token
        self.makeIdempotencyKey = makeIdempotencyKey
    }

    /// `POST /v1/accounts`: registers a new account.
    public func register(username: String, password: String) async throws -> Account {
        let body = try encode(CredentialsBody(username: username, password: password))
        let request = APIRequest(method: .post, path: "/v1/accounts", headers: jsonHeaders, body: body)
        return try await perform(request, expecting: 201)
    }

    /// `POST /v1/sessions`: logs in and returns the new session's token.
    public func logIn(username: String, password: String) async throws -> Session {
        let body = try encode(CredentialsBody(username: username, password: password))
        let request = APIRequest(method: .post, path: "/v1/sessions", headers: jsonHeaders, body: body)
        return try await perform(request, expecting: 201)
    }

    /// `DELETE /v1/sessions/current`: revokes this token.
    public func logOut() async throws {
        let request = APIRequest(method: .delete, path: "/v1/sessions/current", headers: try authorizationHeaders())
        try await performExpectingNoContent(request)
    }

    /// `POST /v1/messages`: sends `body` to `recipient` with a fresh
    /// `Idempotency-Key`, which every retry of this call repeats.
    public func send(_ body: String, to recipient: String) async throws -> Message {
        var headers = try authorizationHeaders().merging(jsonHeaders) { first, _ in first }
        headers["Idempotency-Key"] = makeIdempotencyKey()
        let request = APIRequest(
            method: .post, path: "/v1/messages", headers: headers,
            body: try encode(SendMessageBody(to: recipient, body: body)))
        return try await perform(request, expecting: 201)
    }

    /// `GET /v1/inbox`: the messages after `after` (the last acknowledged one
    /// when nil), waiting up to `waitSeconds` for one to arrive.
    public func inbox(after: Int64? = nil, waitSeconds: Int = 0, limit: Int? = nil) async throws -> Inbox {
        precondition((0...60).contains(waitSeconds), "the server waits 0 to 60 seconds")
        var query: [URLQueryItem] = []
        if let after {
            query.append(URLQueryItem(name: "after", value: String(after)))
        }
        query.append(URLQueryItem(name: "wait", value: String(waitSeconds)))
        if let limit {
            query.append(URLQueryItem(name: "limit", value: String(limit)))
        }
        let request = APIRequest(
            method: .get, path: "/v1/inbox", query: query, headers: try authorizationHeaders(),
            serverWait: .seconds(waitSeconds))
        return try await perform(request, expecting: 200)
    }

    /// `POST /v1/inbox/ack`: acknowledges every message up to `sequenceNumber`,
    /// and returns the acknowledged position the server now holds.
    @discardableResult
    public func acknowledge(upTo sequenceNumber: Int64) async throws -> Int64 {
        let headers = try authorizationHeaders().merging(jsonHeaders) { first, _ in first }
        let request = APIRequest(
            method: .post, path: "/v1/inbox/ack", headers: headers,
            body: try encode(AcknowledgeBody(upTo: sequenceNumber)))
        let answer: Acknowledgement = try await perform(request, expecting: 200)
        return answer.acknowledgedUpTo
    }

    /// `GET /v1/accounts`: one page of the accounts matching `pattern`.
    public func accounts(matching pattern: String? = nil, after: String? = nil, limit: Int? = nil) async throws
        -> AccountPage
    {
        var query: [URLQueryItem] = []
        if let pattern {
            query.append(URLQueryItem(name: "pattern", value: pattern))
        }
        if let limit {
            query.append(URLQueryItem(name: "limit", value: String(limit)))
        }
        if let after {
            query.append(URLQueryItem(name: "after", value: after))
        }
        let request = APIRequest(method: .get, path: "/v1/accounts", query: query, headers: try authorizationHeaders())
        return try await perform(request, expecting: 200)
    }

    /// Every account matching `pattern`, page after page, handed to `handle` in order.
    ///
    /// Stops after `pageCountMaximum` pages, so a server that never ends the
    /// listing cannot keep the client busy forever.
    public func forEachAccount(
        matching pattern: String? = nil,
        pageSize: Int = 100,
        pageCountMaximum: Int = 1_000_000,
        _ handle: (Account) async throws -> Void
    ) async throws {
        var after: String?
        for _ in 0..<pageCountMaximum {
            let page = try await accounts(matching: pattern, after: after, limit: pageSize)
            for account in page.accounts {
                try await handle(account)
            }
            guard let next = page.next, next != after else {
                return
            }
            after = next
        }
    }

    /// `DELETE /v1/accounts/{username}`: deletes the caller's own account.
    public func deleteAccount(_ username: String) async throws {
        let request = APIRequest(
            method: .delete, path: "/v1/accounts/" + PercentEncoding.encode(username),
            headers: try authorizationHeaders())
        try await performExpectingNoContent(request)
    }
}

extension ChatAPI {
    private var jsonHeaders: [String: String] {
        ["Content-Type": "application/json", "Accept": "application/json"]
    }

    private func authorizationHeaders() throws -> [String: String] {
        guard let token else {
            throw ChatClientError.notLoggedIn
        }
        return ["Authorization": "Bearer \(token)", "Accept": "application/json"]
    }

    private func encode(_ value: some Encodable) throws -> Data {
        try JSONCoding.encoder.encode(value)
    }

    func perform<Answer: Decodable>(_ request: APIRequest, expecting status: Int) async throws -> Answer {
        let response = try await client.send(request)
        try Self.check(response, expecting: status)
        do {
            return try JSONCoding.decoder.decode(Answer.self, from: response.body)
        } catch {
            throw ChatClientError.unexpectedResponse(
                status: response.status, detail: "the body is not the expected JSON (\(error))")
        }
    }

    func performExpectingNoContent(_ request: APIRequest) async throws {
        let response = try await client.send(request)
        try Self.check(response, expecting: 204)
    }

    /// Throws the server's error unless `response` has the expected status.
    static func check(_ response: TransportResponse, expecting status: Int) throws {
        guard response.status != status else {
            return
        }
        if let error = ErrorEnvelope.serverError(in: response) {
            throw ChatClientError.server(error)
        }
        let text = String(decoding: response.body.prefix(200), as: UTF8.self)
        throw ChatClientError.unexpectedResponse(status: response.status, detail: text)
    }
}
