import Foundation
import Testing

/// The logs tell an operator what happened: elections and leadership, peers going away and
/// coming back, and (with `--access-log`) every request.
extension ClusterTests {
    @Suite(.serialized) struct OperatorLogs {
        private func fullLog(of replica: ChatdProcess) -> String {
            (try? String(contentsOf: replica.logURL, encoding: .utf8)) ?? ""
        }

        /// Waits until `replica`'s log contains `text`.
        private func waitForLog(_ text: String, in replica: ChatdProcess, timeout: Duration = .seconds(10)) async throws -> Bool {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if fullLog(of: replica).contains(text) { return true }
                try await Task.sleep(for: .milliseconds(50))
            }
            return false
        }

        @Test func leadershipAndPeersComingAndGoingAreLogged() async throws {
            let cluster = try await TestCluster.started(size: 3, extraArguments: ["--log-level", "info"])
            defer { cluster.stopAll() }
            let leader = try await cluster.waitForLeader()
            #expect(try await waitForLog("became the leader in term", in: leader))
            let follower = cluster.followers(of: leader)[0]
            #expect(try await waitForLog("following leader n\(leader.id) in term", in: follower))
            follower.stop(signal: SIGKILL)
            #expect(
                try await waitForLog("peer \(follower.baseURL) is unreachable", in: leader),
                "the leader logs a peer it cannot reach: \(fullLog(of: leader).suffix(600))")
            try await follower.start()
            #expect(
                try await waitForLog("peer \(follower.baseURL) is reachable again", in: leader),
                "and logs it once it is back: \(fullLog(of: leader).suffix(600))")
        }

        /// Found by probing: a leader that lost its place logged only that it now follows, or
        /// knows no leader, so its log never said it had led, nor why it stopped.
        @Test func aLeaderCutOffFromItsMajorityLogsThatItSteppedDownAndWhy() async throws {
            let cluster = try await TestCluster.started(size: 3, extraArguments: ["--log-level", "info"])
            defer { cluster.stopAll() }
            let leader = try await cluster.waitForLeader()
            let term = try #require(try await leader.clusterView["term"] as? Int)
            for follower in cluster.followers(of: leader) { follower.stop(signal: SIGKILL) }
            let line = "stepped down as the leader of term \(term): fewer than a majority of the voters answered it"
            #expect(try await waitForLog(line, in: leader), "\(fullLog(of: leader).suffix(800))")
        }

        /// A restart says so; it says flags are ignored only when some were given.
        @Test func aRestartIsLoggedAndIgnoredFlagsOnlyWhenGiven() async throws {
            let replica = try await ChatdProcess.single(extraArguments: ["--log-level", "info"])
            #expect(try await waitForLog("creating cluster", in: replica), "a first start alone does not say it founds a cluster")
            replica.stop()
            replica.entry = .dataDirectoryOnly
            try await replica.start()
            defer { replica.stop() }
            #expect(try await waitForLog("restarts from \(replica.dataDirectory.path)", in: replica))
            #expect(!fullLog(of: replica).contains("are ignored"), "no --peers or --join was given: \(fullLog(of: replica))")
            replica.stop()
            replica.entry = .peers
            try await replica.start()
            #expect(try await waitForLog("--peers, --join and --restore only matter at a first start and are ignored", in: replica))
        }

        /// A joining replica that cannot get itself added says, for each URL, why.
        @Test func aJoinThatCannotReachItsClusterLogsWhy() async throws {
            let nothingListens = try FreePort.next()
            let joiner = ChatdProcess(
                id: 7, peers: [7: try FreePort.next()], dataDirectory: TemporaryDirectory.make(),
                extraArguments: ["--cluster-secret", TestCluster.secret, "--log-level", "info"])
            joiner.entry = .join(["http://127.0.0.1:\(nothingListens)"], learner: false)
            try await joiner.start(waitForHealth: false)
            defer { joiner.stop() }
            #expect(
                try await waitForLog("127.0.0.1:\(nothingListens): connection refused", in: joiner),
                "the join's wait does not say why: \(fullLog(of: joiner))")
        }

        /// Found by probing: a replica told to join through its own address retried for ever,
        /// saying only that no leader answered.
        @Test func aJoinThroughOnlyItsOwnAddressIsRefusedAtStart() async throws {
            let port = try FreePort.next()
            let (status, message) = try await ClusterTests.OperatorSafety.exitOfChatd([
                "--id", "7", "--join", "http://127.0.0.1:\(port)", "--listen", "127.0.0.1:\(port)",
                "--cluster-secret", TestCluster.secret, "--data-dir", TemporaryDirectory.make().path,
            ])
            #expect(status != 0 && message.contains("--join names only this replica's own address"), "\(status) \(message)")
        }

        /// Found by probing: a member added at another replica's address (one machine spelled
        /// two ways) never caught up, and no replica said why: the other replica dropped the
        /// messages for an id not its own. It now refuses them, and the leader says so, once.
        @Test func aMemberAddedAtAnotherReplicasAddressIsReportedByTheLeader() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll() }
            let leader = try await cluster.waitForLeader()
            let other = cluster.followers(of: leader)[0]
            // localhost is known for 127.0.0.1, and refused as a taken address.
            let known = try await TestClient.shared.request(
                .POST, "\(leader.baseURL)/v1/cluster/members", json: ["id": 9, "url": "http://LOCALHOST:\(other.port)"],
                headers: [("X-Chat-Cluster-Secret", TestCluster.secret)])
            #expect(known.status == 409 && known.errorCode == "member_exists", "\(known.status) \(known.text)")
            // An IPv4 address written as IPv6 is not told apart from a new address.
            let alias = "http://[::ffff:127.0.0.1]:\(other.port)"
            let added = try await TestClient.shared.request(
                .POST, "\(leader.baseURL)/v1/cluster/members", json: ["id": 9, "url": alias],
                headers: [("X-Chat-Cluster-Secret", TestCluster.secret)])
            #expect(added.status == 201, "\(added.status) \(added.text)")
            let warning = "\(alias) refused Raft messages: it is another replica"
            #expect(try await waitForLog(warning, in: leader), "the leader does not say why replica 9 lags: \(fullLog(of: leader))")
            try await Task.sleep(for: .seconds(1))  // five more refusals at the link's pace
            #expect(fullLog(of: leader).components(separatedBy: warning).count == 2, "logged more than once: \(fullLog(of: leader))")
        }

        /// Found by probing: restarted without --id, a replica labelled its lines `chatd`.
        @Test func aReplicaRestartedFromItsDataDirectoryAloneNamesItselfInItsLog() async throws {
            let replica = try await ChatdProcess.single(extraArguments: ["--log-level", "info"])
            replica.stop()
            replica.entry = .dataDirectoryOnly
            try await replica.start()
            defer { replica.stop() }
            let restart = try #require(
                fullLog(of: replica).split(separator: "\n").last { $0.contains("restarts from") }, "no restart line: \(fullLog(of: replica))")
            #expect(restart.contains(" chatd.1: "), "\(restart)")
        }

        /// Found by hand: a decoded line break in the path went into the access log as is, so a
        /// client could write a line of its own (here, one that claims an election).
        @Test func aClientCannotWriteALineOfItsOwnIntoTheAccessLog() async throws {
            let replica = try await ChatdProcess.single(extraArguments: ["--access-log", "--log-level", "info"])
            defer { replica.stop() }
            _ = try await TestClient.shared.get("\(replica.baseURL)/v1/accounts/x%0Aforged%20became%20the%20leader")
            #expect(try await waitForLog("GET /v1/accounts/x%0Aforged%20became%20the%20leader 405", in: replica))
            let lines = fullLog(of: replica).split(separator: "\n")
            #expect(!lines.contains { $0.hasPrefix("forged") }, "a forged line reached the log: \(fullLog(of: replica))")
        }

        @Test func theAccessLogHasALinePerRequestOnlyWhenAskedFor() async throws {
            let logged = try await ChatdProcess.single(extraArguments: ["--access-log", "--log-level", "info"])
            let quiet = try await ChatdProcess.single(extraArguments: ["--log-level", "info"])
            defer {
                logged.stop()
                quiet.stop()
            }
            for replica in [logged, quiet] {
                _ = try await TestClient.shared.get("\(replica.baseURL)/healthz")
                _ = try await TestClient.shared.request(.POST, "\(replica.baseURL)/v1/accounts", rawBody: Array("{".utf8))
            }
            #expect(try await waitForLog("GET /healthz 200", in: logged))
            #expect(try await waitForLog("POST /v1/accounts 400", in: logged))
            #expect(!fullLog(of: quiet).contains("GET /healthz 200"), "no access log without --access-log")
        }

        /// What libmicrohttpd itself reports is a dated, labelled line of the replica's log, not a
        /// bare line of its own on stderr.
        @Test func theHTTPLibrarysMessagesAreLinesOfTheReplicasLog() async throws {
            let replica = try await ChatdProcess.single(extraArguments: ["--log-level", "info"])
            defer { replica.stop() }
            let refused = try await TestClient.shared.request(
                .GET, "\(replica.baseURL)/healthz", headers: [("X-Large", String(repeating: "x", count: 8 * 1024))])
            #expect(refused.status == 431)
            #expect(try await waitForLog("libmicrohttpd: ", in: replica), "\(fullLog(of: replica).suffix(600))")
            let bare = fullLog(of: replica).split(separator: "\n").filter { !$0.contains(" chatd.") }
            #expect(bare.isEmpty, "lines outside the log's format: \(bare)")
            #expect(!fullLog(of: replica).contains("standard MHD logger"), "the logger must be libmicrohttpd's first option")
        }
    }
}
