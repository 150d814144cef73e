import Foundation

/// Every error the API answers with, and how it looks on the wire:
/// `{"error": {"code": "snake_case_code", "message": "human sentence"}}`.
public struct APIError: Error, Sendable {
    public var status: Int
    public var code: String
    public var message: String
    public var headers: [(name: String, value: String)] = []
    /// Set on `not_leader`, naming where writes go.
    public var leader: PeerAddress?

    public init(status: Int, code: String, message: String, headers: [(name: String, value: String)] = []) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    public var response: HTTPResponse {
        var object: [String: Any] = ["code": code, "message": message]
        if let leader {
            object["leader"] = ["id": leader.id, "url": leader.url]
        }
        let body = (try? JSONSerialization.data(withJSONObject: ["error": object], options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return HTTPResponse(
            status: status, headers: [("Content-Type", "application/json")] + headers, body: Array(body))
    }
}

extension APIError {
    /// Password hashing is at capacity (see `PasswordHashingPool`).
    static let tooManyHashes = APIError(
        status: 429, code: "too_many_requests",
        message: "Too many logins and sign-ups are being checked right now; try again shortly.",
        headers: [("Retry-After", "1")])

    static func invalidJSON(_ message: String) -> APIError {
        APIError(status: 400, code: "invalid_json", message: message)
    }

    static func invalidRequest(_ message: String) -> APIError {
        APIError(status: 400, code: "invalid_request", message: message)
    }

    static let invalidUsername = APIError(
        status: 400, code: "invalid_username",
        message: "A username is 1 to 32 of A-Z a-z 0-9 _ . - and does not start with . or -.")

    static let invalidPassword = APIError(
        status: 400, code: "invalid_password", message: "A password is 8 to 256 bytes long.")

    static func invalidBody(_ message: String) -> APIError {
        APIError(status: 400, code: "invalid_body", message: message)
    }

    static let invalidIdempotencyKey = APIError(
        status: 400, code: "invalid_idempotency_key",
        message: "An Idempotency-Key is 1 to 128 characters of UTF-8 text without control characters.")

    static let unauthorized = APIError(
        status: 401, code: "unauthorized", message: "A valid session token is required: Authorization: Bearer <token>.",
        headers: [("WWW-Authenticate", "Bearer")])

    static let invalidCredentials = APIError(
        status: 401, code: "invalid_credentials", message: "The username or password is wrong.")

    static let forbidden = APIError(
        status: 403, code: "forbidden", message: "Only the owner of an account may delete it.")

    static let notFound = APIError(status: 404, code: "not_found", message: "There is nothing at this path.")
    static let shuttingDown = APIError.unavailable("The replica is shutting down.")

    /// A write whose outcome is unknown (`cause` says why), with what the client can safely do:
    /// only a send with an Idempotency-Key is safe to retry as it is.
    static func unconfirmedWrite(_ cause: String, request: HTTPRequest) -> APIError {
        let advice: String
        if request.method != "POST" || request.path != "/v1/messages" {
            advice = ""
        } else if request.header("Idempotency-Key") != nil {
            advice = " Retry with the same Idempotency-Key."
        } else {
            advice = " A retry may deliver the message twice; send an Idempotency-Key to retry safely."
        }
        return .unavailable("\(cause); it may still take effect.\(advice)")
    }

    static func noSuchUser(_ username: String) -> APIError {
        APIError(status: 404, code: "no_such_user", message: "There is no user named \(username).")
    }

    static func methodNotAllowed(allowed: [String]) -> APIError {
        APIError(
            status: 405, code: "method_not_allowed",
            message: "This path allows \(allowed.joined(separator: ", ")).",
            headers: [("Allow", allowed.joined(separator: ", "))])
    }

    static let usernameTaken = APIError(
        status: 409, code: "username_taken", message: "That username is taken.")

    static func payloadTooLarge(limit: Int) -> APIError {
        APIError(status: 413, code: "payload_too_large", message: "A request body is at most \(limit) bytes.")
    }

    static let unsupportedMediaType = APIError(
        status: 415, code: "unsupported_media_type", message: "The body must be sent as Content-Type: application/json.")

    static let idempotencyKeyReused = APIError(
        status: 422, code: "idempotency_key_reused",
        message: "This Idempotency-Key was already used with a different request.")

    /// `forwardable`: whether `Prefer: forward` would carry this request out (operator calls
    /// are never forwarded, so their answer does not offer it).
    static func notLeader(_ leader: PeerAddress, location: String, forwardable: Bool = true) -> APIError {
        let forward = forwardable
            ? #", or send the header "Prefer: forward" to have this replica carry the write out through the leader"#
            : ""
        var error = APIError(
            status: 307, code: "not_leader",
            message: """
                This replica is a follower; the leader is replica \(leader.id) at \(leader.url). Follow the redirect \
                with your credentials (curl --location-trusted)\(forward), or write to the leader named in error.leader.
                """,
            headers: [("Location", location)])
        error.leader = leader
        return error
    }

    static let noLeader = APIError(
        status: 503, code: "no_leader", message: "No leader is known right now; retry shortly.",
        headers: [("Retry-After", "1")])

    static let storageFull = APIError(
        status: 503, code: "storage_full",
        message: "This replica is short of disk space (below its --min-free-disk reserve, or full), so it takes no writes, "
            + "and once its disk is full no linearizable reads either; consistency=stale reads go on. Retry once space is freed.",
        headers: [("Retry-After", "5")])

    static func unavailable(_ message: String) -> APIError {
        APIError(status: 503, code: "unavailable", message: message, headers: [("Retry-After", "1")])
    }

    static func internalError(_ message: String) -> APIError {
        APIError(status: 500, code: "internal_error", message: message)
    }
}

/// A replica's id and advertised base URL.
public struct PeerAddress: Sendable, Equatable, Codable {
    public var id: Int
    public var url: String

    public init(id: Int, url: String) {
        self.id = id
        self.url = url
    }
}
