/// An HTTP request as the gateway's handlers see it: plain Swift values, no C types.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The decoded path, without the query.
    public var path: String
    /// Query parameters in the order given; a parameter without `=` has an empty value.
    public var query: [(name: String, value: String)]
    /// Header values by lowercased name.
    public var headers: [String: String]
    public var body: [UInt8]
    /// True when a query parameter was not valid UTF-8.
    public var hasMalformedQuery: Bool
    /// Lowercased names of headers whose value was not valid UTF-8; they are not in `headers`.
    public var malformedHeaderNames: Set<String>

    public init(
        method: String, path: String, query: [(name: String, value: String)] = [],
        headers: [String: String] = [:], body: [UInt8] = [], hasMalformedQuery: Bool = false,
        malformedHeaderNames: Set<String> = []
    ) {
        self.malformedHeaderNames = malformedHeaderNames
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.hasMalformedQuery = hasMalformedQuery
    }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }

    public func queryValue(_ name: String) -> String? { query.first { $0.name == name }?.value }

    /// The path and query as sent, percent-encoded again: for redirects, forwarded writes and
    /// the access log. The path comes decoded, so a `?`, `#`, space or line break in it must be
    /// encoded again, or the target would change meaning (a forwarded `DELETE /v1/accounts/a%3Fb`
    /// deleting `a`) and a log line could be forged.
    public var pathAndQuery: String {
        let path = percentEncodedPath(path)
        guard !query.isEmpty else { return path }
        let pairs = query.map { "\(percentEncoded($0.name))=\(percentEncoded($0.value))" }
        return path + "?" + pairs.joined(separator: "&")
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// What a handler gives back: an answer now, or work whose answer comes later while the
/// connection stays suspended.
public enum HTTPReply: Sendable {
    case now(HTTPResponse)
    case later(@Sendable () async -> HTTPResponse)
    /// Called at once with the responder of the suspended connection, which someone must
    /// answer exactly once. Unlike `later`, nothing (no task) need be held while waiting.
    case deferred(@Sendable (HTTPResponder) -> Void)
}

/// Answers one suspended request; only the first answer counts.
///
/// An answer may be left as work that makes the response: the server runs it on the epoll
/// thread, which must wake to queue the response anyway, so a caller on another thread (the
/// Raft driver) hands off the encoding without waking a third thread for it.
public struct HTTPResponder: Sendable {
    public typealias MakeResponse = @Sendable () -> HTTPResponse

    let answerOnce: @Sendable (@escaping MakeResponse) -> Void
    private let onClientLeaving: @Sendable (@escaping @Sendable () -> Void) -> Void

    /// `whenClientLeaves` registers what to do if the client goes away before the answer.
    public init(
        _ answerOnce: @escaping @Sendable (@escaping MakeResponse) -> Void,
        whenClientLeaves: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void
    ) {
        self.answerOnce = answerOnce
        self.onClientLeaving = whenClientLeaves
    }

    /// A responder that is never told of its client leaving.
    public init(_ answerOnce: @escaping @Sendable (@escaping MakeResponse) -> Void) {
        self.init(answerOnce, whenClientLeaves: { _ in })
    }

    public func answer(_ response: HTTPResponse) { answerOnce { response } }

    /// Answers with what `makeResponse` returns, computed on the epoll thread.
    public func answer(making makeResponse: @escaping MakeResponse) { answerOnce(makeResponse) }

    /// Calls `action` once if the client closes its connection before it is answered (at once if
    /// it already has): a long wait can then end early instead of holding the connection. The
    /// answer given then is still queued, and dropped with the connection.
    public func whenClientLeaves(_ action: @escaping @Sendable () -> Void) { onClientLeaving(action) }

    /// The same responder, answering through `transform` first.
    func mapping(_ transform: @escaping @Sendable (HTTPResponse) -> HTTPResponse) -> HTTPResponder {
        HTTPResponder({ [answerOnce] make in answerOnce { transform(make()) } }, whenClientLeaves: onClientLeaving)
    }
}

public protocol HTTPRequestHandler: Sendable {
    func handle(_ request: HTTPRequest) -> HTTPReply
    /// Refuses a request from its method, path, query and headers alone, before a byte of its
    /// body is read (`head.body` is empty), or returns nil to let it through. It runs on the
    /// epoll thread, so it does no I/O.
    func screen(_ head: HTTPRequest) -> HTTPResponse?
}

extension HTTPRequestHandler {
    public func screen(_ head: HTTPRequest) -> HTTPResponse? { nil }
}

/// Every byte but the unreserved ones and `*` (a query's wildcard) as `%XX`.
func percentEncoded(_ text: String) -> String {
    percentEncoded(text) { isUnreserved($0) || $0 == UInt8(ascii: "*") }
}

/// Every byte but the unreserved ones and `/` as `%XX`: the API's paths (usernames are
/// `A-Z a-z 0-9 _ . -`) come out unchanged.
func percentEncodedPath(_ path: String) -> String {
    percentEncoded(path) { isUnreserved($0) || $0 == UInt8(ascii: "/") }
}

/// `text` with every byte `kept` refuses as `%XX`; `text` itself when nothing needs it.
private func percentEncoded(_ text: String, keeping kept: (UInt8) -> Bool) -> String {
    guard text.utf8.contains(where: { !kept($0) }) else { return text }
    var result = ""
    for byte in text.utf8 {
        if kept(byte) {
            result.unicodeScalars.append(Unicode.Scalar(byte))
        } else {
            result += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
        }
    }
    return result
}

/// RFC 3986's unreserved characters.
private func isUnreserved(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
         UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
        true
    default:
        false
    }
}

extension Collection<UInt8> {
    /// Whether these bytes spell `lowercase`, ASCII letters in either case. Nothing is
    /// allocated: header names and values are compared so for every request (issue 13).
    func equalsIgnoringASCIICase(_ lowercase: String) -> Bool {
        count == lowercase.utf8.count
            && zip(self, lowercase.utf8).allSatisfy { $0 == $1 || ((65...90).contains($0) && $0 | 0x20 == $1) }
    }
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs, the only whitespace of an HTTP header value
    /// (Foundation's trimming costs more than the rest of a send's header handling).
    var trimmingBlanks: SubSequence {
        var text = self[...]
        while text.first == " " || text.first == "\t" { text = text.dropFirst() }
        while text.last == " " || text.last == "\t" { text = text.dropLast() }
        return text
    }
}
