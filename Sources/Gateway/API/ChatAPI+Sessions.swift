import ReplicaCore

extension ChatAPI {
    func logIn(_ context: RouteContext) -> HTTPReply {
        let credentials: RequestBodies.Credentials
        do throws(APIError) {
            credentials = try RequestDecoding.body(RequestBodies.Credentials.self, from: context.request)
        } catch {
            return .error(error)
        }
        if let redirect = routeWrite(context.request) { return .error(redirect) }
        return later { [self] () async throws(APIError) -> HTTPResponse in
            let account = try await findAccount(credentials.username, request: context.request)
            // An unknown user costs a hash too, so timing does not tell which usernames exist.
            let storedHash = account?.passwordHash ?? unknownUserHash
            let hasher = dependencies.passwordHasher
            let matches = try await dependencies.hashingPool.run { hasher.verify(credentials.password, against: storedHash) }
            guard matches, let account else {
                throw APIError.invalidCredentials
            }
            makeRoomForSession(of: account)
            let token = SessionToken.generate()
            let command = ChatCommand.openSession(.init(
                username: account.username, verifiedPasswordHash: account.passwordHash,
                tokenHash: SessionToken.hash(token), createdAtMillis: dependencies.clock()))
            guard case .sessionOpened(let username) = try await submit(command, request: context.request) else {
                throw APIError.internalError("Logging in produced an unexpected outcome.")
            }
            return WireFormat.response(201, WireFormat.Session(token: token, username: username))
        }
    }

    /// Closes sessions of `account` (`SessionTable.leastRecentlyUsed`) so that, with the one
    /// about to open, it holds at most `SessionPolicy.maxPerAccount`. The leader decides from
    /// its session table and proposes ordinary closes just before the new session, so every
    /// replica applies the same commands and they usually share its commit. The login does
    /// not wait for them: the limit is kept loosely. A close that fails is tried again by the
    /// next login, as is what is beyond `maxClosesPerLogin` (after the limit was lowered), and
    /// two logins at once may each leave one more.
    private func makeRoomForSession(of account: AccountRecord) {
        let keeping = dependencies.sessionPolicy.maxPerAccount - 1
        let closing = dependencies.database.sessions.leastRecentlyUsed(ofAccount: account.key, keeping: keeping)
        for tokenHash in closing.prefix(Self.maxClosesPerLogin) {
            dependencies.replicator.submit(.closeSession(.init(tokenHash: tokenHash)), timeline: nil) { _ in }
        }
    }

    static let maxClosesPerLogin = 8

    /// The account named `username`; a miss is checked again after a linearizable read.
    func findAccount(_ username: String, request: HTTPRequest) async throws(APIError) -> AccountRecord? {
        guard Username.isValid(username) else { return nil }
        let key = Username.key(username)
        if let account = try readState({ try SQLiteChatStore(db: $0).account(forKey: key) }) { return account }
        try await awaitLinearizableRead(request)
        return try readState { try SQLiteChatStore(db: $0).account(forKey: key) }
    }

    func logOut(_ context: RouteContext) -> HTTPReply {
        return later { [self] () async throws(APIError) -> HTTPResponse in
            let caller = try await authenticate(context.request)
            if let redirect = routeWrite(context.request) { throw redirect }
            _ = try await submit(.closeSession(.init(tokenHash: caller.tokenHash)), request: context.request)
            return WireFormat.noContent()
        }
    }
}

extension ChatAPI {
    /// `POST /internal/sessions/used`: a follower hands the leader sessions it saw in use; the
    /// leader records their use at its own clock (see `SessionUseRecorder`).
    func recordSessionUse(_ context: RouteContext) -> HTTPReply {
        let used: RequestBodies.SessionsUsed
        do throws(APIError) {
            used = try RequestDecoding.body(RequestBodies.SessionsUsed.self, from: context.request)
        } catch {
            return .error(error)
        }
        guard used.tokenHashes.count <= SessionUseRecorder.maxHashesPerTouch,
              used.tokenHashes.allSatisfy({ $0.utf8.count <= 128 })
        else {
            return .error(.invalidRequest("At most \(SessionUseRecorder.maxHashesPerTouch) token hashes of 128 bytes."))
        }
        if let redirect = routeWrite(context.request) { return .error(redirect) }
        return later { [self] () async throws(APIError) -> HTTPResponse in
            let touch = ChatCommand.touchSessions(.init(tokenHashes: used.tokenHashes, atMillis: dependencies.clock()))
            _ = try await submit(touch, request: context.request)
            return WireFormat.noContent()
        }
    }
}
