extension ChatAPI {
    func health(_ context: RouteContext) -> HTTPReply {
        .now(WireFormat.response(200, WireFormat.Status(status: "ok")))
    }

    func readiness(_ context: RouteContext) -> HTTPReply {
        guard dependencies.replicator.status().isReady else {
            return .error(.unavailable("This replica knows no leader or has not applied what was committed."))
        }
        return .now(WireFormat.response(200, WireFormat.Status(status: "ready")))
    }

    func cluster(_ context: RouteContext) -> HTTPReply {
        let status = dependencies.replicator.status()
        return .now(WireFormat.response(200, WireFormat.Cluster(
            clusterID: status.clusterID, id: status.id, role: status.role, term: status.term, leader: status.leader,
            commitIndex: status.commitIndex, appliedIndex: status.appliedIndex,
            configurationIndex: status.configurationIndex, members: status.members.map(WireFormat.Cluster.Member.init))))
    }

    func metricsText(_ context: RouteContext) -> HTTPReply {
        // Memory only: this runs on the epoll thread, which must not scan tables or touch the disk.
        let status = dependencies.replicator.status()
        let text = dependencies.metrics.render(
            waitingLongPolls: dependencies.waiters.waitingCount, sizes: status.sizes, status: status)
        return .now(HTTPResponse(
            status: 200, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")], body: text))
    }
}
