import ReplicaCore

extension ChatAPI {
    /// A write with `Prefer: forward` at a follower is carried out through the leader (see
    /// `WriteForwarder`); nil lets this replica handle it: it is the leader, or the request
    /// was forwarded once already (and then gets the usual 307).
    func forwardingReply(_ request: HTTPRequest, route: Router<ChatAPI>.Route) -> HTTPReply? {
        guard request.header(WriteForwarder.forwardedByHeader) == nil, let forwarder = dependencies.forwarder else {
            return nil
        }
        switch dependencies.replicator.writeRoute() {
        case .here: return nil
        case .noLeader: return .error(APIError.noLeader)
        case .leader(let leader):
            // A send's key is checked here, as the leader would: one that cannot be relayed as it
            // was sent would reach the leader missing, and the send go through without deduplication.
            var isKeyedSend = false
            if route.name == Self.messagesPath {
                do throws(APIError) {
                    isKeyedSend = try Self.idempotencyKey(of: request) != nil
                } catch {
                    return .error(error)
                }
            }
            return .later { [self, isKeyedSend] in
                await forward(request, through: forwarder, to: leader, retryingUnanswered: isKeyedSend)
            }
        }
    }

    /// The preference was honoured unless the answer is the redirect it asked to avoid.
    static func withPreferenceApplied(_ response: HTTPResponse) -> HTTPResponse {
        guard response.status != 307 else { return response }
        var response = response
        response.headers.append(WriteForwarder.preferenceApplied)
        return response
    }

    /// Forwards `request` to `leader`; when that leader cannot be reached (it crashed, and this
    /// replica has not yet heard of an election), to the next one this replica learns of, as
    /// long as the write's time lasts. A leader that may have taken the request is passed over
    /// only with `retryingUnanswered`: a send with an Idempotency-Key, which the next leader
    /// stores once however often it comes. Otherwise that leader's 503 stands.
    private func forward(
        _ request: HTTPRequest, through forwarder: WriteForwarder, to leader: PeerAddress, retryingUnanswered: Bool
    ) async -> HTTPResponse {
        let deadline = ContinuousClock.now + forwarder.timeout
        var leader = leader
        // Once one leader may have taken the write, the final 503 must say so, whatever the
        // later attempts met: "nothing was written" would invite a second, unkeyed send.
        var mayHaveBeenWritten: HTTPResponse?
        while true {
            switch await attempt(request, through: forwarder, to: leader, until: deadline, leavingForANewLeader: retryingUnanswered) {
            case .answered(let response):
                return response
            case .unanswered(let response):
                guard retryingUnanswered, let next = await nextLeader(after: leader, until: deadline) else { return response }
                mayHaveBeenWritten = response
                leader = next
            case .unreachable(let refusal):
                // Nothing was written, so any leader may take it, this one too once it answers
                // again (restarted, or elected anew).
                guard let next = await anyLeader(retrying: leader, until: deadline) else { return mayHaveBeenWritten ?? refusal }
                leader = next
            }
        }
    }

    /// The leader to try after `previous` could not be reached: a new one as soon as this
    /// replica learns of it, else `previous` again after a pause (it may have restarted, or
    /// been elected anew); nil if none before `deadline`.
    private func anyLeader(retrying previous: PeerAddress, until deadline: ContinuousClock.Instant) async -> PeerAddress? {
        if let next = await nextLeader(after: previous, until: min(deadline, .now + Self.leaderPollInterval)) { return next }
        while ContinuousClock.now < deadline, !Task.isCancelled {
            switch dependencies.replicator.writeRoute() {
            case .leader(let leader): return leader
            case .here: if let own = ownAddress { return own }
            case .noLeader: break
            }
            try? await Task.sleep(for: Self.leaderPollInterval)
        }
        return nil
    }

    /// One forwarding to `leader`. With `leavingForANewLeader`, it is given up as unanswered as
    /// soon as this replica learns of another leader: a paused or deposed leader may hold it
    /// until the deadline, and the next leader can carry it out meanwhile.
    private func attempt(
        _ request: HTTPRequest, through forwarder: WriteForwarder, to leader: PeerAddress,
        until deadline: ContinuousClock.Instant, leavingForANewLeader: Bool
    ) async -> WriteForwarder.Relay {
        guard leavingForANewLeader else { return await forwarder.forward(request, to: leader, until: deadline) }
        return await withTaskGroup(of: WriteForwarder.Relay?.self) { group in
            group.addTask { await forwarder.forward(request, to: leader, until: deadline) }
            group.addTask { [self] in
                guard await nextLeader(after: leader, until: deadline) != nil else { return nil }
                let message = "The leader (replica \(leader.id)) lost its place before answering this write"
                return .unanswered(APIError.unconfirmedWrite(message, request: request).response)
            }
            var relay: WriteForwarder.Relay?
            while relay == nil, let next = await group.next() { relay = next }
            group.cancelAll()
            // The forwarding always ends with a relay, so one is here.
            return relay ?? .unanswered(APIError.noLeader.response)
        }
    }

    /// The first leader other than `previous` this replica learns of (itself included) before
    /// `deadline`; nil if none.
    private func nextLeader(after previous: PeerAddress, until deadline: ContinuousClock.Instant) async -> PeerAddress? {
        while ContinuousClock.now < deadline, !Task.isCancelled {
            switch dependencies.replicator.writeRoute() {
            case .leader(let leader) where leader.id != previous.id:
                return leader
            case .here:
                // Elected itself: the request goes to this replica's own address, marked as
                // forwarded, and is carried out here.
                if let own = ownAddress, own.id != previous.id { return own }
                try? await Task.sleep(for: Self.leaderPollInterval)
            case .leader, .noLeader:
                try? await Task.sleep(for: Self.leaderPollInterval)
            }
        }
        return nil
    }

    /// This replica's address as the members know it.
    private var ownAddress: PeerAddress? {
        let status = dependencies.replicator.status()
        return status.members.first { $0.address.id == status.id }?.address
    }

    /// How often a forwarded write whose leader was unreachable looks for the next one.
    static let leaderPollInterval = Duration.milliseconds(20)
}
