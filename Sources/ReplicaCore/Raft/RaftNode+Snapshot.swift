/// InstallSnapshot (Raft §7), sent in chunks of `RaftConfig.snapshotChunkBytes`.
///
/// The leader keeps up to `maxSnapshotChunksInFlight` chunks in flight per
/// follower. The follower accepts chunks only in order and acknowledges each
/// with the offset it expects next; an out-of-order chunk is answered with
/// that offset too, so the leader rewinds and resends from there. When two
/// heartbeat answers pass without progress, the chunks in flight count as lost
/// and are resent. The last chunk makes the follower install the snapshot and
/// answer like a successful append, which returns the leader to normal replication.
extension RaftNode {
    // MARK: Leader

    /// Switches `peer` to the snapshot state and sends the first chunks.
    /// Returns whether anything was sent.
    func startSnapshot(to peer: NodeID) -> Bool {
        // Like etcd: do not push a possibly large snapshot at a follower that
        // has not answered recently; heartbeats will tell when it is back.
        guard progress[peer]?.isRecentlyActive == true else { return false }
        let snapshot = log.snapshot()
        guard !snapshot.isEmpty else {
            // Only a follower claiming entries this leader never had gets here: one of them lost its log.
            invariantFailure(
                "\(peer) needs entries this leader does not hold and there is no snapshot: a replica lost "
                    + "acknowledged entries (was a data directory wiped under an old id?).")
            return false
        }
        progress[peer]?.becomeSnapshot(snapshot.metadata)
        sendSnapshotChunks(to: peer)
        return true
    }

    /// Sends chunks from the sent offset until the window is full or the last chunk is out.
    func sendSnapshotChunks(to peer: NodeID) {
        guard let peerProgress = progress[peer], peerProgress.state == .snapshot,
            let pending = peerProgress.pendingSnapshot
        else { return }
        let snapshot = log.snapshot()
        if snapshot.metadata != pending {
            // A newer snapshot replaced the one being sent: start over with it.
            progress[peer]?.becomeSnapshot(snapshot.metadata)
        }
        let windowBytes = config.snapshotChunkBytes * config.maxSnapshotChunksInFlight
        for _ in 0..<config.maxSnapshotChunksInFlight {
            guard let current = progress[peer], !current.isSnapshotLastChunkSent,
                current.snapshotSentOffset - current.snapshotAcknowledgedOffset < windowBytes
            else { return }
            let start = min(current.snapshotSentOffset, snapshot.data.count)
            let end = min(start + config.snapshotChunkBytes, snapshot.data.count)
            let chunk = SnapshotChunk(
                metadata: snapshot.metadata, offset: start, totalByteCount: snapshot.data.count,
                data: Array(snapshot.data[start..<end]), isLast: end == snapshot.data.count)
            send(.snapshotChunk(chunk), to: peer)
            progress[peer]?.snapshotSentOffset = end
            progress[peer]?.isSnapshotLastChunkSent = chunk.isLast
        }
    }

    /// Resends everything after the acknowledged offset.
    private func resendSnapshotChunks(to peer: NodeID) {
        guard let acknowledged = progress[peer]?.snapshotAcknowledgedOffset else { return }
        progress[peer]?.snapshotSentOffset = acknowledged
        progress[peer]?.isSnapshotLastChunkSent = false
        progress[peer]?.snapshotStalledHeartbeats = 0
        progress[peer]?.snapshotResentFrom = acknowledged
        sendSnapshotChunks(to: peer)
    }

    /// A heartbeat answer from a follower receiving a snapshot: after two
    /// without progress, the chunks in flight are taken as lost.
    func noteSnapshotHeartbeat(from peer: NodeID) {
        guard let peerProgress = progress[peer], peerProgress.state == .snapshot else { return }
        peerProgress.snapshotStalledHeartbeats += 1
        if peerProgress.snapshotStalledHeartbeats >= 2 {
            resendSnapshotChunks(to: peer)
        }
    }

    func handleSnapshotResponse(_ response: SnapshotResponse, from peer: NodeID) {
        guard let peerProgress = progress[peer], peerProgress.state == .snapshot,
            peerProgress.pendingSnapshot == response.metadata
        else { return }
        let acknowledged = peerProgress.snapshotAcknowledgedOffset
        if response.nextOffset > acknowledged {
            progress[peer]?.snapshotAcknowledgedOffset = response.nextOffset
            progress[peer]?.snapshotStalledHeartbeats = 0
            progress[peer]?.snapshotSentOffset = max(peerProgress.snapshotSentOffset, response.nextOffset)
            sendSnapshotChunks(to: peer)
        } else if response.nextOffset < acknowledged {
            // The follower lost its partial copy (it restarted): start again from what it holds.
            progress[peer]?.snapshotAcknowledgedOffset = response.nextOffset
            resendSnapshotChunks(to: peer)
        } else if peerProgress.snapshotSentOffset > acknowledged && peerProgress.snapshotResentFrom != acknowledged {
            // A gap: a chunk after the acknowledged offset was lost.
            resendSnapshotChunks(to: peer)
        }
    }

    // MARK: Follower

    func handleSnapshotChunk(_ chunk: SnapshotChunk, from sender: NodeID) {
        if chunk.metadata.index <= log.committed {
            // Already have everything this snapshot covers.
            snapshotAssembly = nil
            send(.appendResponse(AppendResponse(index: log.committed)), to: sender)
            return
        }
        if snapshotAssembly?.metadata != chunk.metadata {
            guard chunk.offset == 0 else {
                sendSnapshotAcknowledgement(chunk.metadata, nextOffset: 0, to: sender)
                return
            }
            snapshotAssembly = SnapshotAssembly(metadata: chunk.metadata, totalByteCount: chunk.totalByteCount)
        }
        guard var assembly = snapshotAssembly else { return }
        let accepted = assembly.accept(chunk)
        snapshotAssembly = assembly
        guard accepted, chunk.isLast else {
            sendSnapshotAcknowledgement(chunk.metadata, nextOffset: assembly.nextOffset, to: sender)
            return
        }
        snapshotAssembly = nil
        guard assembly.isComplete else {
            sendSnapshotAcknowledgement(chunk.metadata, nextOffset: 0, to: sender)
            return
        }
        let index = restore(assembly.snapshot) ? log.lastIndex() : log.committed
        send(.appendResponse(AppendResponse(index: index)), to: sender)
    }

    private func sendSnapshotAcknowledgement(_ metadata: SnapshotMetadata, nextOffset: Int, to peer: NodeID) {
        send(.snapshotResponse(SnapshotResponse(metadata: metadata, nextOffset: nextOffset)), to: peer)
    }

    /// Replaces the log with `snapshot` unless the log already covers it.
    /// Returns true if the application must install the snapshot.
    private func restore(_ snapshot: Snapshot) -> Bool {
        let metadata = snapshot.metadata
        guard metadata.index > log.committed else { return false }
        if log.matchesTerm(at: metadata.index, metadata.term) {
            // The log already holds the snapshot's last entry: just commit up to it.
            log.commit(to: metadata.index)
            return false
        }
        log.restore(snapshot)
        refreshMembership()
        return true
    }
}
