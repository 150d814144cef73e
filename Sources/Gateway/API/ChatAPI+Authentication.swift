import Foundation
import GRDB
import ReplicaCore

/// The caller behind a bearer token.
struct Caller: Sendable {
    var tokenHash: String
    var account: AccountRecord
}

extension ChatAPI {
    /// The caller's session, looked up in this replica's state. A session opened (or used
    /// elsewhere) moments ago may not have been applied here yet, so a miss is checked again
    /// after a linearizable read. A session unused for the TTL is a miss (see `SessionPolicy`).
    func authenticate(_ request: HTTPRequest) async throws(APIError) -> Caller {
        if let caller = try callerKnownHere(request) { return caller }
        try await awaitLinearizableRead(request)
        if let caller = try callerKnownHere(request) { return caller }
        throw APIError.unauthorized
    }

    /// The caller behind the request's token if this replica's applied state holds a live
    /// session for it, read at once on the calling thread; nil on a miss, which only the
    /// linearizable re-check of `authenticate` may turn into a 401.
    func callerKnownHere(_ request: HTTPRequest) throws(APIError) -> Caller? {
        guard let token = Self.bearerToken(request) else { throw APIError.unauthorized }
        return try liveCaller(SessionToken.hash(token))
    }

    /// The token hash and account key of the request's caller if the in-memory session table
    /// holds a live session for its token: no I/O. Nil on a miss, which the table's lag behind
    /// the database can cause; `authenticate` then decides.
    func sessionInTable(_ request: HTTPRequest) throws(APIError) -> (tokenHash: String, accountKey: String)? {
        guard let token = Self.bearerToken(request) else { throw APIError.unauthorized }
        let tokenHash = SessionToken.hash(token)
        guard let session = dependencies.database.sessions.entry(forTokenHash: tokenHash),
              isLive(tokenHash, lastUsedAtMillis: session.lastUsedAtMillis)
        else { return nil }
        return (tokenHash, session.accountKey)
    }

    /// The caller behind an unexpired session.
    private func liveCaller(_ tokenHash: String) throws(APIError) -> Caller? {
        guard let (session, account) = try readState({ try ChatQueries.session(forTokenHash: tokenHash, in: $0) }),
              isLive(tokenHash, lastUsedAtMillis: session.lastUsedAtMillis)
        else { return nil }
        return Caller(tokenHash: tokenHash, account: account)
    }

    /// Whether a session last used at that time is unexpired; notes its use when the recorded
    /// one grows old.
    private func isLive(_ tokenHash: String, lastUsedAtMillis: Int64) -> Bool {
        let now = dependencies.clock()
        let policy = dependencies.sessionPolicy
        if policy.isExpired(lastUsedAtMillis: lastUsedAtMillis, now: now) { return false }
        if policy.needsTouch(lastUsedAtMillis: lastUsedAtMillis, now: now) {
            dependencies.sessionUses?.note(tokenHash)
        }
        return true
    }

    /// The token of an `Authorization: Bearer <token>` header (the scheme in any case).
    static func bearerToken(_ request: HTTPRequest) -> String? {
        guard let value = request.header("Authorization") else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingBlanks
        return token.isEmpty ? nil : String(token)
    }

    func awaitLinearizableRead(_ request: HTTPRequest) async throws(APIError) {
        do {
            try await dependencies.replicator.awaitLinearizableRead()
        } catch .timedOut {
            throw APIError.unavailable("This read could not be confirmed with the leader in time; retry it.")
        } catch {
            throw apiError(for: error, request: request)
        }
    }

    /// Reads this replica's applied state; a failing read is a 503, never a crash.
    func readState<T>(_ body: (GRDB.Database) throws -> T) throws(APIError) -> T {
        do {
            return try dependencies.database.read(body)
        } catch {
            dependencies.logger.error("reading state failed", metadata: ["error": "\(error)"])
            throw APIError.unavailable("The replica could not read its state.")
        }
    }
}
