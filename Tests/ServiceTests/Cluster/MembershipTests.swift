import Foundation
import NIOHTTP1
import Testing

/// Adding, promoting, removing and replacing replicas of a running cluster, with real
/// processes and a steady stream of sends: every acknowledged message is delivered exactly
/// once, on every member, throughout.
extension ClusterTests {
    @Suite(.serialized) struct MembershipChanges {
        static func members(at replica: ChatdProcess) async throws -> [Int: String] {
            let view = try await replica.clusterView
            let members = view["members"] as? [[String: Any]] ?? []
            return Dictionary(uniqueKeysWithValues: members.compactMap { member in
                (member["id"] as? Int).map { ($0, member["role"] as? String ?? "?") }
            })
        }

        /// Whether each member answered the leader lately, as `replica` (the leader) shows it.
        static func reachability(at replica: ChatdProcess) async throws -> [Int: Bool] {
            let members = try await replica.clusterView["members"] as? [[String: Any]] ?? []
            return Dictionary(uniqueKeysWithValues: members.compactMap { member in
                guard let id = member["id"] as? Int, let reachable = member["reachable"] as? Bool else { return nil }
                return (id, reachable)
            })
        }

        /// An operator call with the cluster secret, following a 307 to the leader.
        static func operatorCall(
            _ method: HTTPMethod, _ path: String, json: Any? = nil, at replica: ChatdProcess
        ) async throws -> TestClient.Response {
            var url = replica.baseURL + path
            for _ in 0..<3 {
                let response = try await TestClient.shared.request(
                    method, url, json: json, headers: [("X-Chat-Cluster-Secret", TestCluster.secret)])
                guard response.status == 307, let location = response.headers.first(name: "Location") else { return response }
                url = location
            }
            throw TestFailure("\(path) redirected too often")
        }

        static func waitUntilVoter(_ id: Int, in cluster: TestCluster, timeout: Duration = .seconds(30)) async throws {
            _ = try await eventually(timeout: timeout) {
                let leader = try await cluster.waitForLeader()
                return try await members(at: leader)[id] == "voter" ? true : nil
            }
        }

        @Test func growingFromThreeToFiveUnderSends() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll() }
            let stream = try await SendStream.start(on: cluster)
            try await stream.waitForMore(30)
            for id in [4, 5] {
                let joiner = try cluster.addJoiner(id: id)
                try await joiner.start()
                try await Self.waitUntilVoter(id, in: cluster)
                try await stream.waitForMore(20)
            }
            let leader = try await cluster.waitForLeader()
            #expect(try await Self.members(at: leader) == [1: "voter", 2: "voter", 3: "voter", 4: "voter", 5: "voter"])
            // A joined replica restarts from its data directory alone.
            let joined = cluster.replica(5)
            joined.stop()
            joined.entry = .dataDirectoryOnly
            try await joined.start()
            try await stream.waitForMore(20)
            try await stream.finishAndCheck()
        }

        @Test func shrinkingFromFiveToThreeRemovingTheLeaderUnderSends() async throws {
            let cluster = try await TestCluster.started(size: 5)
            defer { cluster.stopAll() }
            let stream = try await SendStream.start(on: cluster)
            try await stream.waitForMore(30)
            let leader = try await cluster.waitForLeader()
            let removal = try await Self.operatorCall(.DELETE, "/v1/cluster/members/\(leader.id)", at: leader)
            #expect(removal.status == 204, "removing the leader: \(removal.status) \(removal.text)")
            leader.stop()
            let second = try await cluster.waitForLeader()
            #expect(second.id != leader.id)
            try await stream.waitForMore(20)
            let other = cluster.followers(of: second)[0]
            let secondRemoval = try await Self.operatorCall(.DELETE, "/v1/cluster/members/\(other.id)", at: other)
            #expect(secondRemoval.status == 204, "removing a follower through a follower: \(secondRemoval.status) \(secondRemoval.text)")
            other.stop()
            try await stream.waitForMore(20)
            let remaining = try await Self.members(at: try await cluster.waitForLeader())
            #expect(remaining.count == 3 && remaining.values.allSatisfy { $0 == "voter" }, "members: \(remaining)")
            try await stream.finishAndCheck()
        }

        @Test func replacingAReplicaWhoseDataDirectoryWasWiped() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll() }
            let stream = try await SendStream.start(on: cluster)
            try await stream.waitForMore(30)
            let leader = try await cluster.waitForLeader()
            let lost = cluster.followers(of: leader)[0]
            lost.stop(signal: SIGKILL)
            try FileManager.default.removeItem(at: lost.dataDirectory)
            let removal = try await Self.operatorCall(.DELETE, "/v1/cluster/members/\(lost.id)", at: leader)
            #expect(removal.status == 204, "\(removal.status) \(removal.text)")
            try await stream.waitForMore(20)
            let replacement = try cluster.addJoiner(id: 6)
            try await replacement.start()
            try await Self.waitUntilVoter(6, in: cluster)
            try await stream.waitForMore(20)
            #expect(try await Self.members(at: try await cluster.waitForLeader()).keys.sorted() == [1, 2, 3, 6].filter { $0 != lost.id })
            try await stream.finishAndCheck()
        }

        @Test func aWipedReplicaRestartedWithItsOldFlagsRefusesToStartUnderSends() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll() }
            let stream = try await SendStream.start(on: cluster)
            try await stream.waitForMore(30)
            let leader = try await cluster.waitForLeader()
            let wiped = cluster.followers(of: leader)[0]
            wiped.stop(signal: SIGKILL)
            try FileManager.default.removeItem(at: wiped.dataDirectory)
            try? await wiped.start()  // it may exit before it answers /healthz
            let status = try #require(wiped.process.flatMap { exitStatus(of: $0, timeout: .seconds(20)) }, "it did not exit")
            #expect(status == 2)
            #expect(wiped.recentLog.contains("refusing to start"), "log: \(wiped.recentLog)")
            #expect(wiped.recentLog.contains("chat cluster remove \(wiped.id)"), "the replacement procedure is printed")
            try await stream.waitForMore(20)
            try await stream.finishAndCheck()
        }

        @Test func aMessageNamingAnotherClusterIsRefused() async throws {
            let ours = try await TestCluster.started(size: 3)
            defer { ours.stopAll() }
            let theirs = try await TestCluster.started(size: 1)
            defer { theirs.stopAll() }
            let leader = try await ours.waitForLeader()
            let termBefore = try await leader.clusterView["term"] as? Int
            let otherID = try await theirs.replicas[0].clusterView["cluster_id"] as? String
            let ourID = try await leader.clusterView["cluster_id"] as? String
            #expect(otherID != nil && otherID != ourID)
            // A vote request of a much higher term, from "replica 2" of the other cluster.
            var batch: [UInt8] = [1, 0, 0, 0]  // one message
            batch += [2, 0] + le(2) + le(UInt64(leader.id)) + le(999) + [1] + le(1000) + le(999) + [0]
            let response = try await TestClient.shared.request(
                .POST, "\(leader.baseURL)/internal/raft/messages", rawBody: batch,
                headers: [("X-Chat-Cluster-Secret", TestCluster.secret), ("X-Chat-Cluster-Id", otherID ?? "")])
            #expect(response.status == 409)
            #expect(response.errorCode == "wrong_cluster")
            #expect(try await leader.clusterView["term"] as? Int == termBefore, "the refused message changed the term")
        }

        /// The README's "add by hand, then start it with --join": the joiner finds itself listed
        /// at its own URL, heard of by nobody, and takes the place.
        @Test func aReplicaAddedByHandThenStartedWithJoinTakesItsPlace() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll() }
            let joiner = try cluster.addJoiner(id: 4)
            let added = try await Self.operatorCall(
                .POST, "/v1/cluster/members", json: ["id": 4, "url": joiner.baseURL], at: try await cluster.waitForLeader())
            #expect(added.status == 201, "\(added.status) \(added.text)")
            try await joiner.start()
            try await Self.waitUntilVoter(4, in: cluster)
        }

        /// Two replicas added by hand, then started at once: each is the other's member with no
        /// data yet, and each vouches for the other, since no member with data heard from it.
        @Test func twoReplicasAddedByHandThenStartedTogetherBothTakeTheirPlaces() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll() }
            let joiners = [try cluster.addJoiner(id: 4), try cluster.addJoiner(id: 5)]
            for joiner in joiners {
                let added = try await eventually(timeout: .seconds(10)) {
                    let answer = try await Self.operatorCall(
                        .POST, "/v1/cluster/members", json: ["id": joiner.id, "url": joiner.baseURL], at: try await cluster.waitForLeader())
                    return answer.status == 201 ? answer : nil
                }
                #expect(added.status == 201)
            }
            async let fourth: Void = joiners[0].start()
            async let fifth: Void = joiners[1].start()
            _ = try await (fourth, fifth)
            try await Self.waitUntilVoter(4, in: cluster)
            try await Self.waitUntilVoter(5, in: cluster)
        }

        /// A member with no data that ran before (its disk was wiped) has forgotten whom it
        /// heard from: it cannot vouch, and a replica added by hand waits for it. Stand-ins play
        /// the leader, which heard from that member, and the wiped member.
        @Test func aMemberWipedAfterItRanCannotVouchForAReplicaAddedByHand() async throws {
            let (leaderPort, wipedPort, ownPort) = (try FreePort.next(), try FreePort.next(), try FreePort.next())
            let (leaderURL, wipedURL) = ("http://127.0.0.1:\(leaderPort)", "http://127.0.0.1:\(wipedPort)")
            let members: [[String: Any]] = [
                ["id": 1, "role": "voter", "url": leaderURL], ["id": 5, "role": "voter", "url": wipedURL],
                ["id": 4, "role": "learner", "url": "http://127.0.0.1:\(ownPort)"],
            ]
            let leader = try Self.scriptedLeaderListingReplica4(port: leaderPort, members: members)
            let wiped = try ScriptedPeer(port: wipedPort, view: "{}")
            defer { leader.stop(); wiped.stop() }
            leader.route("GET /internal/identity?asker=5", status: "200 OK", body: #"{"cluster_id":"c0ffee","heard_from_asker":true}"#)
            wiped.route("GET /internal/identity?asker=4", status: "200 OK", body: #"{"cluster_id":null,"heard_from_asker":false}"#)
            let joiner = Self.replica4Joining(through: leaderURL, port: ownPort)
            joiner.extraArguments += ["--log-level", "notice"]
            defer { joiner.stop() }
            try await joiner.start(waitForHealth: false)

            _ = try await eventually(timeout: .seconds(20)) { leader.calls(to: "GET /internal/identity?asker=5") >= 2 ? true : nil }
            #expect(!joiner.recentLog.contains("taking its place"), "it took the place on a wiped member's word: \(joiner.recentLog)")
            #expect(joiner.recentLog.contains("waiting for replicas 5 to confirm"), "log: \(joiner.recentLog)")

            leader.route("GET /internal/identity?asker=5", status: "200 OK", body: #"{"cluster_id":"c0ffee","heard_from_asker":false}"#)
            let adopted = try await eventually(timeout: .seconds(20)) { joiner.recentLog.contains("taking its place") ? true : nil }
            #expect(adopted, "a member that never ran vouches: \(joiner.recentLog)")
        }

        /// A leader lists its newest configuration, committed or not. A place in one not yet
        /// committed may be dropped by the next leader: the joiner waits for the commit.
        @Test func aPlaceInAConfigurationNotYetCommittedIsNotTaken() async throws {
            let (leaderPort, ownPort) = (try FreePort.next(), try FreePort.next())
            let leaderURL = "http://127.0.0.1:\(leaderPort)"
            let members: [[String: Any]] = [
                ["id": 1, "role": "voter", "url": leaderURL], ["id": 4, "role": "learner", "url": "http://127.0.0.1:\(ownPort)"],
            ]
            let leader = try Self.scriptedLeaderListingReplica4(port: leaderPort, members: members)
            defer { leader.stop() }
            func view(commitIndex: Int) -> String {
                let view: [String: Any] = [
                    "cluster_id": "c0ffee", "id": 1, "role": "leader", "leader": ["id": 1, "url": leaderURL],
                    "applied_index": commitIndex, "commit_index": commitIndex, "configuration_index": 8, "members": members,
                ]
                return String(decoding: try! JSONSerialization.data(withJSONObject: view), as: UTF8.self)
            }
            leader.answer(with: view(commitIndex: 7))
            let joiner = Self.replica4Joining(through: leaderURL, port: ownPort)
            joiner.extraArguments += ["--log-level", "notice"]
            defer { joiner.stop() }
            try await joiner.start(waitForHealth: false)

            _ = try await eventually(timeout: .seconds(20)) { leader.clusterCalls >= 6 ? true : nil }
            #expect(!joiner.recentLog.contains("taking its place"), "it took a place not yet committed: \(joiner.recentLog)")
            #expect(joiner.recentLog.contains("not committed yet"), "log: \(joiner.recentLog)")

            leader.answer(with: view(commitIndex: 8))
            let adopted = try await eventually(timeout: .seconds(20)) { joiner.recentLog.contains("taking its place") ? true : nil }
            #expect(adopted, "the committed place is taken: \(joiner.recentLog)")
        }

        /// An eighth voter is refused: the joiner says so once, stays a learner, and asks again
        /// only every ten seconds instead of five times a second.
        @Test func aJoinerThatCannotBecomeAVoterSaysWhyAndStopsAskingSoOften() async throws {
            let cluster = try await TestCluster.started(size: 7)
            defer { cluster.stopAll() }
            let joiner = try await Self.joinAsARefusedEighthVoter(cluster)
            let warning = "the leader refuses to make replica 8 a voter"
            let leader = try await cluster.waitForLeader()
            let refusedBefore = try await Self.promotionsRefused(at: leader)
            try await Task.sleep(for: .seconds(2))  // ten asks at the learner's usual pace
            let refusedAfter = try await Self.promotionsRefused(at: try await cluster.waitForLeader())
            #expect(refusedAfter - refusedBefore <= 1, "\(refusedAfter - refusedBefore) refused promotions in 2 s")
            #expect(joiner.recentLog.components(separatedBy: warning).count == 2, "the refusal is logged once: \(joiner.recentLog)")
            #expect(try await Self.members(at: leader)[8] == "learner")
        }

        /// Found by probing: only the first start asked to be promoted, so a joiner restarted
        /// before its promotion stayed a learner for good, silently.
        @Test func aJoinerRestartedBeforeItsPromotionStillBecomesAVoter() async throws {
            let cluster = try await TestCluster.started(size: 7)
            defer { cluster.stopAll() }
            // Seven voters already: the leader refuses, so it is still a learner when it stops.
            let joiner = try await Self.joinAsARefusedEighthVoter(cluster)
            joiner.stop(signal: SIGKILL)
            let leader = try await cluster.waitForLeader()
            let voter = try #require(cluster.followers(of: leader).first { $0.id != 8 })
            let removed = try await Self.operatorCall(.DELETE, "/v1/cluster/members/\(voter.id)", at: leader)
            #expect(removed.status == 204 || removed.status == 200, "\(removed.status) \(removed.text)")
            joiner.entry = .dataDirectoryOnly
            try await joiner.start()
            try await Self.waitUntilVoter(8, in: cluster)
        }

        /// Found by probing: a learner never campaigns, so it went on naming its dead leader and
        /// answering /readyz 200 while it could serve no linearizable read.
        @Test func aLearnerWhoseLeaderIsGoneIsNotReady() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll() }
            let learner = try cluster.addJoiner(id: 4, learner: true)
            try await learner.start()
            try await learner.waitUntil(path: "/readyz", timeout: .seconds(20))
            let leader = try await cluster.waitForLeader()
            for replica in cluster.replicas where replica.id != learner.id && replica.id != cluster.followers(of: leader).first?.id {
                replica.stop(signal: SIGKILL)
            }
            let notReady = try await eventually(timeout: .seconds(5)) {
                let status = try await TestClient.shared.get("\(learner.baseURL)/readyz").status
                return status == 503 ? status : nil
            }
            #expect(notReady == 503)
        }

        /// Replica 8 joining a cluster of seven voters, once it has logged the leader's refusal to
        /// make it an eighth.
        static func joinAsARefusedEighthVoter(_ cluster: TestCluster) async throws -> ChatdProcess {
            let joiner = try cluster.addJoiner(id: 8)
            joiner.extraArguments += ["--log-level", "notice"]
            try await joiner.start()
            _ = try await eventually(timeout: .seconds(20)) {
                joiner.recentLog.contains("the leader refuses to make replica 8 a voter") ? true : nil
            }
            return joiner
        }

        /// A stand-in leader of cluster c0ffee listing `members`, which answers replica 4's
        /// request to join with `member_exists` and says it never heard from replica 4.
        static func scriptedLeaderListingReplica4(port: Int, members: [[String: Any]]) throws -> ScriptedPeer {
            let url = "http://127.0.0.1:\(port)"
            let view: [String: Any] = [
                "cluster_id": "c0ffee", "id": 1, "role": "leader", "leader": ["id": 1, "url": url],
                "applied_index": 9, "commit_index": 9, "configuration_index": 8, "members": members,
            ]
            let leader = try ScriptedPeer(port: port, view: String(decoding: try JSONSerialization.data(withJSONObject: view), as: UTF8.self))
            leader.route("POST /v1/cluster/members", status: "409 Conflict", body: #"{"error":{"code":"member_exists","message":"replica 4 is a member"}}"#)
            leader.route("GET /internal/identity?asker=4", status: "200 OK", body: #"{"cluster_id":"c0ffee","heard_from_asker":false}"#)
            return leader
        }

        /// Replica 4 with an empty data directory, to be started with `--join` through `url`.
        static func replica4Joining(through url: String, port: Int) -> ChatdProcess {
            let joiner = ChatdProcess(
                id: 4, peers: [4: port], dataDirectory: TemporaryDirectory.make(), extraArguments: ["--cluster-secret", TestCluster.secret])
            joiner.entry = .join([url], learner: true)
            return joiner
        }

        static func promotionsRefused(at replica: ChatdProcess) async throws -> Int {
            let metrics = try await TestClient.shared.get("\(replica.baseURL)/metrics").text
            return metrics.split(separator: "\n")
                .filter { $0.hasPrefix("chat_http_requests_total{") && $0.contains("promote") && $0.contains("status=\"409\"") }
                .compactMap { Double($0.split(separator: " ").last ?? "").map(Int.init) }
                .reduce(0, +)
        }

        /// Which members heard from a voter is known only to the leaders it answered, and those
        /// may be gone: a voter listed under this id ran before (it founded the cluster or caught
        /// up before its promotion), so an empty directory under its id is refused outright.
        @Test func aVoterWhoseDiskWasWipedIsRefusedEvenWhenNoMemberRemembersIt() async throws {
            let (leaderPort, ownPort) = (try FreePort.next(), try FreePort.next())
            let leaderURL = "http://127.0.0.1:\(leaderPort)"
            let members: [[String: Any]] = [
                ["id": 1, "role": "voter", "url": leaderURL], ["id": 4, "role": "voter", "url": "http://127.0.0.1:\(ownPort)"],
            ]
            let leader = try Self.scriptedLeaderListingReplica4(port: leaderPort, members: members)
            defer { leader.stop() }
            let joiner = Self.replica4Joining(through: leaderURL, port: ownPort)
            defer { joiner.stop() }
            try? await joiner.start(waitForHealth: false)
            let status = try #require(joiner.process.flatMap { exitStatus(of: $0, timeout: .seconds(20)) }, "it did not exit: \(joiner.recentLog)")
            #expect(status == 2)
            #expect(joiner.recentLog.contains("replica 4 is a voter of cluster c0ffee, so it ran before"), "log: \(joiner.recentLog)")
        }

        /// Both other founding members were replaced where they stood (new ids, same URLs): they
        /// never heard from replica 3, whether it ran or not, so its empty directory is refused
        /// rather than taken for a founding member that starts late.
        @Test func aWipedFoundingMemberWhosePeersWereReplacedIsRefused() async throws {
            let (port1, port2, ownPort) = (try FreePort.next(), try FreePort.next(), try FreePort.next())
            let stand1 = try ScriptedPeer(port: port1, view: "{}")
            let stand2 = try ScriptedPeer(port: port2, view: "{}")
            defer { stand1.stop(); stand2.stop() }
            for (peer, id) in [(stand1, 6), (stand2, 7)] {
                peer.route(
                    "GET /internal/identity?asker=3", status: "200 OK",
                    body: #"{"cluster_id":"c0ffee","heard_from_asker":false,"replica_id":\#(id)}"#)
            }
            let founder = ChatdProcess(
                id: 3, peers: [1: port1, 2: port2, 3: ownPort], dataDirectory: TemporaryDirectory.make(),
                extraArguments: ["--cluster-secret", TestCluster.secret])
            defer { founder.stop() }
            try? await founder.start(waitForHealth: false)
            let status = try #require(founder.process.flatMap { exitStatus(of: $0, timeout: .seconds(20)) }, "it did not exit: \(founder.recentLog)")
            #expect(status == 2)
            #expect(founder.recentLog.contains("replica 6 answers at http://127.0.0.1:\(port1), which --peers gives to replica 1"), "log: \(founder.recentLog)")
        }

        /// A joined replica whose disk was wiped cannot come back under its id through --join:
        /// the members heard from it.
        @Test func aWipedJoinedReplicaRestartedWithJoinRefusesToStart() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll() }
            let joiner = try cluster.addJoiner(id: 4)
            try await joiner.start()
            try await Self.waitUntilVoter(4, in: cluster)
            joiner.stop(signal: SIGKILL)
            try FileManager.default.removeItem(at: joiner.dataDirectory)
            try? await joiner.start()  // it may exit before it answers /healthz
            let status = try #require(joiner.process.flatMap { exitStatus(of: $0, timeout: .seconds(20)) }, "it did not exit")
            #expect(status == 2)
            #expect(joiner.recentLog.contains("heard from replica 4"), "log: \(joiner.recentLog)")
        }

        /// A machine of a retired cluster comes back at addresses a new cluster now uses: its
        /// campaign reaches two of our replicas, which refuse it, and our writes go on.
        @Test func aRealReplicaOfAnotherClusterIsRefusedUnderSends() async throws {
            let ours = try TestCluster(size: 3)
            defer { ours.stopAll() }
            let root = TemporaryDirectory.make()
            let theirPorts = [1: ours.replica(1).port, 2: ours.replica(2).port, 3: try FreePort.next()]
            let theirs = (1...3).map { id in
                ChatdProcess(
                    id: id, peers: theirPorts, dataDirectory: root.appendingPathComponent("\(id)"),
                    extraArguments: ["--cluster-secret", TestCluster.secret] + TestCluster.fastTiming)
            }
            defer { theirs.forEach { $0.stop() } }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for replica in theirs { group.addTask { try await replica.start() } }
                try await group.waitForAll()
            }
            // Once replica 3 has applied the founding entry, its identity is on its disk.
            let theirID = try await eventually(timeout: .seconds(15)) {
                let view = try await theirs[2].clusterView
                return (view["applied_index"] as? Int ?? 0) >= 1 ? view["cluster_id"] as? String : nil
            }
            theirs.forEach { $0.stop() }

            try await ours.startAll()
            let leader = try await ours.waitForLeader()
            let ourID = try await leader.clusterView["cluster_id"] as? String
            #expect(ourID != theirID)
            let stream = try await SendStream.start(on: ours)
            try await stream.waitForMore(20)
            let stray = theirs[2]
            stray.entry = .dataDirectoryOnly
            try await stray.start()
            _ = try await eventually(timeout: .seconds(15)) {
                stray.recentLog.contains("belongs to another cluster") ? true : nil
            }
            try await stream.waitForMore(20)
            #expect(try await ours.waitForLeader().id == leader.id, "the stray replica disturbed our leader")
            #expect(try await stray.clusterView["cluster_id"] as? String == theirID)
            try await stream.finishAndCheck()
        }

        @Test func aSecondChangeWhileOneIsInFlightIs409ChangeInProgress() async throws {
            // Elections take 3–6 s here, so the leader keeps leading while its followers are paused.
            let cluster = try await TestCluster.started(size: 3, extraArguments: ["--election-ticks", "100"])
            let leader = try await cluster.waitForLeader(timeout: .seconds(15))
            let paused = cluster.followers(of: leader).compactMap { $0.process?.processIdentifier }
            defer {
                for pid in paused { kill(pid, SIGCONT) }
                cluster.stopAll()
            }
            for pid in paused { kill(pid, SIGSTOP) }
            let first = Task {
                try await Self.operatorCall(.POST, "/v1/cluster/members", json: ["id": 9, "url": "http://127.0.0.1:1"], at: leader)
            }
            // A configuration is in force once in the leader's log, before it commits.
            _ = try await eventually(timeout: .seconds(5)) { try await Self.members(at: leader)[9] != nil ? true : nil }
            let second = try await Self.operatorCall(
                .POST, "/v1/cluster/members", json: ["id": 10, "url": "http://127.0.0.1:2"], at: leader)
            #expect(second.status == 409 && second.errorCode == "change_in_progress", "\(second.status) \(second.text)")
            for pid in paused { kill(pid, SIGCONT) }
            let firstAnswer = try await first.value
            #expect(firstAnswer.status == 201, "the first change completes once a majority is back: \(firstAnswer.text)")
        }

        /// Found by probing: removing a healthy voter while another was down was accepted, and
        /// left the cluster without a leader until the down one came back (for good, had its disk
        /// been lost).
        @Test func aChangeThatWouldLeaveNoReachableMajorityIsRefusedAndSaysWhy() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll() }
            let leader = try await cluster.waitForLeader()
            let followers = cluster.followers(of: leader)
            let (down, healthy) = (followers[0], followers[1])
            #expect(try await Self.reachability(at: leader) == [leader.id: true, down.id: true, healthy.id: true])
            down.stop(signal: SIGKILL)
            _ = try await eventually(timeout: .seconds(10)) { try await Self.reachability(at: leader)[down.id] == false ? true : nil }
            let refused = try await Self.operatorCall(.DELETE, "/v1/cluster/members/\(healthy.id)", at: leader)
            #expect(refused.status == 409 && refused.errorCode == "voters_unreachable", "\(refused.status) \(refused.text)")
            #expect(refused.errorMessage?.contains("Replica \(down.id) has not answered") == true, "\(refused.text)")
            #expect(try await Self.members(at: leader)[healthy.id] == "voter", "the refused removal took effect")
            let removal = try await Self.operatorCall(.DELETE, "/v1/cluster/members/\(down.id)", at: leader)
            #expect(removal.status == 204, "removing the replica that is down must stay possible: \(removal.status) \(removal.text)")
        }

        /// Found by review: with member URLs at a wildcard host refused, a replica joining with
        /// --listen 0.0.0.0 could no longer join; it advertises the loopback address, and warns.
        @Test func aReplicaJoiningWithAWildcardListenAdvertisesLoopbackAndWarns() async throws {
            let cluster = try await TestCluster.started(size: 1)
            defer { cluster.stopAll() }
            let leader = try await cluster.waitForLeader()
            let port = try FreePort.next()
            let joiner = ChatdProcess(
                id: 4, peers: [4: port], hosts: [4: "0.0.0.0"], dataDirectory: TemporaryDirectory.make(),
                extraArguments: ["--cluster-secret", TestCluster.secret] + TestCluster.fastTiming)
            joiner.entry = .join([leader.baseURL], learner: true)
            defer { joiner.stop() }
            try await joiner.start(waitForHealth: false)
            let members = try await eventually(timeout: .seconds(15)) { () -> [[String: Any]]? in
                let members = try await leader.clusterView["members"] as? [[String: Any]] ?? []
                return members.count == 2 ? members : nil
            }
            #expect(members.contains { $0["id"] as? Int == 4 && $0["url"] as? String == "http://127.0.0.1:\(port)" }, "\(members)")
            #expect(joiner.recentLog.contains("--listen 0.0.0.0 is a wildcard address"), "\(joiner.recentLog)")
        }

        @Test func theChatClusterCommandsListAddPromoteAndRemove() async throws {
            let cluster = try await TestCluster.started(size: 1)
            defer { cluster.stopAll() }
            let base = cluster.replicas[0].baseURL
            func chat(_ arguments: String..., secret: String? = TestCluster.secret) throws -> (status: Int32, output: String) {
                try runChat(["cluster"] + arguments + ["--cluster", base], environment: ["CHAT_CLUSTER_SECRET": secret])
            }
            let added = try chat("add", "9", "http://127.0.0.1:1")
            #expect(added.status == 0 && added.output.contains("9\tlearner\thttp://127.0.0.1:1"), "\(added)")
            let listed = try chat("list", secret: nil)
            #expect(listed.status == 0 && listed.output.contains("1\tvoter") && listed.output.contains("9\tlearner"), "\(listed)")
            let lines = listed.output.split(separator: "\n")
            #expect(lines.contains { $0.hasPrefix("9\t") && $0.hasSuffix("\tnot answering") }, "nothing serves 9: \(listed)")
            #expect(lines.contains { $0.hasPrefix("1\t") && !$0.contains("not answering") }, "\(listed)")
            let promoted = try chat("promote", "9")
            #expect(promoted.status == 1 && promoted.output.contains("once it has caught up"), "\(promoted)")
            let withoutSecret = try chat("remove", "9", secret: nil)
            #expect(withoutSecret.status != 0 && withoutSecret.output.contains("CHAT_CLUSTER_SECRET"), "\(withoutSecret)")
            #expect(try chat("remove", "9").status == 0)
            let lastVoter = try await Self.operatorCall(.DELETE, "/v1/cluster/members/1", at: cluster.replicas[0])
            #expect(lastVoter.status == 409 && lastVoter.errorCode == "change_refused", "no voter would remain: \(lastVoter.text)")
            #expect(try await Self.members(at: cluster.replicas[0]).keys.sorted() == [1])
        }

        @Test func operatorCallsNeedTheClusterSecretAndValidInput() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll() }
            let leader = try await cluster.waitForLeader()
            let follower = cluster.followers(of: leader)[0]
            let unauthenticated = try await TestClient.shared.request(
                .POST, "\(leader.baseURL)/v1/cluster/members", json: ["id": 9, "url": "http://127.0.0.1:1"])
            #expect(unauthenticated.status == 401)
            #expect(unauthenticated.errorMessage == "This call needs the cluster secret in X-Chat-Cluster-Secret.")
            let wrongSecret = try await TestClient.shared.request(
                .POST, "\(leader.baseURL)/v1/cluster/members", json: ["id": 9, "url": "http://127.0.0.1:1"],
                headers: [("X-Chat-Cluster-Secret", "not the secret")])
            #expect(wrongSecret.status == 401)
            #expect(wrongSecret.errorMessage == "The cluster secret in X-Chat-Cluster-Secret is wrong.")
            let redirected = try await TestClient.shared.request(
                .DELETE, "\(follower.baseURL)/v1/cluster/members/9", headers: [("X-Chat-Cluster-Secret", TestCluster.secret)])
            #expect(redirected.status == 307, "a write at a follower goes to the leader")
            let message = redirected.errorMessage ?? ""
            #expect(!message.contains("Prefer: forward"), "operator calls are not forwarded, yet the answer offers it: \(message)")
            for body in [["id": 0, "url": "http://127.0.0.1:1"], ["id": 9, "url": "ftp://x"], ["id": 9],
                         ["id": 9, "url": "http://127.0.0.1:99999"], ["id": 9, "url": "http://127.0.0.1:1/path"],
                         ["id": 9, "url": "https://127.0.0.1:1"], ["id": 9, "url": "http://0.0.0.0:1"],
                         ["id": 9, "url": "http://[::]:1"]] as [[String: Any]] {
                let bad = try await Self.operatorCall(.POST, "/v1/cluster/members", json: body, at: leader)
                #expect(bad.status == 400, "\(body): \(bad.status)")
            }
            let existing = try await Self.operatorCall(.POST, "/v1/cluster/members", json: ["id": 2, "url": "http://127.0.0.1:1"], at: leader)
            #expect(existing.status == 409 && existing.errorCode == "member_exists")
            let existingURL = try await Self.operatorCall(
                .POST, "/v1/cluster/members", json: ["id": 9, "url": follower.baseURL], at: leader)
            #expect(existingURL.status == 409 && existingURL.errorCode == "member_exists")
            #expect(try await Self.operatorCall(.DELETE, "/v1/cluster/members/9", at: leader).status == 404)
            #expect(try await Self.operatorCall(.POST, "/v1/cluster/members/9/promote", at: leader).status == 404)
            // A learner that is not running never catches up.
            let added = try await Self.operatorCall(.POST, "/v1/cluster/members", json: ["id": 9, "url": "http://127.0.0.1:1"], at: leader)
            #expect(added.status == 201 && added.json["role"] as? String == "learner", "\(added.status) \(added.text)")
            // A joining replica keeps where the configuration that added it stands (`RemovalVerdict`).
            let addedAt = added.json["configuration_index"] as? Int
            let leaderView = try await leader.clusterView
            #expect(addedAt != nil && addedAt == leaderView["configuration_index"] as? Int, "\(added.text)")
            let promote = try await Self.operatorCall(.POST, "/v1/cluster/members/9/promote", at: leader)
            #expect(promote.status == 409 && promote.errorCode == "not_caught_up", "\(promote.status) \(promote.text)")
            #expect(try await Self.operatorCall(.DELETE, "/v1/cluster/members/9", at: leader).status == 204)
            #expect(try await Self.members(at: leader).keys.sorted() == [1, 2, 3])
        }
    }
}

private func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value.littleEndian) { Array($0) }
}
