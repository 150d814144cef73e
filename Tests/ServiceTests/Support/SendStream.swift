import Foundation
import Testing

/// A stream of sends by three users to bob that follows the leader (`FailoverSender`).
struct SendStream {
    let cluster: TestCluster
    let bob: ChatUser
    let senders: [ChatUser]
    let log: SendLog
    let stop: StopFlag
    let tasks: [Task<Void, any Error>]

    static func start(on cluster: TestCluster) async throws -> SendStream {
        let leader = try await cluster.waitForLeader()
        let bob = try await ChatUser.register("bob", at: leader.baseURL)
        let senders = try await (0..<3).asyncMap { try await ChatUser.register("s\($0)", at: leader.baseURL) }
        let log = SendLog()
        let stop = StopFlag()
        let tasks = senders.map { sender in
            Task { try await FailoverSender(cluster: cluster, user: sender).sendUntilStopped(to: "bob", log: log, stop: stop) }
        }
        return SendStream(cluster: cluster, bob: bob, senders: senders, log: log, stop: stop, tasks: tasks)
    }

    /// Stops sending and waits for the senders to finish their last message.
    func stopSending() async throws {
        await stop.set()
        for task in tasks { try await task.value }
    }

    /// Waits until `count` more sends were acknowledged.
    func waitForMore(_ count: Int, timeout: Duration = .seconds(20)) async throws {
        let target = await log.count + count
        _ = try await eventually(timeout: timeout) { await log.count >= target ? true : nil }
    }

    /// Stops sending, then checks every running replica holds each acknowledged message once.
    func finishAndCheck(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await stopSending()
        let acknowledged = Set(await log.bodies)
        let leader = try await cluster.waitForLeader()
        let committed = try await leader.clusterView["commit_index"] as? Int ?? 0
        for replica in cluster.running {
            _ = try await eventually(timeout: .seconds(10)) { try await replica.appliedIndex >= committed ? true : nil }
            let bodies = try await bob.at(replica).allMessages().compactMap { $0["body"] as? String }
            #expect(acknowledged.isSubset(of: Set(bodies)), "replica \(replica.id) lost an acknowledged message", sourceLocation: sourceLocation)
            #expect(Set(bodies).count == bodies.count, "replica \(replica.id) delivered a message twice", sourceLocation: sourceLocation)
        }
    }
}
