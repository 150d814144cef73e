import Foundation

/// A replica removed from its cluster stops, so that no client is served its frozen state and
/// no operator mistakes it for a member; it records why, and refuses to start again
/// (`ServiceError.removedFromCluster`).
///
/// Only a replica that has heard from no leader for several election timeouts asks the
/// members: in a healthy cluster the watch costs a clock read per period.
extension RaftReplicator {
    func watchForRemoval(database: ChatDatabase, memberSince: Int64?) async {
        let tuning = configuration.tuning
        let electionTimeout = tuning.electionTimeout
        let period = max(electionTimeout * 2, .milliseconds(100))
        // Longer than an election with its randomized timeout and a retry.
        let silence = electionTimeout * 4
        let watchedSince = ContinuousClock.now
        // Recorded at the first start, for a restart without --join.
        let joinedThrough = (try? database.read { try JoinedThroughTable.all(in: $0) }) ?? []
        while true {
            do { try await Task.sleep(for: period) } catch { return }
            if mailbox.isStopped { return }
            let status = status()
            if let index = status.ownRemovalIndex {
                return removed(
                    at: index, because: "it committed its own removal while leading (configuration at index \(index))",
                    status: status, database: database)
            }
            guard ContinuousClock.now - (status.leaderContact ?? watchedSince) > silence else { continue }
            let members = status.members.map { ($0.address.id, $0.address.url) }
            let own = RemovalVerdict.Own(
                replicaID: configuration.id, clusterID: status.clusterID, configurationIndex: status.configurationIndex,
                members: Dictionary(members, uniquingKeysWith: { first, _ in first }), memberSince: memberSince)
            guard RemovalVerdict.canConclude(own) else { continue }
            let reports = await askMembers(own, alsoAsking: joinedThrough)
            // Stopped while asking: the answer no longer matters, and the handler is not for it.
            if mailbox.isStopped { return }
            if let proof = RemovalVerdict.removal(of: own, reports: reports) {
                return removed(
                    at: proof.commitIndex,
                    because: "\(proof.reporter) reports a configuration committed by index \(proof.commitIndex) without it",
                    status: status, database: database)
            }
        }
    }

    /// Every other member's view of the cluster, asked all at once; members that do not
    /// answer are left out. A replica that joined asks the replicas it joined through too: one
    /// removed before it caught up may know no member at all.
    private func askMembers(_ own: RemovalVerdict.Own, alsoAsking joinedThrough: [String]) async -> [RemovalVerdict.Report] {
        let calls = calls
        var urls = Set(own.members.filter({ $0.key != own.replicaID }).map(\.value))
        if case .join(let given, _) = configuration.entry { urls.formUnion(given) }
        urls.formUnion(joinedThrough)
        urls.remove(configuration.url)
        return await withTaskGroup(of: RemovalVerdict.Report?.self) { group in
            for url in urls {
                group.addTask {
                    guard let answer = await calls.get("\(url)/v1/cluster"), answer.status == 200,
                        let json = answer.json()
                    else { return nil }
                    return RemovalVerdict.Report(json: json, from: url)
                }
            }
            var reports: [RemovalVerdict.Report] = []
            for await report in group { if let report { reports.append(report) } }
            return reports
        }
    }

    private func removed(at index: Int64, because proof: String, status: ClusterStatus, database: ChatDatabase) {
        do {
            try database.write { db in try ReplicaStateTable.set(.removedAt, to: index, in: db) }
        } catch {
            logger.error("could not record the removal in \(database.directory.path): \(error)")
        }
        logger.warning("""
            replica \(configuration.id) is no longer a member of cluster \(status.clusterID): \(proof); \
            stopping (to serve from this machine again, empty \(database.directory.path) and start it with --join under a new --id)
            """)
        removalHandler.withLock { $0 }?()
    }
}
