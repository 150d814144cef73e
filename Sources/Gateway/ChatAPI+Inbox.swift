import ReplicaCore

extension ChatAPI {
    func readInbox(_ context: RouteContext) -> HTTPReply {
        let request = context.request
        let after: Int64?
        let waitSeconds: Int64
        let limit: Int64
        let isStale: Bool
        do throws(APIError) {
            after = try RequestDecoding.integer("after", in: request, range: 0...Int64.max, default: nil)
            waitSeconds = try RequestDecoding.integer("wait", in: request, range: 0...Self.maxWaitSeconds, default: 0)!
            limit = try RequestDecoding.integer("limit", in: request, range: 1...Self.maxPageSize, default: Self.defaultPageSize)!
            isStale = try Self.isStale(request)
        } catch {
            return .error(error)
        }
        guard Self.bearerToken(request) != nil else { return .error(.unauthorized) }
        return later { () async throws(APIError) -> HTTPResponse in
            if !isStale { try await awaitLinearizableRead(request) }
            let caller = try await authenticate(request)
            let start = after ?? caller.account.ackedSeq
            let waiters = dependencies.waiters
            let ticket = waiters.register(accountKey: caller.account.key)
            var messages = try readMessages(caller.account.key, after: start, limit: limit, ticket: ticket)
            if messages.isEmpty && waitSeconds > 0 {
                await waiters.wait(ticket, seconds: Double(waitSeconds))
                guard try lookUpCaller(caller.tokenHash) != nil else { throw APIError.unauthorized }
                messages = try readMessages(caller.account.key, after: start, limit: limit, ticket: nil)
            } else {
                waiters.cancel(ticket)
            }
            return WireFormat.response(200, WireFormat.Inbox(
                messages: messages.map(WireFormat.Message.init), nextAfter: messages.last?.seq ?? start))
        }
    }

    private func readMessages(
        _ accountKey: String, after: Int64, limit: Int64, ticket: InboxWaiters.Ticket?
    ) throws(APIError) -> [StoredMessage] {
        do throws(APIError) {
            return try readState { try ChatQueries.messages(forAccount: accountKey, after: after, limit: Int(limit), in: $0) }
        } catch {
            if let ticket { dependencies.waiters.cancel(ticket) }
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
        let body: RequestBodies.Acknowledge
        do throws(APIError) {
            body = try RequestDecoding.body(RequestBodies.Acknowledge.self, from: request)
        } catch {
            return .error(error)
        }
        guard body.upTo >= 0 else { return .error(.invalidRequest("up_to must be 0 or more.")) }
        if let redirect = routeWrite(request) { return .error(redirect) }
        return later { () async throws(APIError) -> HTTPResponse in
            let caller = try await authenticate(request)
            let outcome = try await submit(.acknowledge(.init(tokenHash: caller.tokenHash, upTo: body.upTo)), request: request)
            guard case .acknowledged(let upTo) = outcome else {
                throw APIError.internalError("Acknowledging produced an unexpected outcome.")
            }
            return WireFormat.response(200, WireFormat.Acknowledged(ackedUpTo: upTo))
        }
    }
}
