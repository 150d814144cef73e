import ArgumentParser
import ChatClient
import Foundation

/// `chat cluster list|add|promote|remove`: the operator's view and changes of the replica set.
/// Changes need the cluster secret in `CHAT_CLUSTER_SECRET`.
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster", abstract: "List, add, promote and remove replicas (changes need $CHAT_CLUSTER_SECRET).",
        subcommands: [List.self, Add.self, Promote.self, Remove.self])

    static func secret() throws -> String {
        // Trimmed as chatd trims its secret file: `$(cat file)` keeps no newline, but other ways may.
        let secret = ProcessInfo.processInfo.environment["CHAT_CLUSTER_SECRET"]?.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let secret, !secret.isEmpty else {
            throw ValidationError("set CHAT_CLUSTER_SECRET to the cluster secret (the content of the replicas' --cluster-secret-file)")
        }
        return secret
    }

    static func line(_ member: ClusterMember) -> String {
        "\(member.id)\t\(member.role)\t\(member.url)" + (member.matchIndex.map { "\tmatch \($0)" } ?? "")
            + (member.reachable == false ? "\tnot answering" : "") + "\n"
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the cluster id, the leader, and each member: id, role, url.")
        @OptionGroup var cluster: ClusterOptions

        func run() async throws {
            try await CommandContext.run(cluster) { context in
                let view = try await context.api.clusterAsTheLeaderSeesIt()
                Console.writeOutput("cluster \(view.clusterID)\n")
                Console.writeOutput("leader \(view.leader.map { "\($0.id) \($0.url)" } ?? "none known")\n")
                for member in view.members { Console.writeOutput(ClusterCommand.line(member)) }
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a replica as a learner (then start it with chatd --join, or promote it once caught up).")
        @Argument(help: "The new replica's id.") var id: Int
        @Argument(help: "Where the other replicas reach it: http://host:port (https:// with TLS).") var url: String
        @OptionGroup var cluster: ClusterOptions

        func run() async throws {
            let secret = try ClusterCommand.secret()
            try await CommandContext.run(cluster) { context in
                Console.writeOutput(ClusterCommand.line(try await context.api.addMember(id: id, url: url, clusterSecret: secret)))
            }
        }
    }

    struct Promote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a learner that caught up a voter.")
        @Argument(help: "The learner's id.") var id: Int
        @OptionGroup var cluster: ClusterOptions

        func run() async throws {
            let secret = try ClusterCommand.secret()
            try await CommandContext.run(cluster) { context in
                Console.writeOutput(ClusterCommand.line(try await context.api.promoteMember(id: id, clusterSecret: secret)))
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a replica (the leader too) from the cluster; it stops by itself once it learns so.")
        @Argument(help: "The replica's id.") var id: Int
        @OptionGroup var cluster: ClusterOptions

        func run() async throws {
            let secret = try ClusterCommand.secret()
            try await CommandContext.run(cluster) { context in
                try await context.api.removeMember(id: id, clusterSecret: secret)
            }
        }
    }
}
