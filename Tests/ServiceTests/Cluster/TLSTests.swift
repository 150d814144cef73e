import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import Testing

/// Replicas that serve HTTPS and call each other with mutual TLS (`--tls-cert`, `--peer-ca`,
/// `--peer-client-cert`, `--peer-verify-client`), with throwaway CAs from `scripts/tls-certs.sh`.
extension ClusterTests {
    @Suite(.serialized) struct TLS {
        /// A client that trusts `ca` only and presents `certificate` (replica id) from it, if given.
        static func client(trusting ca: TestCertificates, presenting certificate: (TestCertificates, Int)? = nil) throws -> HTTPClient {
            var tls = ca.clientTLS()
            if let (issuer, id) = certificate {
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(issuer.certificate(id)).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: issuer.key(id), format: .pem))
            }
            var configuration = HTTPClient.Configuration(tlsConfiguration: tls, redirectConfiguration: .disallow)
            configuration.connectionPool.retryConnectionEstablishment = false
            configuration.timeout = .init(connect: .seconds(2), read: .seconds(30))
            return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        }

        static func status(_ client: HTTPClient, _ method: HTTPMethod, _ url: String, headers: [(String, String)] = []) async throws -> Int {
            var request = HTTPClientRequest(url: url)
            request.method = method
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            let response = try await client.execute(request, timeout: .seconds(30))
            _ = try await response.body.collect(upTo: 1 << 20)
            return Int(response.status.code)
        }

        /// Found by probing: a client key that was not the client certificate's, or a CA file
        /// that held no certificate, let the replica start and fail every call to its peers
        /// ("badURL"), or stopped it saying only "failedToLoadCertificate".
        @Test func aBadPeerCAOrClientKeyStopsTheReplicaAtStartNamingIt() async throws {
            let certificates = TestCertificates.main
            let garbage = TemporaryDirectory.make().appendingPathComponent("garbage.pem")
            try Data("not a certificate".utf8).write(to: garbage)
            func start(_ peerFlags: [String]) async throws -> (status: Int32, message: String) {
                try await ClusterTests.OperatorSafety.exitOfChatd([
                    "--id", "1", "--peers", "1=https://127.0.0.1:\(try FreePort.next())", "--data-dir", TemporaryDirectory.make().path,
                    "--tls-cert", certificates.certificate(1), "--tls-key", certificates.key(1),
                ] + peerFlags)
            }
            let mismatched = try await start([
                "--peer-ca", certificates.ca, "--peer-client-cert", certificates.certificate(1), "--peer-client-key", certificates.key(2),
            ])
            #expect(mismatched.status != 0 && mismatched.message.contains("--peer-client-key \(certificates.key(2))"), "\(mismatched)")
            let badCA = try await start(["--peer-ca", garbage.path])
            #expect(badCA.status != 0 && badCA.message.contains("--peer-ca \(garbage.path): cannot read PEM certificates"), "\(badCA)")
        }

        @Test func aTLSClusterElectsReplicatesServesAndRedirectsToHTTPS() async throws {
            let cluster = try await TestCluster.started(size: 3, tls: true)
            defer { cluster.stopAll() }
            let leader = try await cluster.waitForLeader()
            #expect(leader.baseURL.hasPrefix("https://"))
            let members = try await leader.clusterView["members"] as? [[String: Any]] ?? []
            #expect(members.count == 3 && members.allSatisfy { ($0["url"] as? String)?.hasPrefix("https://") == true }, "\(members)")
            let alice = try await ChatUser.register("alice", at: leader.baseURL)
            let bobAtLeader = try await ChatUser.register("bob", at: leader.baseURL)
            #expect(try await alice.send(to: "bob", "over TLS").status == 201)
            let follower = cluster.followers(of: leader)[0]
            let redirected = try await alice.at(follower).send(to: "bob", "at a follower")
            #expect(redirected.status == 307)
            #expect(redirected.headers.first(name: "Location") == "\(leader.baseURL)/v1/messages", "\(redirected.headers)")
            // A follower carries a write out through the leader over the peers' TLS.
            let forwarded = try await TestClient.shared.request(
                .POST, "\(follower.baseURL)/v1/messages", token: alice.token, json: ["to": "bob", "body": "forwarded"],
                headers: [("Prefer", "forward")])
            #expect(forwarded.status == 201, "\(forwarded.status) \(forwarded.text)")
            // Replicated over mutual TLS: the follower serves the messages itself.
            let bob = bobAtLeader.at(follower)
            let bodies = try await eventually(timeout: .seconds(10)) {
                let read = try await bob.inbox().bodies
                return read.count < 2 ? nil : read
            }
            #expect(bodies == ["over TLS", "forwarded"])
        }

        @Test func aPeerWhoseCertificateComesFromAnotherCAIsRefused() async throws {
            let cluster = try await TestCluster.started(size: 3, tls: true)
            defer { cluster.stopAll() }
            let leader = try await cluster.waitForLeader()
            let alice = try await ChatUser.register("alice", at: leader.baseURL)
            let stranger = cluster.followers(of: leader)[0]
            stranger.stop()
            stranger.extraArguments = ["--cluster-secret", TestCluster.secret] + TestCluster.fastTiming
                + TestCertificates.other.mutualTLSArguments(for: stranger.id)
            stranger.entry = .dataDirectoryOnly
            try await stranger.start(waitForHealth: false)
            let otherClient = try Self.client(trusting: .other)
            defer { release(otherClient) }
            _ = try await eventually(timeout: .seconds(15)) {
                try await Self.status(otherClient, .GET, "\(stranger.baseURL)/healthz") == 200 ? true : nil
            }
            for index in 0..<20 { #expect(try await alice.send(to: "alice", "m\(index)").status == 201) }
            let committed = try await leader.appliedIndex
            _ = try await eventually(timeout: .seconds(15)) {
                leader.recentLog.contains("\(stranger.baseURL) is unreachable") ? true : nil
            }
            var request = HTTPClientRequest(url: "\(stranger.baseURL)/v1/cluster")
            request.method = .GET
            let view = try await otherClient.execute(request, timeout: .seconds(10)).body.collect(upTo: 1 << 20)
            let strangerApplied = (try JSONSerialization.jsonObject(with: Data(view.readableBytesView)) as? [String: Any])?["applied_index"] as? Int ?? -1
            #expect(strangerApplied < committed, "the replica with a foreign certificate still received entries")
        }

        @Test func peerCallsWithoutAClientCertificateFromThePeerCAAreRefused() async throws {
            let cluster = try await TestCluster.started(size: 3, tls: true)
            defer { cluster.stopAll() }
            let leader = try await cluster.waitForLeader()
            let headers = try await leader.peerHeaders
            let url = "\(leader.baseURL)/internal/identity?asker=9"
            let anonymous = try Self.client(trusting: .main)
            let foreign = try Self.client(trusting: .main, presenting: (.other, 9))
            let peer = try Self.client(trusting: .main, presenting: (.main, 9))
            defer { release(anonymous, foreign, peer) }
            #expect(try await Self.status(anonymous, .GET, url, headers: headers) == 403, "no client certificate")
            #expect(try await Self.status(foreign, .GET, url, headers: headers) == 403, "a client certificate of another CA")
            #expect(try await Self.status(peer, .GET, url, headers: headers) == 200, "a client certificate of the peer CA")
            #expect(try await Self.status(anonymous, .GET, "\(leader.baseURL)/v1/cluster") == 200, "API clients need no certificate")
            #expect(try await Self.status(anonymous, .POST, "\(leader.baseURL)//internal/sessions/used", headers: headers) == 400,
                    "a doubled slash gets around the certificate check")
        }

        @Test func aPlaintextRequestToATLSPortFailsCleanlyAndTheReplicaKeepsServing() async throws {
            let cluster = try await TestCluster.started(size: 1, tls: true)
            defer { cluster.stopAll() }
            let replica = cluster.replicas[0]
            let connection = try RawHTTPConnection(port: replica.port, timeoutSeconds: 10)
            connection.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let answer = connection.readHead()
            #expect(!answer.hasPrefix("HTTP/1.1 200"), "plain HTTP was served on a TLS port: \(answer)")
            #expect(!connection.didTimeOut, "the plaintext connection was left hanging")
            #expect(try await TestClient.shared.get("\(replica.baseURL)/healthz").status == 200)
            #expect(replica.isRunning)
        }

        @Test func sighupPicksUpANewCertificateAndKeepsWaitingLongPolls() async throws {
            let files = TemporaryDirectory.make()
            let certificate = files.appendingPathComponent("server.pem")
            let key = files.appendingPathComponent("server-key.pem")
            func install(_ issuer: TestCertificates) throws {
                for (source, target) in [(issuer.certificate(1), certificate), (issuer.key(1), key)] {
                    try? FileManager.default.removeItem(at: target)
                    try FileManager.default.copyItem(atPath: source, toPath: target.path)
                }
            }
            try install(.main)
            let replica = ChatdProcess(
                peers: [1: try FreePort.next()], dataDirectory: TemporaryDirectory.make(),
                extraArguments: ["--tls-cert", certificate.path, "--tls-key", key.path])
            replica.scheme = "https"
            try await replica.start()
            defer { replica.stop() }
            try await replica.waitUntil(path: "/readyz")
            let alice = try await ChatUser.register("alice", at: replica.baseURL)
            let waiting = Task { try await alice.inbox("wait=30") }
            let renewedClient = try Self.client(trusting: .renewed)
            let mainClient = try Self.client(trusting: .main)
            defer { release(renewedClient, mainClient) }
            await #expect(throws: (any Error).self, "the new CA is trusted before the reload") {
                try await Self.status(renewedClient, .GET, "\(replica.baseURL)/healthz")
            }

            // A certificate that does not parse is refused, and the current one stays.
            try Data("not a certificate".utf8).write(to: certificate)
            kill(replica.process!.processIdentifier, SIGHUP)
            _ = try await eventually(timeout: .seconds(10)) {
                replica.recentLog.contains("keeping the current certificate") ? true : nil
            }
            #expect(try await Self.status(mainClient, .GET, "\(replica.baseURL)/healthz") == 200)

            try install(.renewed)
            kill(replica.process!.processIdentifier, SIGHUP)
            _ = try await eventually(timeout: .seconds(10)) {
                try await Self.status(renewedClient, .GET, "\(replica.baseURL)/healthz") == 200 ? true : nil
            }
            let freshMainClient = try Self.client(trusting: .main)
            defer { release(freshMainClient) }
            await #expect(throws: (any Error).self, "new connections still get the old certificate") {
                try await Self.status(freshMainClient, .GET, "\(replica.baseURL)/healthz")
            }
            // The long-poll that waited across the reload is answered on its old connection.
            var send = HTTPClientRequest(url: "\(replica.baseURL)/v1/messages")
            send.method = .POST
            send.headers.add(name: "Authorization", value: "Bearer \(alice.token)")
            send.headers.add(name: "Content-Type", value: "application/json")
            send.body = .bytes(ByteBuffer(string: #"{"to":"alice","body":"after the reload"}"#))
            #expect(try await renewedClient.execute(send, timeout: .seconds(10)).status.code == 201)
            #expect(try await waiting.value.bodies == ["after the reload"])
        }

        @Test func theChatClientTrustsTheCAOfCacertOrCHAT_CACERT() async throws {
            let cluster = try await TestCluster.started(size: 1, tls: true)
            defer { cluster.stopAll() }
            func chat(_ arguments: [String], caFile: String? = nil) throws -> (status: Int32, output: String) {
                try runChat(
                    ["cluster", "list", "--cluster", cluster.replicas[0].baseURL, "--timeout", "2"] + arguments,
                    environment: ["CHAT_CACERT": caFile])
            }
            let flag = try chat(["--cacert", TestCertificates.main.ca])
            #expect(flag.status == 0 && flag.output.contains("1\tvoter\thttps://"), "\(flag)")
            let environment = try chat([], caFile: TestCertificates.main.ca)
            #expect(environment.status == 0 && environment.output.contains("1\tvoter"), "\(environment)")
            let untrusted = try chat(["--cacert", TestCertificates.other.ca])
            #expect(untrusted.status != 0 && untrusted.output.contains("CERTIFICATE_VERIFY_FAILED"), "\(untrusted)")
            #expect(untrusted.output.contains("after 1 attempt;"), "asking again cannot make the CA trusted: \(untrusted)")
        }

        /// State files travel to a follower over the peers' mutual TLS too.
        @Test func aLaggardCatchesUpThroughASnapshotOverTLS() async throws {
            let laggard = try await Persistence.Laggard.started(missing: (1...60).map { "m\($0)" }, tls: true)
            defer { laggard.cluster.stopAll() }
            #expect(try await laggard.caughtUpInbox() == (1...60).map { "m\($0)" })
            #expect(try await laggard.metrics.contains("chat_raft_snapshots_installed 1"),
                    "the laggard caught up without a snapshot")
        }

        /// The kill -9 test of `Failover`, over mutual TLS.
        @Test func killingTheLeaderOverTLSLosesNoAcknowledgedMessageAndDuplicatesNone() async throws {
            let cluster = try await TestCluster.started(size: 3, tls: true)
            defer { cluster.stopAll() }
            let stream = try await SendStream.start(on: cluster)
            try await stream.waitForMore(60)
            let leader = try await cluster.waitForLeader()
            leader.stop(signal: SIGKILL)
            _ = try await cluster.waitForLeader(timeout: .seconds(10))
            try await stream.waitForMore(30)
            try await stream.finishAndCheck()
        }
    }
}

/// Shuts clients down without blocking the test's task.
private func release(_ clients: HTTPClient...) {
    for client in clients { client.shutdown { _ in } }
}
