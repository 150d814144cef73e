/// InstallSnapshot (Raft §7), sent in chunks of `RaftConfig.snapshotChunkBytes`.
///
/// The leader keeps one chunk in flight per follower. The follower
/// acknowledges every chunk with the offset it expects next; the leader sends
/// that chunk. A chunk (or its acknowledgement) that is lost is sent again on
/// the next heartbeat response. The last chunk makes the follower install the
/// snapshot and answer like a successful append, which moves the leader back
/// to normal replication.
extension RaftNode {
    // MARK: Leader

    /// Switches `peer` to the snapshot state and sends the first chunk.
    /// Returns whether anything was sent.
    func startSnapshot(to peer: NodeID) -> Bool {
        // Like etcd: do not push a possibly large snapshot at a follower that
        // has not answered recently; heartbeats will tell when it is back.
        guard progress[peer]?.isRecentlyActive == true else { return false }
        let snapshot = log.snapshot()
        precondition(!snapshot.isEmpty, "entries were compacted but there is no snapshot")
        progress[peer]?.becomeSnapshot(snapshot.metadata)
        sendSnapshotChunk(to: peer)
        return true
    }

    /// Sends the chunk at the offset `peer` acknowledged last.
    func sendSnapshotChunk(to peer: NodeID) {
        guard let peerProgress = progress[peer], peerProgress.state == .snapshot,
            let pending = peerProgress.pendingSnapshot
        else { return }
        let snapshot = log.snapshot()
        if snapshot.metadata != pending {
            // A newer snapshot replaced the one being sent: start over with it.
            progress[peer]?.becomeSnapshot(snapshot.metadata)
        }
        let start = min(progress[peer]?.snapshotOffset ?? 0, snapshot.data.count)
        let end = min(start + config.snapshotChunkBytes, snapshot.data.count)
        let chunk = SnapshotChunk(
            metadata: snapshot.metadata, offset: start, totalByteCount: snapshot.data.count,
            data: Array(snapshot.data[start..<end]), isLast: end == snapshot.data.count)
        send(.snapshotChunk(chunk), to: peer)
    }

    func handleSnapshotResponse(_ response: SnapshotResponse, from peer: NodeID) {
        guard let peerProgress = progress[peer], peerProgress.state == .snapshot,
            peerProgress.pendingSnapshot == response.metadata,
            peerProgress.snapshotOffset != response.nextOffset
        else { return }
        progress[peer]?.snapshotOffset = response.nextOffset
        sendSnapshotChunk(to: peer)
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
        return true
    }
}
