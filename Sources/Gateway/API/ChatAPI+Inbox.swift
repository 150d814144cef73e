import ReplicaCore

extension ChatAPI {
    /// A stale read by a caller this replica knows is served on the epoll thread, with no task
    /// (and, when it names `after`, without reading the account: the session table has its
    /// key); a linearizable read, or a session not applied here yet, first waits in a task.
    func readInbox(_ context: RouteContext) -> HTTPReply {
        let request = context.request
        guard Self.bearerToken(request) != nil else { return .error(.unauthorized) }
        return .deferred { [self] responder in
            do throws(APIError) {
                // Authentication comes before validation, so a bad query with a bad token is a 401.
                if let session = try sessionInTable(request) {
                    let parameters = try InboxParameters(request)
                    if parameters.isStale, let after = parameters.after {
                        let query = InboxQuery(
                            accountKey: session.accountKey, tokenHash: session.tokenHash, after: after, limit: parameters.limit)
                        return serveInbox(query, waitSeconds: parameters.waitSeconds, responder: responder)
                    }
                }
            } catch {
                return responder.answer(error.response)
            }
            Task { [self] in
                do throws(APIError) {
                    _ = try await authenticate(request)
                    let parameters = try InboxParameters(request)
                    if !parameters.isStale { try await awaitLinearizableRead(request) }
                    // Again, after the read index: the account's acknowledged position as of now.
                    let caller = try await authenticate(request)
                    let query = InboxQuery(
                        accountKey: caller.account.key, tokenHash: caller.tokenHash,
                        after: parameters.after ?? caller.account.ackedSeq, limit: parameters.limit)
                    serveInbox(query, waitSeconds: parameters.waitSeconds, responder: responder)
                } catch {
                    responder.answer(error.response)
                }
            }
        }
    }

    /// The query of `GET /v1/inbox`, validated.
    struct InboxParameters {
        var after: Int64?
        var waitSeconds: Int64
        var limit: Int64
        var isStale: Bool

        init(_ request: HTTPRequest) throws(APIError) {
            after = try RequestDecoding.integer("after", in: request, range: 0...Int64.max, default: nil)
            waitSeconds = try RequestDecoding.integer("wait", in: request, range: 0...ChatAPI.maxWaitSeconds, default: 0)!
            limit = try RequestDecoding.integer(
                "limit", in: request, range: 1...ChatAPI.maxPageSize, default: ChatAPI.defaultPageSize)!
            isStale = try ChatAPI.isStale(request)
        }
    }

    /// Answers with the caller's messages now, or registers the long-poll to be answered when
    /// one arrives or its wait runs out.
    private func serveInbox(_ query: InboxQuery, waitSeconds: Int64, responder: HTTPResponder) {
        serveInbox(query, until: .now + .seconds(waitSeconds), responder: responder)
    }

    private func serveInbox(_ query: InboxQuery, until deadline: ContinuousClock.Instant, responder: HTTPResponder) {
        let waiters = dependencies.waiters
        let ticket = waiters.register(accountKey: query.accountKey, tokenHash: query.tokenHash)
        let messages: [StoredMessage]
        do throws(APIError) {
            // A long-poll that asks again after the last message it got need not read the inbox.
            messages = waiters.holdsNothing(after: query.after, for: ticket) ? [] : try readMessages(query, ticket: ticket)
        } catch {
            return responder.answer(error.response)
        }
        guard messages.isEmpty && deadline > .now else {
            waiters.cancel(ticket)
            return responder.answer(Self.inboxResponse(messages, query: query))
        }
        // A logout or deletion applied after the caller was authenticated and before the ticket
        // was registered woke nobody: without this look, the poll would sleep its whole wait.
        // The table is asked first; the database only when the table lacks the session, as it
        // does for a moment after a login is stored and before the applier notes it.
        guard isSessionLive(query) || isSessionStored(query) else {
            waiters.cancel(ticket)
            return responder.answer(APIError.unauthorized.response)
        }
        wait(ticket, for: query, until: deadline, responder: responder)
    }

    /// Waits with `ticket`, which found nothing after the query's position.
    private func wait(_ ticket: InboxWaiters.Ticket, for query: InboxQuery, until deadline: ContinuousClock.Instant, responder: HTTPResponder) {
        let waiters = dependencies.waiters
        // A client gone for good frees its connection now rather than when the wait runs out.
        // Set before the wait: a wake that comes at once may wait on with another ticket, whose
        // own hook must be the one left in place.
        responder.whenClientLeaves { waiters.endWait(ticket) }
        // The wait holds only the query and the responder; the epoll thread makes the answer.
        waiters.wait(ticket, until: deadline) { [self] arrival in
            if let arrival, arrival.replacedState, deadline - .now > .milliseconds(10) {
                // Never the driver's thread: `InboxWaiters` wakes these in tasks.
                return lookAgain(query, until: deadline, responder: responder)
            }
            if let arrival, !arrival.added.isEmpty, arrival.added.allSatisfy({ $0.seq <= query.after }),
               deadline - .now > .milliseconds(10) {
                // Woken by messages it has (it asked from a later position): it waits on, if the
                // waiters know of nothing else and the session holds, without reading the inbox
                // on this thread. Registered first, so a close applied meanwhile still wakes it.
                let next = waiters.register(accountKey: query.accountKey, tokenHash: query.tokenHash)
                if waiters.holdsNothing(after: query.after, for: next), isSessionLive(query) {
                    return wait(next, for: query, until: deadline, responder: responder)
                }
                waiters.cancel(next)
            }
            if let arrival, arrival.messages == nil, deadline - .now > .milliseconds(10) {
                // The batch did more than add messages (an acknowledgement, say, of those it
                // added): nothing may be left to answer with. Looked at in a task, off the
                // applier's thread, and waited on if so.
                Task { [self] in lookAgain(query, until: deadline, responder: responder) }
                return
            }
            responder.answer(making: { [self] in
                if let arrival { dependencies.metrics.recordStage("long_poll_wake", .now - arrival.appliedAt) }
                return answerAfterWait(query, arrival: arrival)
            })
        }
    }

    /// Looks at the inbox of a long-poll woken by a change that may have left it nothing to
    /// answer with (a snapshot replaced the state, or a batch acknowledged what it added):
    /// answers with what is there now (401 if its session is gone), or waits on until its deadline.
    private func lookAgain(_ query: InboxQuery, until deadline: ContinuousClock.Instant, responder: HTTPResponder) {
        let waiters = dependencies.waiters
        // Registered before the read, so a message applied meanwhile still wakes it.
        let ticket = waiters.register(accountKey: query.accountKey, tokenHash: query.tokenHash)
        let response: HTTPResponse
        do throws(APIError) {
            guard let messages = try messagesIfSessionLive(query) else { throw .unauthorized }
            if messages.isEmpty && deadline - .now > .milliseconds(10) {
                return wait(ticket, for: query, until: deadline, responder: responder)
            }
            response = Self.inboxResponse(messages, query: query)
        } catch {
            response = error.response
        }
        waiters.cancel(ticket)
        responder.answer(response)
    }

    /// What a long-poll asks for, kept while it waits.
    struct InboxQuery: Sendable {
        var accountKey: String
        var tokenHash: String
        var after: Int64
        var limit: Int64
    }

    /// Whether the long-poll's session is still in the session table, for its account.
    private func isSessionLive(_ query: InboxQuery) -> Bool {
        dependencies.database.sessions.entry(forTokenHash: query.tokenHash)?.accountKey == query.accountKey
    }

    /// Whether the database holds the query's session; true when it cannot tell (the wait
    /// ends with the database's answer anyway).
    private func isSessionStored(_ query: InboxQuery) -> Bool {
        do throws(APIError) {
            return try readState { try ChatQueries.session(forTokenHash: query.tokenHash, in: $0) } != nil
        } catch {
            return true
        }
    }

    private func answerAfterWait(_ query: InboxQuery, arrival: InboxWaiters.Arrival?) -> HTTPResponse {
        // The messages that woke it are all there is after its position, as of the batch that
        // added them; the session table, never ahead of the database, says the session outlived it.
        if let arrived = arrival?.messages,
           dependencies.database.sessions.entry(forTokenHash: query.tokenHash)?.accountKey == query.accountKey {
            let page = arrived.lazy.filter { $0.seq > query.after }.prefix(Int(query.limit))
            if !page.isEmpty { return Self.inboxResponse(Array(page), query: query) }
        }
        do throws(APIError) {
            guard let messages = try messagesIfSessionLive(query) else { throw APIError.unauthorized }
            return Self.inboxResponse(messages, query: query)
        } catch {
            return error.response
        }
    }

    /// The page the query asks for, or nil when its session is gone. The session may have been
    /// closed, or the account deleted, while the long-poll waited: it is checked in the same
    /// read as the messages.
    private func messagesIfSessionLive(_ query: InboxQuery) throws(APIError) -> [StoredMessage]? {
        try readState { db -> [StoredMessage]? in
            guard try ChatQueries.session(forTokenHash: query.tokenHash, in: db) != nil else { return nil }
            return try ChatQueries.messages(forAccount: query.accountKey, after: query.after, limit: Int(query.limit), in: db)
        }
    }

    private static func inboxResponse(_ messages: [StoredMessage], query: InboxQuery) -> HTTPResponse {
        let inbox = WireFormat.Inbox(
            messages: messages.map(WireFormat.Message.init), nextAfter: messages.last?.seq ?? query.after)
        return WireFormat.response(200, json: inbox.json)
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
        switch try RequestDecoding.query("consistency", in: request) {
        case nil, "linearizable": false
        case "stale": true
        default: throw APIError.invalidRequest("The query parameter consistency must be linearizable or stale.")
        }
    }

    func acknowledge(_ context: RouteContext) -> HTTPReply {
        let request = context.request
        return later { [self] () async throws(APIError) -> HTTPResponse in
            let caller = try await authenticate(request)
            let body = try RequestDecoding.body(RequestBodies.Acknowledge.self, from: request)
            guard body.upTo >= 0 else { throw .invalidRequest("up_to must be 0 or more.") }
            if let redirect = routeWrite(request) { throw redirect }
            let outcome = try await submit(.acknowledge(.init(tokenHash: caller.tokenHash, upTo: body.upTo)), request: request)
            guard case .acknowledged(_, let upTo) = outcome else {
                throw APIError.internalError("Acknowledging produced an unexpected outcome.")
            }
            return WireFormat.response(200, WireFormat.Acknowledged(ackedUpTo: upTo))
        }
    }
}
