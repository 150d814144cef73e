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
        guard let token = Self.bearerToken(request) else { throw APIError.unauthorized }
        let tokenHash = SessionToken.hash(token)
        if let caller = try await liveCaller(tokenHash) { return caller }
        try await awaitLinearizableRead(request)
        if let caller = try await liveCaller(tokenHash) { return caller }
        throw APIError.unauthorized
    }

    /// The caller behind an unexpired session; notes its use when the recorded one grows old.
    private func liveCaller(_ tokenHash: String) async throws(APIError) -> Caller? {
        guard let (session, account) = try readState({ try ChatQueries.session(forTokenHash: tokenHash, in: $0) })
        else { return nil }
        let now = dependencies.clock()
        let policy = dependencies.sessionPolicy
        if policy.isExpired(lastUsedAtMillis: session.lastUsedAtMillis, now: now) { return nil }
        if policy.needsTouch(lastUsedAtMillis: session.lastUsedAtMillis, now: now) {
            await dependencies.sessionUses?.note(tokenHash)
        }
        return Caller(tokenHash: tokenHash, account: account)
    }

    static func bearerToken(_ request: HTTPRequest) -> String? {
        guard let value = request.header("Authorization") else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    func awaitLinearizableRead(_ request: HTTPRequest) async throws(APIError) {
        do {
            try await dependencies.replicator.awaitLinearizableRead()
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
