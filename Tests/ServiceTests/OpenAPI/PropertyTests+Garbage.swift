import Foundation
import PropertyBased
import Testing

/// Generators of malformed input: bytes, JSON of the wrong shape, odd query strings and headers.
enum GarbageGen {
    /// JSON values chosen to break decoders: overflows, fractions, lone surrogates, nesting.
    static let awkwardJSONValues = [
        "null", "true", "false", "0", "-1", "1.5", "1e400", "-1e400", "9223372036854775807", "9223372036854775808",
        "-9223372036854775809", "18446744073709551616", #""""#, #""\u0000""#, #""\ud800""#, #""\udc00\ud800""#,
        #""é中🙂""#, "[]", "{}", #"[1, "a", null]"#, #"{"a": {"b": [{}]}}"#, #""password123""#, #""alice""#,
        String(repeating: "[", count: 200) + String(repeating: "]", count: 200),
    ]

    static let fieldNames = ["username", "password", "to", "body", "up_to", "", "USERNAME", "extra", "__proto__"]

    static let rawBytes = Gen<UInt8>.value(in: 0...255).array(of: 0...200)

    /// A JSON object of one to three fields with awkward names and values.
    static let awkwardJSONObject = zip(
        Gen<String?>.element(of: fieldNames).map { $0! }.array(of: 1...3),
        Gen<String?>.element(of: awkwardJSONValues).map { $0! }.array(of: 3)
    ).map { names, values in
        "{" + names.enumerated().map { index, name in "\"\(name)\": \(values[index])" }.joined(separator: ", ") + "}"
    }

    /// Bytes or awkward JSON, half and half.
    static let body = zip(Gen.bool, rawBytes, awkwardJSONObject).map { isRaw, bytes, json in
        isRaw ? bytes : Array(json.utf8)
    }

    static let contentTypes = [
        "application/json", "application/json", "application/json; charset=utf-8", "APPLICATION/JSON",
        "text/plain", "application/jsonx", "", "multipart/form-data; boundary=x", "application/json;;;",
    ]
    static let contentType = Gen<String?>.element(of: contentTypes).map { $0! }

    static let queryNames = ["pattern", "limit", "after", "wait", "consistency", "x", "", "limit[]", "%FF"]
    static let queryValues = [
        "", "0", "1", "-1", "60", "61", "1000", "1001", "9223372036854775807", "9223372036854775808", "1e3", "0x10",
        "+5", " 5", "abc", "*", "?", "a*b?", "%FF%FE", "%00", "%", "%2", "%C3%A9", "stale", "linearizable", "STALE",
        String(repeating: "a", count: 65), "a%20b", "a+b", "..", "-", "%E4%B8%AD",
    ]
    /// One to four `name=value` pairs, some without `=`, separated by `&`.
    static let query = zip(
        Gen<String?>.element(of: queryNames).map { $0! }.array(of: 1...4),
        Gen<String?>.element(of: queryValues).map { $0! }.array(of: 4),
        Gen.bool.array(of: 4)
    ).map { names, values, hasValue in
        names.enumerated().map { index, name in hasValue[index] ? "\(name)=\(values[index])" : name }.joined(separator: "&")
    }

    /// Printable ASCII of 0 to 200 characters (what an HTTP header value can carry).
    static let headerValue = Gen<UInt8>.value(in: 0x20...0x7E).map { Character(UnicodeScalar($0)) }.string(of: 0...200)

    /// Usernames of any Unicode for a path segment, which the generated client percent-encodes.
    static let pathUsername = Gen.character(in: "\u{20}"..."\u{2FF}").string(of: 0...40)
}

extension PropertyTests {
    /// The documented error shape: JSON with a snake_case `code` and a message.
    static func expectNoServerError(_ exchange: Exchange?, _ context: String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let exchange else {
            Issue.record("no exchange was recorded for \(context)", sourceLocation: sourceLocation)
            return
        }
        #expect(exchange.status < 500, "\(context) answered \(exchange.status): \(String(decoding: exchange.body, as: UTF8.self))", sourceLocation: sourceLocation)
        guard exchange.status >= 400 else { return }
        #expect(exchange.contentType?.hasPrefix("application/json") == true, "\(context): \(exchange.contentType ?? "no Content-Type")", sourceLocation: sourceLocation)
        let error = try? JSONDecoder().decode(Components.Schemas._Error.self, from: exchange.body)
        #expect(error?.error.code.wholeMatch(of: /[a-z][a-z0-9_]*/) != nil, "\(context): not an error body: \(String(decoding: exchange.body, as: UTF8.self))", sourceLocation: sourceLocation)
        #expect(error?.error.message.isEmpty == false, "\(context)", sourceLocation: sourceLocation)
    }

    /// Sends one operation; a decoding failure of the generated client is left to the exchange check.
    static func send(_ operation: @Sendable () async throws -> Void) async {
        do { try await operation() } catch { /* the recorded exchange says what went wrong */ }
    }

    @Test func garbageBodiesNeverCauseA5xx() async throws {
        let shared = try await Self.connection()
        let user = try await shared.register(APIGen.uniqueMiddle())
        await propertyCheck(
            count: Self.iterationCount, input: Gen.int(in: 0...3), GarbageGen.body, GarbageGen.contentType
        ) { operation, body, contentType in
            let api = shared.authenticated(as: user).rewriting(.body(body, contentType: contentType.isEmpty ? nil : contentType))
            let operationID: String
            switch operation {
            case 0:
                operationID = "createAccount"
                await Self.send { _ = try await api.client.createAccount(body: .json(.init(username: "x", password: "x"))) }
            case 1:
                operationID = "createSession"
                await Self.send { _ = try await api.client.createSession(body: .json(.init(username: "x", password: "x"))) }
            case 2:
                operationID = "sendMessage"
                await Self.send { _ = try await api.client.sendMessage(body: .json(.init(to: user.username, body: "x"))) }
            default:
                operationID = "acknowledgeInbox"
                await Self.send { _ = try await api.client.acknowledgeInbox(body: .json(.init(up_to: 0))) }
            }
            let bodyText = String(decoding: body, as: UTF8.self).debugDescription
            Self.expectNoServerError(api.exchanges.last(operationID), "\(operationID) with \(contentType) \(bodyText)")
        }
        #expect(try await shared.client.getHealth().ok.body.json.status == .ok)
    }

    @Test func garbageQueriesNeverCauseA5xx() async throws {
        let shared = try await Self.connection()
        let user = try await shared.register(APIGen.uniqueMiddle())
        await propertyCheck(count: Self.iterationCount, input: Gen.bool, GarbageGen.query) { isInbox, query in
            let api = shared.authenticated(as: user).rewriting(.query(query))
            let operationID = isInbox ? "readInbox" : "listAccounts"
            if isInbox {
                await Self.send { _ = try await api.client.readInbox() }
            } else {
                await Self.send { _ = try await api.client.listAccounts() }
            }
            Self.expectNoServerError(api.exchanges.last(operationID), "\(operationID)?\(query)")
        }
        #expect(try await shared.client.getHealth().ok.body.json.status == .ok)
    }

    @Test func garbageIdempotencyKeysAndPathUsernamesNeverCauseA5xx() async throws {
        let shared = try await Self.connection()
        let user = try await shared.register(APIGen.uniqueMiddle())
        let api = shared.authenticated(as: user)
        await propertyCheck(count: Self.iterationCount, input: GarbageGen.headerValue, GarbageGen.pathUsername) { key, username in
            let keyed = api.rewriting(.header("Idempotency-Key", key))
            await Self.send { _ = try await keyed.client.sendMessage(body: .json(.init(to: user.username, body: "k"))) }
            Self.expectNoServerError(keyed.exchanges.last("sendMessage"), "sendMessage with Idempotency-Key \(key.debugDescription)")
            await Self.send { _ = try await api.client.deleteAccount(path: .init(username: username)) }
            Self.expectNoServerError(api.exchanges.last("deleteAccount"), "deleteAccount of \(username.debugDescription)")
        }
        #expect(try await shared.client.getHealth().ok.body.json.status == .ok)
    }
}
