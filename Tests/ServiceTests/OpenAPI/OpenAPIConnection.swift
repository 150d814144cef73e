import Foundation
import HTTPTypes
import OpenAPIAsyncHTTPClient
import OpenAPIRuntime
import Testing

/// The generated `Client` pointed at one replica, as one caller, with every exchange recorded.
///
/// The transport is the tests' shared `HTTPClient`, which never follows redirects, so a `307`
/// comes back as the documented `.temporaryRedirect` case.
struct OpenAPIConnection: Sendable {
    let baseURL: String
    let token: String?
    let client: Client
    let exchanges: ExchangeLog

    /// - Parameters:
    ///   - token: sent as `Authorization: Bearer` with every request when given.
    ///   - rewrite: changes each request after the generated code built it, to send what the
    ///     typed API cannot express (a wrong `Content-Type`, malformed JSON, a raw query).
    ///   - clusterSecret: sent as `X-Chat-Cluster-Secret` (the operator calls) when given.
    init(baseURL: String, token: String? = nil, rewrite: RequestRewrite? = nil, clusterSecret: String? = nil) {
        self.baseURL = baseURL
        self.token = token
        exchanges = ExchangeLog()
        var middlewares: [any ClientMiddleware] = []
        if let rewrite { middlewares.append(rewrite) }
        if let token { middlewares.append(BearerTokenMiddleware(token: token)) }
        if let clusterSecret { middlewares.append(ClusterSecretMiddleware(secret: clusterSecret)) }
        // Last, so it records exactly what went over the wire.
        middlewares.append(ExchangeRecorder(log: exchanges))
        client = Client(
            serverURL: URL(string: baseURL)!,
            configuration: Configuration(dateTranscoder: .iso8601WithFractionalSeconds),
            transport: AsyncHTTPClientTransport(configuration: .init(client: TestClient.client, timeout: .seconds(90))),
            middlewares: middlewares)
    }

    /// The same replica, called as `user`.
    func authenticated(as user: APIUser) -> OpenAPIConnection {
        OpenAPIConnection(baseURL: baseURL, token: user.token)
    }

    /// The same replica, calling as the operator with the cluster secret.
    func asOperator() -> OpenAPIConnection {
        OpenAPIConnection(baseURL: baseURL, token: token, clusterSecret: TestCluster.secret)
    }

    /// The same replica and caller, with `rewrite` applied to each request.
    func rewriting(_ rewrite: RequestRewrite) -> OpenAPIConnection {
        OpenAPIConnection(baseURL: baseURL, token: token, rewrite: rewrite)
    }

    /// Registers `username` and logs in, through the generated client.
    func register(_ username: String, password: String = "password123") async throws -> APIUser {
        let credentials = Components.Schemas.Credentials(username: username, password: password)
        let account = try await client.createAccount(body: .json(credentials)).created.body.json
        let session = try await client.createSession(body: .json(credentials)).created.body.json
        return APIUser(username: account.username, password: password, token: session.token)
    }

    /// Registers a fresh user named `prefix` plus a random suffix.
    func registerUnique(_ prefix: String) async throws -> APIUser {
        try await register(uniqueName(prefix))
    }

    /// Checks that the last response to `operationID` carried no field the spec does not
    /// document, and lacked none that `value` (its decoded form) has.
    func expectOnlyDocumentedFields(
        of value: some Encodable, from operationID: String, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let exchange = try #require(await exchanges.last(operationID), sourceLocation: sourceLocation)
        let received = try JSONKeyPaths.of(json: exchange.body)
        let documented = try JSONKeyPaths.of(json: JSONEncoder().encode(value))
        #expect(
            received == documented,
            "\(operationID) sent undocumented fields \(received.subtracting(documented).sorted()) or lost \(documented.subtracting(received).sorted())",
            sourceLocation: sourceLocation)
    }
}

/// A registered user: the credentials and a session token.
struct APIUser: Sendable {
    let username: String
    let password: String
    let token: String
}

/// Checks the body shared by every error response.
func expectError(
    _ error: Components.Schemas._Error, code: String, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(error.error.code == code, "message: \(error.error.message)", sourceLocation: sourceLocation)
    #expect(!error.error.message.isEmpty, "an error needs a human-readable message", sourceLocation: sourceLocation)
}

/// The set of key paths in a JSON document, such as `accounts[].username`; `null` values
/// count as absent, the same way an optional the generated types decoded as nil is encoded.
enum JSONKeyPaths {
    static func of(json data: Data) throws -> Set<String> {
        var paths: Set<String> = []
        collect(try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]), prefix: "", into: &paths)
        return paths
    }

    private static func collect(_ value: Any, prefix: String, into paths: inout Set<String>) {
        if let object = value as? [String: Any] {
            for (key, child) in object where !(child is NSNull) {
                let path = prefix.isEmpty ? key : "\(prefix).\(key)"
                paths.insert(path)
                collect(child, prefix: path, into: &paths)
            }
        } else if let array = value as? [Any] {
            for element in array { collect(element, prefix: prefix + "[]", into: &paths) }
        }
    }
}

extension OpenAPIConnection {
    /// An unauthenticated connection to the replica the endpoint tests share.
    static func shared() async throws -> OpenAPIConnection {
        OpenAPIConnection(baseURL: try await SharedReplica.instance.baseURL())
    }
}
