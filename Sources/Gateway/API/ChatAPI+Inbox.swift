import ReplicaCore

extension ChatAPI {
    func readInbox(_ context: RouteContext) -> HTTPReply {
        let request = context.request
        guard Self.bearerToken(request) != nil else { return .error(.unauthorized) }
        return .deferred { responder in
            Task {
                do throws(APIError) {
                    // Authentication comes before validation, so a bad query with a bad token is a 401.
                    _ = try await authenticate(request)
                    let after = try RequestDecoding.integer("after", in: request, range: 0...Int64.max, default: nil)
                    let waitSeconds = try RequestDecoding.integer(
                        "wait", in: request, range: 0...Self.maxWaitSeconds, default: 0)!
                    let limit = try RequestDecoding.integer(
                        "limit", in: request, range: 1...Self.maxPageSize, default: Self.defaultPageSize)!
                    if !(try Self.isStale(request)) { try await awaitLinearizableRead(request) }
                    // Again, after the read index: the account's acknowledged position as of now.
                    let caller = try await authenticate(request)
                    let query = InboxQuery(
                        accountKey: caller.account.key, tokenHash: caller.tokenHash,
                        after: after ?? caller.account.ackedSeq, limit: limit)
                    let waiters = dependencies.waiters
                    let ticket = waiters.register(accountKey: query.accountKey)
                    let messages = try readMessages(query, ticket: ticket)
                    guard messages.isEmpty && waitSeconds > 0 else {
                        waiters.cancel(ticket)
                        responder.answer(Self.inboxResponse(messages, query: query))
                        return
                    }
                    // The task ends here; the wait holds only the query and the responder.
                    waiters.wait(ticket, seconds: Double(waitSeconds)) { [self] in
                        responder.answer(answerAfterWait(query))
                    }
                } catch {
                    responder.answer(error.response)
                }
            }
        }
    }

    /// What a long-poll asks for, kept while it waits.
    struct InboxQuery: Sendable {
        var accountKey: String
        var tokenHash: String
        var after: Int64
        var limit: Int64
    }

    private func answerAfterWait(_ query: InboxQuery) -> HTTPResponse {
        do throws(APIError) {
            // The session may have been closed, or the account deleted, while it waited: check
            // it in the same read as the messages.
            let messages = try readState { db -> [StoredMessage]? in
                guard try ChatQueries.session(forTokenHash: query.tokenHash, in: db) != nil else { return nil }
                return try ChatQueries.messages(forAccount: query.accountKey, after: query.after, limit: Int(query.limit), in: db)
            }
            guard let messages else { throw APIError.unauthorized }
            return Self.inboxResponse(messages, query: query)
        } catch {
            return error.response
        }
    }

    private static func inboxResponse(_ messages: [StoredMessage], query: InboxQuery) -> HTTPResponse {
        WireFormat.response(200, WireFormat.Inbox(
            messages: messages.map(WireFormat.Message.init), nextAfter: messages.last?.seq ?? query.after))
    }

    /// The first read of a long-poll; a failed read spends the ticket registered before it.
    private func readMessages(_ query: InboxQuery, ticket: InboxWaiters.Ticket) throws(APIError) -> [StoredMessage] {
        do throws(APIError) {
            return try readState {
                try ChatQueries.messages(forAccount: query.accountKey, after: query.after, limit: Int(query.limit), in: $0)
            }
        } catch {
            dependencies.waiters.cancel(ticket)
            throw error
        }
    }

    static func isStale(_ request: HTTPRequest) throws(APIError) -> Bool {
        switch request.queryValue("consistency") {
        case nil, "linearizable": false
        case "stale": true
        default: throw APIError.invalidRequest("The query parameter consistency must be linearizable or stale.")
        }
    }

    func acknowledge(_ context: RouteContext) -> HTTPReply {
        let request = context.request
        return later { () async throws(APIError) -> HTTPResponse in
            let caller = try await authenticate(request)
            let body = try RequestDecoding.body(RequestBodies.Acknowledge.self, from: request)
            guard body.upTo >= 0 else { throw .invalidRequest("up_to must be 0 or more.") }
            if let redirect = routeWrite(request) { throw redirect }
            let outcome = try await submit(.acknowledge(.init(tokenHash: caller.tokenHash, upTo: body.upTo)), request: request)
            guard case .acknowledged(let upTo) = outcome else {
                throw APIError.internalError("Acknowledging produced an unexpected outcome.")
            }
            return WireFormat.response(200, WireFormat.Acknowledged(ackedUpTo: upTo))
        }
    }
}
