@testable import ReplicaCore

/// N replicas on a simulated network, driven step by step from one seed.
///
/// Each replica runs the loop the Gateway's `RaftDriver` runs, step for step (see
/// `processReadies`): take a `Ready`; if `canSendBeforePersisting`, send its messages first;
/// write its snapshot, entries and hard state to the disk and flush if `mustSync`; otherwise
/// send now; apply its snapshot and committed entries, then `advance`. A crash throws away
/// everything but the disk, and the disk keeps only what the storage contract promises
/// (`SimulatedDisk`); a restart rebuilds the replica from that alone.
final class SimulatedCluster {
    struct Replica {
        let id: NodeID
        var node: RaftNode?
        var disk = SimulatedDisk()
        var storage: MemoryRaftStorage { disk.storage }
        var stateMachine = SimulatedStateMachine()
        /// The configuration of the last membership entry applied (or snapshot installed).
        var appliedMembership = Membership()
        var tickRate = 1.0
        var tickCredit = 0.0

        var isUp: Bool { node != nil }
    }

    enum CrashPoint {
        /// Now, between two `Ready`s.
        case betweenReadies
        /// At the replica's next `Ready`, once its writes are made but before they are
        /// flushed: after its messages left if it may send before persisting, else before.
        case whilePersisting
        /// At the replica's next `Ready`, after persisting and flushing it but before
        /// sending its messages.
        case afterPersistingBeforeSending
    }

    let ids: [NodeID]
    var size: Int { ids.count }
    /// The voters the cluster starts with; the other replicas run with an empty
    /// configuration, as a new replica does until a leader adds it.
    let initialVoters: [NodeID]
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
    /// A crash's loss of unflushed writes set for one replica, overriding the fault profile's.
    private var crashLoss: [NodeID: SimulatedDisk.CrashLoss] = [:]
    /// Crashes that fire at a replica's next `Ready`.
    private var armedCrashes: [NodeID: CrashPoint] = [:]
    private var nextProposalID: UInt64 = 1
    /// Each replica numbers its reads from 1, as production does, so the
    /// leader sees the same context from several replicas.
    private var nextReadContext: [NodeID: UInt64] = [:]
    /// Read answers per replica, for scenario tests.
    private(set) var answeredReads: [NodeID: [ReadState]] = [:]

    init(
        size: Int, voters: Int? = nil, seed: UInt64, faults: FaultProfile = .none, traceCapacity: Int = 0,
        isVerbose: Bool = false, configure: @escaping (inout RaftConfig) -> Void = { _ in }
    ) {
        ids = (1...UInt64(size)).map { NodeID($0) }
        initialVoters = Array(ids.prefix(voters ?? size))
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
        var config = RaftConfig(id: id, voters: initialVoters.contains(id) ? initialVoters : [], randomSeed: random.next())
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
    /// Live replicas with no crash armed.
    var survivingIDs: [NodeID] { liveIDs.filter { armedCrashes[$0] == nil } }

    /// Cancels the crashes armed for a replica's next `Ready`.
    func disarmCrashes() {
        armedCrashes = [:]
        crashLoss = [:]
    }

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

    /// The same steps, in the same order, as `RaftDriver.processReadies` in the Gateway.
    private func processReadies(_ position: Int) {
        let id = replicas[position].id
        for _ in 0..<100 where !checker.isViolated {
            guard let node = replicas[position].node, node.hasReady else { return }
            let ready = node.ready()
            if ready.canSendBeforePersisting {
                ready.messages.forEach(send)
            }
            write(ready, at: position)
            if armedCrashes[id] == .whilePersisting {
                return crash(id)
            }
            if ready.mustSync {
                replicas[position].disk.flush()
            }
            observeLeadership(at: position)
            if armedCrashes[id] == .afterPersistingBeforeSending {
                return crash(id)
            }
            if !ready.canSendBeforePersisting {
                ready.messages.forEach(send)
            }
            apply(ready, at: position)
            node.advance(ready)
            snapshotIfDue(at: position)
            collectCoreInvariantFailures()
        }
        if !checker.isViolated {
            checker.fail("\(id) produced more than 100 Readies in a row")
        }
    }

    /// Broken invariants the core recorded (see `CoreInvariant`) fail the run.
    func collectCoreInvariantFailures() {
        for failure in CoreInvariant.recorder?.takeFailures() ?? [] {
            checker.fail("Core invariant: \(failure)")
        }
    }

    /// Writes a `Ready` in the order its contract names: snapshot, entries, hard state.
    private func write(_ ready: Ready, at position: Int) {
        let id = replicas[position].id
        do {
            if let snapshot = ready.snapshot {
                try replicas[position].disk.write(.installSnapshot(snapshot))
            }
            if !ready.entries.isEmpty {
                try replicas[position].disk.write(.append(ready.entries))
            }
            if let hardState = ready.hardState {
                try replicas[position].disk.write(.setHardState(hardState))
            }
        } catch {
            checker.fail("\(id) could not persist a Ready: \(error)")
        }
        let storage = replicas[position].storage
        checker.observePersisted(ready.entries, on: id, storage: storage)
        if let softState = ready.softState, let node = replicas[position].node {
            trace.record(.roleChanged(id, role: softState.role, term: node.term), step: now)
            if softState.role == .leader {
                checker.checkLeaderCompleteness(id, term: node.term, storage: storage)
            }
        }
    }

    /// Election Safety counts a leader once its term is on its disk. A replica that wins alone
    /// (the only voter of its configuration) is a leader in memory before its term and vote
    /// are written; if it crashes before they are flushed it sent nothing and applied nothing
    /// in that term, and after the restart it may rightly vote for another candidate in it.
    private func observeLeadership(at position: Int) {
        guard let node = replicas[position].node, node.role == .leader,
              replicas[position].disk.durableHardState.term == node.term
        else { return }
        checker.observeLeader(replicas[position].id, term: node.term)
    }

    private func send(_ message: RaftMessage) {
        if !network.send(message, now: now, faults: faults, using: &random) {
            trace.record(.dropped(message), step: now)
        }
    }

    private func apply(_ ready: Ready, at position: Int) {
        let id = replicas[position].id
        if let snapshot = ready.snapshot {
            guard SimulatedStateMachine.isWellFormed(snapshot) else {
                return checker.fail("\(id) was handed a corrupt snapshot at \(snapshot.metadata.index)")
            }
            replicas[position].stateMachine = SimulatedStateMachine(snapshot: snapshot)
            replicas[position].appliedMembership = snapshot.metadata.membership
            trace.record(.snapshotInstalled(id, index: snapshot.metadata.index), step: now)
            checker.observeSnapshotInstalled(snapshot, on: id, digest: replicas[position].stateMachine.digest)
        }
        for entry in ready.committedEntries {
            guard entry.index == replicas[position].stateMachine.appliedIndex + 1 else {
                return checker.fail(
                    "\(id) was handed \(entry.index) to apply after \(replicas[position].stateMachine.appliedIndex)")
            }
            replicas[position].stateMachine.apply(entry)
            if let membership = entry.membership {
                checker.observeMembershipApplied(
                    membership, after: replicas[position].appliedMembership, at: entry.index, on: id)
                replicas[position].appliedMembership = membership
                trace.record(.membershipApplied(id, index: entry.index, membership: membership), step: now)
            }
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
            let data = replicas[position].stateMachine.snapshotData()
            let membership = replicas[position].node?.membership(at: applied) ?? Membership()
            try replicas[position].disk.write(.createSnapshot(at: applied, data: data, membership: membership))
            let compactIndex = applied - UInt64(min(entriesKeptAfterCompaction, Int(applied.rawValue)))
            try replicas[position].disk.write(.compact(upTo: compactIndex))
            trace.record(.snapshotCreated(replicas[position].id, index: applied), step: now)
        } catch {
            checker.fail("\(replicas[position].id) could not snapshot at \(applied): \(error)")
        }
    }

    // MARK: Crashes

    /// Crashes `id` now, or arms a crash at its next `Ready`. What the crash keeps of the
    /// writes not yet flushed is `loss`, by default the fault profile's.
    func crash(_ id: NodeID, at point: CrashPoint = .betweenReadies, losing loss: SimulatedDisk.CrashLoss? = nil) {
        guard isUp(id) else { return }
        if let loss { crashLoss[id] = loss }
        guard point == .betweenReadies else {
            armedCrashes[id] = point
            return
        }
        let position = position(of: id)
        let lost = replicas[position].disk.crash(losing: crashLoss[id] ?? faults.crashLoss, using: &random)
        trace.record(.crashed(id, point: armedCrashes[id] ?? .betweenReadies, lostWrites: lost), step: now)
        armedCrashes[id] = nil
        crashLoss[id] = nil
        replicas[position].node = nil
        replicas[position].stateMachine = SimulatedStateMachine()
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
        replicas[position].appliedMembership =
            snapshot.metadata.membership.isEmpty
            ? Membership(voters: initialVoters.contains(replicas[position].id) ? initialVoters : [])
            : snapshot.metadata.membership
        var config = makeConfig(for: replicas[position].id)
        config.appliedIndex = snapshot.metadata.index
        do {
            replicas[position].node = try RaftNode(config: config, storage: storage)
        } catch {
            checker.fail("\(replicas[position].id) could not restart from its disk: \(error)")
        }
        collectCoreInvariantFailures()
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

    /// Proposes a configuration change at `id`.
    @discardableResult
    func proposeMembership(
        at id: NodeID, _ change: (Membership) -> Membership
    ) -> Result<(index: LogIndex, term: Term), RaftRequestError> {
        let node = node(id)
        let membership = change(node.membership)
        do {
            let placement = try node.proposeMembership(membership)
            trace.record(.membershipProposed(id, index: placement.index, membership: membership), step: now)
            processAllReadies()
            return .success(placement)
        } catch {
            return .failure(error)
        }
    }

    /// The configuration the current leader acts on, or the initial one without a leader.
    var currentMembership: Membership {
        leader.map { node($0).membership } ?? Membership(voters: initialVoters)
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
            guard let leader, let leaderNode = replicas[position(of: leader)].node else { return false }
            // Replicas outside the leader's configuration hear from nobody, so they do not count.
            let members = leaderNode.membership
            return replicas.allSatisfy {
                $0.node == nil || !members.contains($0.id)
                    || ($0.node!.term == leaderNode.term && $0.node!.leader == leader)
            }
        }
        return found ? leader : nil
    }

    private func checkEachStep() {
        collectCoreInvariantFailures()
        for (position, replica) in replicas.enumerated() where replica.node != nil {
            observeLeadership(at: position)
            let durable = replica.disk.durableHardState
            checker.observeDurableState(of: replica.id, term: durable.term, commit: durable.commit)
        }
    }
}
