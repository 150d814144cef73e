import Foundation
import Testing

extension ClusterTests {
    /// `chat login` keeps the token it gets, or leaves no session behind.
    @Suite struct ChatLogin {
        @Test func aLoginWhoseTokenCannotBeSavedClosesItsSessionAgain() async throws {
            let cluster = try await TestCluster.started(size: 1)
            defer { cluster.stopAll() }
            let replica = try await cluster.waitForLeader()
            let created = try await TestClient.shared.request(
                .POST, "\(replica.baseURL)/v1/accounts", json: ["username": "alice", "password": "password123"])
            try #require(created.status == 201, "\(created.status) \(created.text)")
            // Under /dev/null no folder can be made, so the configuration file cannot be written.
            let unwritable = "/dev/null/chat/config.json"
            let login = try runChat(
                ["login", "alice", "--cluster", replica.baseURL, "--timeout", "5"],
                environment: ["CHAT_PASSWORD": "password123", "CHAT_CONFIG": unwritable])
            #expect(login.status != 0 && login.output.contains(unwritable), "\(login)")
            let sessions = try await metricsGauge("chat_sessions", at: replica)
            #expect(sessions == 0, "the session of the token that could not be saved is still open")
        }
    }

    /// `chat listen` acknowledges only what it could print.
    @Suite struct ChatListen {
        /// The reader of its output is gone (`chat listen | head -1` after head exits): the
        /// message is not acknowledged, so it is not deleted, and chat fails saying why.
        @Test func listenIntoAClosedPipeFailsAndLeavesTheMessageUnacknowledged() async throws {
            let cluster = try await TestCluster.started(size: 1)
            defer { cluster.stopAll() }
            let replica = try await cluster.waitForLeader()
            let alice = try await ChatUser.register("alice", at: replica.baseURL)
            #expect(try await alice.send(to: "alice", "kept").status == 201)
            let config = TemporaryDirectory.make().appendingPathComponent("config.json").path
            let login = try runChat(
                ["login", "alice", "--cluster", replica.baseURL],
                environment: ["CHAT_PASSWORD": "password123", "CHAT_CONFIG": config])
            try #require(login.status == 0, "\(login)")

            let process = Process()
            process.executableURL = ChatdProcess.binary.deletingLastPathComponent().appendingPathComponent("chat")
            process.arguments = ["listen", "--once", "--cluster", replica.baseURL]
            process.environment = ProcessInfo.processInfo.environment.merging(["CHAT_CONFIG": config]) { $1 }
            let output = Pipe()
            let errors = Pipe()
            process.standardOutput = output
            process.standardError = errors
            try output.fileHandleForReading.close()
            try process.run()
            let said = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let status = try #require(exitStatus(of: process, timeout: .seconds(20)), "chat listen did not exit: \(said)")
            #expect(status == 1, "exit status \(status): \(said)")
            #expect(said.contains("cannot write to standard output"), "\(said)")
            #expect(try await alice.inbox().bodies == ["kept"], "the message was acknowledged though never printed")
        }
    }
}
