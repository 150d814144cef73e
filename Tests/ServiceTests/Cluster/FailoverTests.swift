import Foundation
import Testing

extension ClusterTests {
    @Suite(.serialized) struct Failover {
        @Test func killingTheLeaderLosesNoAcknowledgedMessageAndDuplicatesNone() async throws {
            let cluster = try await TestCluster.started(size: 3)
            let leader = try await cluster.waitForLeader()
            let stream = try await SendStream.start(on: cluster)
            let (bob, senders, log) = (stream.bob, stream.senders, stream.log)
            while await log.count < 60 { try await Task.sleep(for: .milliseconds(10)) }
            leader.stop(signal: SIGKILL)
            let killed = ContinuousClock.now
            let newLeader = try await cluster.waitForLeader(timeout: .seconds(5))
            let before = await log.count
            while await log.count < before + 30 { try await Task.sleep(for: .milliseconds(10)) }
            try await stream.stopSending()
            let recovery = await log.firstAcknowledgement(after: killed)
            #expect(recovery != nil && recovery! - killed < .seconds(2), "the new leader took \(String(describing: recovery.map { $0 - killed })) to accept a write")

            let delivered = try await bob.at(newLeader).allMessages()
            let acknowledged = await log.bodies
            let bodies = delivered.compactMap { $0["body"] as? String }
            #expect(Set(acknowledged).isSubset(of: Set(bodies)), "an acknowledged message was lost")
            #expect(Set(bodies).count == bodies.count, "a message was delivered twice")
            for sender in senders {
                let sent = bodies.filter { $0.hasPrefix("\(sender.username)-") }.compactMap { Int($0.split(separator: "-")[1]) }
                #expect(sent == sent.sorted(), "messages of \(sender.username) arrived out of order")
            }
        }

        @Test func gracefulShutdownOfTheLeaderHandsOverWithoutAnElectionTimeout() async throws {
            // Elections would take 3–6 s here; a handover must be much faster than that.
            let cluster = try await TestCluster.started(size: 3, extraArguments: ["--election-ticks", "100"])
            let leader = try await cluster.waitForLeader(timeout: .seconds(15))
            let started = ContinuousClock.now
            leader.stop(signal: SIGTERM)
            let next = try await cluster.waitForLeader(timeout: .seconds(10))
            #expect(next.id != leader.id)
            #expect(ContinuousClock.now - started < .seconds(2), "the handover took \(ContinuousClock.now - started)")
        }

        @Test func fiveReplicasKeepWorkingWithAnyTwoCrashedIncludingTheLeader() async throws {
            let cluster = try await TestCluster.started(size: 5)
            let leader = try await cluster.waitForLeader()
            let alice = try await ChatUser.register("alice", at: leader.baseURL)
            let bob = try await ChatUser.register("bob", at: leader.baseURL)
            _ = try await alice.send(to: "bob", "before")
            leader.stop(signal: SIGKILL)
            cluster.followers(of: leader)[0].stop(signal: SIGKILL)
            let newLeader = try await cluster.waitForLeader()
            let sent = try await alice.at(newLeader).send(to: "bob", "after")
            #expect(sent.status == 201)
            for replica in cluster.running {
                #expect(try await bob.at(replica).inbox().bodies == ["before", "after"], "replica \(replica.id)")
            }
        }

        @Test func threeReplicasWithTwoCrashedRefuseWritesServeStaleReadsAndRecover() async throws {
            let cluster = try await TestCluster.started(size: 3)
            let leader = try await cluster.waitForLeader()
            let alice = try await ChatUser.register("alice", at: leader.baseURL)
            let bob = try await ChatUser.register("bob", at: leader.baseURL)
            _ = try await alice.send(to: "bob", "kept")
            let survivor = cluster.followers(of: leader)[0]
            // A write is acknowledged once a majority has it; the survivor may be the one
            // replica that had not received it yet. Stale reads serve what the survivor has,
            // so let it catch up before its peers go.
            let committed = try await leader.appliedIndex
            _ = try await eventually(timeout: .seconds(5)) { try await survivor.appliedIndex >= committed ? true : nil }
            let downed = cluster.replicas.filter { $0.id != survivor.id }
            for replica in downed { replica.stop(signal: SIGKILL) }

            let refusal = try await eventually(timeout: .seconds(5)) {
                let response = try await alice.at(survivor).send(to: "bob", "lost")
                return response.status == 503 ? response : nil
            }
            #expect(refusal.errorCode == "no_leader")
            #expect(refusal.headers.first(name: "Retry-After") != nil)
            let stale = try await bob.at(survivor).inbox("consistency=stale")
            #expect(stale.status == 200)
            #expect(stale.bodies == ["kept"])

            for replica in downed { try await replica.start() }
            let newLeader = try await cluster.waitForLeader()
            #expect(try await alice.at(newLeader).send(to: "bob", "again").status == 201)
            for replica in cluster.replicas {
                #expect(try await bob.at(replica).inbox().bodies == ["kept", "again"], "replica \(replica.id) did not catch up")
            }
        }
    }
}

extension ClusterTests {
    @Suite(.serialized) struct OverwrittenProposals {
        /// Waits until `leader`, whose followers are gone, holds an entry past its commit index.
        static func waitUntilLeaderHoldsAnUncommittedEntry(_ leader: ChatdProcess) async throws {
            let lastIndex = try await leader.clusterView["commit_index"] as? Int ?? 0
            _ = try await eventually(timeout: .seconds(5)) { () -> Bool? in
                let members = try await leader.clusterView["members"] as? [[String: Any]] ?? []
                let own = members.first { $0["id"] as? Int == leader.id }?["match_index"] as? Int ?? 0
                return own > lastIndex ? true : nil
            }
        }

        /// A write the leader appended but could not commit, whose index a new leader then filled
        /// with its own entry, is answered as soon as the old leader learns of it: 503, "may
        /// still take effect", never a hang until the write timeout (set to a minute here).
        @Test func aWriteWhoseEntryAnotherLeaderOverwroteIsAnsweredAtOnce() async throws {
            let cluster = try await TestCluster.started(size: 3, extraArguments: ["--request-timeout-ms", "60000"])
            defer { cluster.resumeAndStopAll() }
            let leader = try await cluster.waitForLeader()
            let alice = try await ChatUser.register("alice", at: leader.baseURL)
            let followers = cluster.followers(of: leader)
            let leaderPID = try #require(leader.process?.processIdentifier)
            // The followers are killed, not paused: a paused follower would still find the old
            // leader's append waiting in its socket when it resumed, and could commit it.
            for follower in followers { follower.stop(signal: SIGKILL) }
            let started = ContinuousClock.now
            let write = Task { try await alice.send(to: "alice", "appended, never committed") }
            // Once the leader holds the entry, it is paused and the others elect a new leader.
            try await Self.waitUntilLeaderHoldsAnUncommittedEntry(leader)
            kill(leaderPID, SIGSTOP)
            for follower in followers { try await follower.start() }
            let newLeader = try await eventually(timeout: .seconds(10)) { () -> ChatdProcess? in
                for replica in followers {
                    let view = try await replica.clusterView
                    if view["role"] as? String == "leader" { return replica }
                }
                return nil
            }
            #expect(try await alice.at(newLeader).send(to: "alice", "committed by the new leader").status == 201)
            kill(leaderPID, SIGCONT)
            let answer = try await write.value
            #expect(answer.status == 503, "\(answer.status) \(answer.text)")
            #expect(ContinuousClock.now - started < .seconds(30), "answered by the overwrite, not by the 60 s timeout")
            let bodies = try await alice.at(newLeader).allMessages().compactMap { $0["body"] as? String }
            #expect(bodies == ["committed by the new leader"], "the overwritten write never took effect: \(bodies)")
        }

        /// A leader stopped (SIGTERM) while a write is in its log, not yet committed, must not
        /// answer as if nothing happened: the next leader may still commit the entry.
        @Test func aWriteInTheLogOfALeaderThatShutsDownMayStillTakeEffect() async throws {
            let cluster = try await TestCluster.started(size: 3, extraArguments: ["--request-timeout-ms", "60000"])
            defer { cluster.resumeAndStopAll() }
            let leader = try await cluster.waitForLeader()
            let alice = try await ChatUser.register("alice", at: leader.baseURL)
            for follower in cluster.followers(of: leader) { follower.stop(signal: SIGKILL) }
            let write = Task { try await alice.send(to: "alice", "in the stopping leader's log") }
            try await Self.waitUntilLeaderHoldsAnUncommittedEntry(leader)
            leader.stop(signal: SIGTERM)
            let answer = try await write.value
            #expect(answer.status == 503, "\(answer.status) \(answer.text)")
            #expect(answer.text.contains("may still take effect"), "\(answer.text)")
        }
    }
}

extension ClusterTests {
    @Suite(.serialized) struct ReadsAcrossALeaderChange {
        /// A linearizable read a follower forwarded to a leader that then stopped answering is
        /// asked again of the next leader and served, never refused when the read times out.
        @Test func aFollowersReadForwardedToALeaderThatStopsIsServedThroughTheNextLeader() async throws {
            let cluster = try await TestCluster.started(size: 3, extraArguments: ["--request-timeout-ms", "20000"])
            defer { cluster.resumeAndStopAll() }
            let leader = try await cluster.waitForLeader()
            let alice = try await ChatUser.register("alice", at: leader.baseURL)
            #expect(try await alice.send(to: "alice", "before the pause").status == 201)
            let follower = cluster.followers(of: leader)[0]
            kill(try #require(leader.process?.processIdentifier), SIGSTOP)
            // Sent before the followers notice: the read goes to the paused leader first.
            let read = try await alice.at(follower).inbox()
            #expect(read.status == 200, "the read was refused: \(read.status) \(read.text)")
            #expect(read.bodies == ["before the pause"])
        }

        /// Reads at a follower while the leader hands over (SIGTERM) wait for the next leader,
        /// rather than being refused in the moment no leader is known.
        @Test func readsAtAFollowerDuringAHandoverAreAllServed() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.resumeAndStopAll() }
            let leader = try await cluster.waitForLeader()
            let alice = try await ChatUser.register("alice", at: leader.baseURL)
            let follower = cluster.followers(of: leader)[0]
            let (statuses, stop) = (ReadStatuses(), StopFlag())
            let readers = (0..<8).map { _ in
                Task {
                    while await !stop.isSet { await statuses.note(try await alice.at(follower).inbox()) }
                }
            }
            _ = try await eventually(timeout: .seconds(10)) { await statuses.count >= 40 ? true : nil }
            leader.stop(signal: SIGTERM)
            _ = try await cluster.waitForLeader()
            let handedOver = await statuses.count
            _ = try await eventually(timeout: .seconds(10)) { await statuses.count >= handedOver + 80 ? true : nil }
            await stop.set()
            for reader in readers { try await reader.value }
            let (refused, count) = (await statuses.refused, await statuses.count)
            #expect(refused.isEmpty, "\(refused.count) of \(count) reads refused, first: \(refused.first ?? "")")
        }

        /// A read the leader cannot confirm in time is a 503 that says so, not one about a write.
        @Test func aReadTheLeaderDoesNotConfirmInTimeIsRefusedAsARead() async throws {
            // Elections take 3-6 s, so the follower still knows its paused leader when the read expires.
            let cluster = try await TestCluster.started(
                size: 3, extraArguments: ["--election-ticks", "100", "--request-timeout-ms", "1000"])
            defer { cluster.resumeAndStopAll() }
            let leader = try await cluster.waitForLeader(timeout: .seconds(15))
            let alice = try await ChatUser.register("alice", at: leader.baseURL)
            let follower = cluster.followers(of: leader)[0]
            kill(try #require(leader.process?.processIdentifier), SIGSTOP)
            let read = try await alice.at(follower).inbox()
            #expect(read.status == 503)
            #expect(read.errorMessage == "This read could not be confirmed with the leader in time; retry it.", "\(read.text)")
        }
    }
}

/// The answers of reads made in a loop: how many, and the refused ones.
actor ReadStatuses {
    private(set) var count = 0
    private(set) var refused: [String] = []

    func note(_ response: TestClient.Response) {
        count += 1
        if response.status != 200 { refused.append("\(response.status) \(response.text)") }
    }
}
