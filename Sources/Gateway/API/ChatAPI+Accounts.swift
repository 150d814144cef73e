import ReplicaCore

extension ChatAPI {
    static let maxPageSize: Int64 = 1000
    static let defaultPageSize: Int64 = 100

    func createAccount(_ context: RouteContext) -> HTTPReply {
        let credentials: RequestBodies.Credentials
        do throws(APIError) {
            credentials = try RequestDecoding.body(RequestBodies.Credentials.self, from: context.request)
        } catch {
            return .error(error)
        }
        guard Username.isValid(credentials.username) else { return .error(.invalidUsername) }
        guard (8...256).contains(credentials.password.utf8.count) else { return .error(.invalidPassword) }
        if let redirect = routeWrite(context.request) { return .error(redirect) }
        return later { [self] () async throws(APIError) -> HTTPResponse in
            // Hashing takes ~100 ms by design, so it runs on the hashing pool's own threads.
            let hasher = dependencies.passwordHasher
            let passwordHash = try await dependencies.hashingPool.run { hasher.hash(credentials.password) }
            let command = ChatCommand.createAccount(.init(
                username: credentials.username, passwordHash: passwordHash, createdAtMillis: dependencies.clock()))
            guard case .accountCreated(let account) = try await submit(command, request: context.request) else {
                throw APIError.internalError("Creating an account produced an unexpected outcome.")
            }
            return WireFormat.response(201, WireFormat.Account(
                username: account.username, createdAt: Timestamp.rfc3339(millis: account.createdAtMillis)))
        }
    }

    func listAccounts(_ context: RouteContext) -> HTTPReply {
        let request = context.request
        guard Self.bearerToken(request) != nil else { return .error(.unauthorized) }
        return later { [self] () async throws(APIError) -> HTTPResponse in
            // Authentication comes before validation, so a bad query with a bad token is a 401.
            _ = try await authenticate(request)
            let isStale = try Self.isStale(request)
            let pattern = try Self.accountPattern(RequestDecoding.query("pattern", in: request) ?? "*")
            let limit = try RequestDecoding.integer(
                "limit", in: request, range: 1...Self.maxPageSize, default: Self.defaultPageSize)!
            let afterKey = try RequestDecoding.query("after", in: request).map(Username.key)
            if !isStale { try await awaitLinearizableRead(request) }
            let page = try readState {
                try ChatQueries.accounts(matching: pattern, afterKey: afterKey, limit: Int(limit) + 1, in: $0)
            }
            let shown = page.prefix(Int(limit))
            return WireFormat.response(200, WireFormat.AccountsPage(
                accounts: shown.map {
                    WireFormat.Account(username: $0.username, createdAt: Timestamp.rfc3339(millis: $0.createdAtMillis))
                },
                next: page.count > shown.count ? shown.last?.username : nil))
        }
    }

    /// Accepts globs of username characters with `*` and `?`, lowercased for SQLite's GLOB.
    static func accountPattern(_ pattern: String) throws(APIError) -> String {
        let allowed = pattern.utf8.allSatisfy { Username.isAllowed($0) || $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") }
        guard !pattern.isEmpty, pattern.utf8.count <= 64, allowed else {
            throw APIError.invalidRequest(
                "The pattern is 1 to 64 of A-Z a-z 0-9 _ . - and the wildcards * and ?.")
        }
        return Username.key(pattern)
    }

    func deleteAccount(_ context: RouteContext) -> HTTPReply {
        let username = context.parameters["username"] ?? ""
        return later { [self] () async throws(APIError) -> HTTPResponse in
            let caller = try await authenticate(context.request)
            if let redirect = routeWrite(context.request) { throw redirect }
            let command = ChatCommand.deleteAccount(.init(tokenHash: caller.tokenHash, username: username))
            _ = try await submit(command, request: context.request, subject: username)
            return WireFormat.noContent()
        }
    }
}
