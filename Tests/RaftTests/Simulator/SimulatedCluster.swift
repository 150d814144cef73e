@testable import ReplicaCore

/// N replicas on a simulated network, driven step by step from one seed.
///
/// Each replica runs the loop production will run: take a `Ready`, persist
/// its snapshot, entries and hard state to storage, send its messages, apply
/// its snapshot and committed entries to the state machine, then `advance`.
/// A crash throws away everything but the storage; a restart rebuilds the
/// replica from that storage alone.
final class SimulatedCluster {
    struct Replica {
        let id: NodeID
        var node: RaftNode?
        var storage = MemoryRaftStorage()
        /// The hard state as of the last flushed (`mustSync`) write: what survives a crash.
        var syncedHardState = HardState()
        var stateMachine = SimulatedStateMachine()
        var tickRate = 1.0
        var tickCredit = 0.0

        var isUp: Bool { node != nil }
    }

    enum CrashPoint {
        /// Between two `Ready`s: whatever was not yet persisted is lost.
        case betweenReadies
        /// After persisting a `Ready` but before sending its messages.
        case afterPersistingBeforeSending
    }

    let ids: [NodeID]
    var size: Int { ids.count }
    private(set) var replicas: [Replica]
    var network = SimulatedNetwork()
    var faults: FaultProfile
    var random: SeededGenerator
    private(set) var now = 0
    var trace: EventTrace
    var checker = InvariantChecker()
    /// Applied entries between two snapshots; nil never snapshots.
    var snapshotInterval: Int?
    /// Entries kept in the log behind a snapshot when compacting.
    var entriesKeptAfterCompaction = 0
    private let configure: (inout RaftConfig) -> Void
    private var pendingCrash: (NodeID, CrashPoint)?
    private var nextProposalID: UInt64 = 1
    /// Each replica numbers its reads from 1, as production does, so the
    /// leader sees the same context from several replicas.
    private var nextReadContext: [NodeID: UInt64] = [:]
    /// Read answers per replica, for scenario tests.
    private(set) var answeredReads: [NodeID: [ReadState]] = [:]

    init(
        size: Int, seed: UInt64, faults: FaultProfile = .none, traceCapacity: Int = 0,
        isVerbose: Bool = false, configure: @escaping (inout RaftConfig) -> Void = { _ in }
    ) {
        ids = (1...UInt64(size)).map { NodeID($0) }
        random = SeededGenerator(seed: seed)
        self.faults = faults
        self.configure = configure
        trace = EventTrace(capacity: traceCapacity, isVerbose: isVerbose)
        replicas = ids.map { Replica(id: $0) }
        for position in replicas.indices {
            if faults.maxTickSkew > 0 {
                replicas[position].tickRate = 1 + Double.random(
                    in: -faults.maxTickSkew...faults.maxTickSkew, using: &random)
            }
            start(position)
        }
    }

    func makeConfig(for id: NodeID) -> RaftConfig {
        var config = RaftConfig(id: id, voters: ids, randomSeed: random.next())
        config.electionTick = 10
        config.heartbeatTick = 2
        configure(&config)
        return config
    }

    private func position(of id: NodeID) -> Int { Int(id.rawValue) - 1 }

    func node(_ id: NodeID) -> RaftNode {
        guard let node = replicas[position(of: id)].node else { preconditionFailure("\(id) is down") }
        return node
    }

    func replica(_ id: NodeID) -> Replica { replicas[position(of: id)] }
    func isUp(_ id: NodeID) -> Bool { replicas[position(of: id)].isUp }
    var liveIDs: [NodeID] { replicas.filter(\.isUp).map(\.id) }

    // MARK: Driving

    /// One step of simulated time: deliver due messages, tick every live
    /// replica (at its own rate), then run every replica's Ready loop.
    func step(ticking: Bool = true) {
        now += 1
        for message in network.takeDue(now: now) {
            deliver(message)
        }
        if ticking {
            tickAll()
        }
        processAllReadies()
        checkEachStep()
    }

    func run(steps: Int, ticking: Bool = true) {
        for _ in 0..<steps where !checker.isViolated {
            step(ticking: ticking)
        }
    }

    /// Steps until `condition` holds; returns whether it did within `maxSteps`.
    @discardableResult
    func run(upTo maxSteps: Int, ticking: Bool = true, until condition: () -> Bool) -> Bool {
        for _ in 0..<maxSteps {
            if condition() { return true }
            step(ticking: ticking)
        }
        return condition()
    }

    /// Delivers messages without ticking until the network is quiet.
    func settle(maxSteps: Int = 200) {
        run(upTo: maxSteps, ticking: false) { network.inFlight.isEmpty }
    }

    private func deliver(_ message: RaftMessage) {
        let target = position(of: message.to)
        guard let node = replicas[target].node, !network.isBlocked(from: message.from, to: message.to) else {
            trace.record(.dropped(message), step: now)
            return
        }
        trace.record(.delivered(message), step: now)
        node.step(message)
    }

    private func tickAll() {
        for position in replicas.indices {
            guard let node = replicas[position].node else { continue }
            replicas[position].tickCredit += replicas[position].tickRate
            while replicas[position].tickCredit >= 1 {
                replicas[position].tickCredit -= 1
                node.tick()
            }
        }
    }

    func tick(_ id: NodeID, times: Int = 1) {
        for _ in 0..<times { node(id).tick() }
        processAllReadies()
    }

    func processAllReadies() {
        for position in replicas.indices {
            processReadies(position)
        }
    }

    // MARK: The production loop

    private func processReadies(_ position: Int) {
        for _ in 0..<100 {
            guard let node = replicas[position].node, node.hasReady else { return }
            let ready = node.ready()
            persist(ready, at: position)
            if let (id, point) = pendingCrash, id == replicas[position].id, point == .afterPersistingBeforeSending {
                pendingCrash = nil
                crash(id)
                return
            }
            for message in ready.messages {
                send(message)
            }
            apply(ready, at: position)
            node.advance(ready)
            snapshotIfDue(at: position)
        }
        preconditionFailure("a replica produced more than 100 Readies in a row")
    }

    private func persist(_ ready: Ready, at position: Int) {
        let id = replicas[position].id
        let storage = replicas[position].storage
        if let snapshot = ready.snapshot {
            do {
                try storage.applySnapshot(snapshot)
            } catch {
                checker.fail("\(id) could not install snapshot \(snapshot.metadata): \(error)")
            }
        }
        storage.append(ready.entries)
        if let hardState = ready.hardState {
            storage.setHardState(hardState)
            if ready.mustSync || !faults.losesUnsyncedWrites {
                replicas[position].syncedHardState = hardState
            }
        }
        checker.observePersisted(ready.entries, on: id, storage: storage)
        if let softState = ready.softState, let node = replicas[position].node {
            trace.record(.roleChanged(id, role: softState.role, term: node.term), step: now)
            if softState.role == .leader {
                checker.observeLeader(id, term: node.term)
                checker.checkLeaderCompleteness(id, term: node.term, storage: storage)
            }
        }
    }

    private func send(_ message: RaftMessage) {
        if !network.send(message, now: now, faults: faults, using: &random) {
            trace.record(.dropped(message), step: now)
        }
    }

    private func apply(_ ready: Ready, at position: Int) {
        let id = replicas[position].id
        if let snapshot = ready.snapshot {
            replicas[position].stateMachine = SimulatedStateMachine(snapshot: snapshot)
            trace.record(.snapshotInstalled(id, index: snapshot.metadata.index), step: now)
            checker.observeSnapshotInstalled(snapshot, on: id, digest: replicas[position].stateMachine.digest)
        }
        for entry in ready.committedEntries {
            replicas[position].stateMachine.apply(entry)
            checker.observeApplied(entry, on: id, digest: replicas[position].stateMachine.digest)
        }
        for state in ready.readStates {
            trace.record(.readAnswered(id, context: state.context, index: state.index), step: now)
            checker.observeReadAnswered(state, on: id)
            answeredReads[id, default: []].append(state)
        }
    }

    private func snapshotIfDue(at position: Int) {
        guard let interval = snapshotInterval else { return }
        let storage = replicas[position].storage
        let applied = replicas[position].stateMachine.appliedIndex
        let snapshotIndex = storage.snapshot().metadata.index
        guard applied > snapshotIndex, snapshotIndex.distance(to: applied) >= interval else { return }
        do {
            try storage.createSnapshot(at: applied, data: replicas[position].stateMachine.snapshotData())
            let compactIndex = applied - UInt64(min(entriesKeptAfterCompaction, Int(applied.rawValue)))
            try storage.compact(upTo: compactIndex)
            trace.record(.snapshotCreated(replicas[position].id, index: applied), step: now)
        } catch {
            checker.fail("\(replicas[position].id) could not snapshot at \(applied): \(error)")
        }
    }

    // MARK: Crashes

    func crash(_ id: NodeID, at point: CrashPoint = .betweenReadies) {
        if point == .afterPersistingBeforeSending {
            pendingCrash = (id, point)
            processReadies(position(of: id))
            if pendingCrash == nil { return }
            pendingCrash = nil
        }
        trace.record(.crashed(id, beforePersisting: point == .betweenReadies), step: now)
        let replica = replicas[position(of: id)]
        if replica.storage.initialState() != replica.syncedHardState {
            // The lazily written commit index did not reach the disk.
            replica.storage.setHardState(replica.syncedHardState)
        }
        replicas[position(of: id)].node = nil
        replicas[position(of: id)].stateMachine = SimulatedStateMachine()
    }

    /// Starts (or restarts) a replica from its storage alone.
    func restart(_ id: NodeID) {
        precondition(!isUp(id), "restarting a live replica")
        trace.record(.restarted(id), step: now)
        start(position(of: id))
    }

    private func start(_ position: Int) {
        let storage = replicas[position].storage
        let snapshot = storage.snapshot()
        replicas[position].stateMachine =
            snapshot.isEmpty ? SimulatedStateMachine() : SimulatedStateMachine(snapshot: snapshot)
        var config = makeConfig(for: replicas[position].id)
        config.appliedIndex = snapshot.metadata.index
        do {
            replicas[position].node = try RaftNode(config: config, storage: storage)
        } catch {
            preconditionFailure("restart failed: \(error)")
        }
    }

    // MARK: Network faults

    func partition(_ side: [NodeID], oneWay: Bool = false) {
        let other = ids.filter { !side.contains($0) }
        network.partition(side, from: other, oneWay: oneWay)
        trace.record(.partitioned(side: side, other: other, oneWay: oneWay), step: now)
    }

    func isolate(_ id: NodeID) { partition([id]) }

    func heal() {
        network.heal()
        trace.record(.healed, step: now)
    }

    // MARK: Clients

    /// Proposes a fresh command at `id`. Returns its identifier and placement, or the refusal.
    @discardableResult
    func propose(at id: NodeID) -> Result<(proposalID: UInt64, index: LogIndex, term: Term), RaftRequestError> {
        let proposalID = nextProposalID
        nextProposalID += 1
        do {
            let placement = try node(id).propose(SimulatedStateMachine.payload(for: proposalID))
            trace.record(.proposed(id, proposalID: proposalID, index: placement.index, term: placement.term), step: now)
            processAllReadies()
            return .success((proposalID, placement.index, placement.term))
        } catch {
            return .failure(error)
        }
    }

    /// Requests a linearizable read at `id`; returns its context or the refusal.
    @discardableResult
    func requestRead(at id: NodeID) -> Result<UInt64, RaftRequestError> {
        let context = nextReadContext[id, default: 1]
        nextReadContext[id] = context + 1
        checker.observeReadRequested(context: context, on: id)
        do {
            try node(id).readIndex(context: context)
            trace.record(.readRequested(id, context: context), step: now)
            processAllReadies()
            return .success(context)
        } catch {
            return .failure(error)
        }
    }

    // MARK: Queries

    /// The live leader of the highest term, if any.
    var leader: NodeID? {
        var best: (NodeID, Term)?
        for replica in replicas {
            guard let node = replica.node, node.role == .leader else { continue }
            if best == nil || node.term > best!.1 { best = (replica.id, node.term) }
        }
        return best?.0
    }

    /// Runs until one live leader exists whose term every live replica shares.
    @discardableResult
    func waitForStableLeader(maxSteps: Int = 400) -> NodeID? {
        let found = run(upTo: maxSteps) {
            guard let leader, let leaderTerm = replicas[position(of: leader)].node?.term else { return false }
            return replicas.allSatisfy { $0.node == nil || ($0.node!.term == leaderTerm && $0.node!.leader == leader) }
        }
        return found ? leader : nil
    }

    private func checkEachStep() {
        for replica in replicas {
            guard let node = replica.node else { continue }
            if node.role == .leader {
                checker.observeLeader(replica.id, term: node.term)
            }
            let durable = replica.syncedHardState
            checker.observeDurableState(of: replica.id, term: durable.term, commit: durable.commit)
        }
    }
}
