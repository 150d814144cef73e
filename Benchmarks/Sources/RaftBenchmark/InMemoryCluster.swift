import ReplicaCore

/// A fault-free in-memory cluster running the production loop for each
/// replica: persist to `MemoryRaftStorage`, send, apply, advance.
final class InMemoryCluster {
    let nodes: [RaftNode]
    let storages: [MemoryRaftStorage]
    private(set) var appliedEntryCount: [Int]
    private var mailbox: [RaftMessage] = []

    init(size: Int) throws {
        let voters = (1...UInt64(size)).map { NodeID($0) }
        var nodes: [RaftNode] = []
        var storages: [MemoryRaftStorage] = []
        for id in voters {
            var config = RaftConfig(id: id, voters: voters, randomSeed: id.rawValue)
            config.maxEntriesPerMessage = 512
            config.maxInflightMessages = 256
            let storage = MemoryRaftStorage()
            storages.append(storage)
            nodes.append(try RaftNode(config: config, storage: storage))
        }
        self.nodes = nodes
        self.storages = storages
        appliedEntryCount = Array(repeating: 0, count: size)
    }

    /// Elects replica 1 and waits until its no-op is applied everywhere.
    func electFirstReplica() {
        nodes[0].campaign()
        runUntilQuiet()
    }

    /// Processes Readies and delivers messages until nothing is left to do.
    func runUntilQuiet() {
        while true {
            var didWork = false
            for position in nodes.indices where nodes[position].hasReady {
                process(position)
                didWork = true
            }
            if !mailbox.isEmpty {
                let batch = mailbox
                mailbox.removeAll(keepingCapacity: true)
                for message in batch {
                    nodes[Int(message.to.rawValue) - 1].step(message)
                }
                didWork = true
            }
            if !didWork { return }
        }
    }

    private func process(_ position: Int) {
        let node = nodes[position]
        let ready = node.ready()
        let storage = storages[position]
        storage.append(ready.entries)
        if let hardState = ready.hardState {
            storage.setHardState(hardState)
        }
        mailbox.append(contentsOf: ready.messages)
        appliedEntryCount[position] += ready.committedEntries.count
        node.advance(ready)
    }
}
