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
