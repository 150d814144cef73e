import Foundation
import Logging

/// One replica: its database, replicator, API and HTTP server, started and stopped together.
public final class ReplicaService: Sendable {
    public struct Options: Sendable {
        public var id: Int
        public var peers: [PeerAddress]
        public var dataDirectory: URL
        /// Overrides the listen address taken from this replica's own peer entry.
        public var listenAddress: (host: String, port: UInt16)?
        public var passwordRounds: Int = PasswordHasher.recommendedRounds
        /// Required when there is more than one replica; peers present it on every internal call.
        public var clusterSecret: String?
        public var raftTuning = RaftReplicator.Tuning()
        /// Log one line per answered request (method, path, status, milliseconds).
        public var accessLog = false
        /// Password checks that may wait for the hashing thread before more are refused with 429.
        public var passwordCheckQueueLimit = 32

        public init(id: Int, peers: [PeerAddress], dataDirectory: URL) {
            self.id = id
            self.peers = peers
            self.dataDirectory = dataDirectory
        }

        public var ownAddress: PeerAddress? { peers.first { $0.id == id } }
    }

    let server: HTTPServer
    let replicator: any Replicator
    let waiters: InboxWaiters
    let logger: Logger
    public let port: UInt16

    public init(options: Options, logger: Logger) throws {
        guard let own = options.ownAddress else { throw ServiceError.notInPeers(options.id) }
        let listen = try options.listenAddress ?? Self.hostAndPort(of: own.url)
        self.logger = logger
        let database = try ChatDatabase(directory: options.dataDirectory)
        let waiters = InboxWaiters()
        if options.peers.count > 1 && (options.clusterSecret ?? "").isEmpty {
            throw ServiceError.missingClusterSecret
        }
        let raft = RaftReplicator.Configuration(
            id: options.id, peers: options.peers, clusterSecret: options.clusterSecret ?? SessionToken.generate(),
            tuning: options.raftTuning)
        let replicator = try RaftReplicator(configuration: raft, database: database, listener: waiters, logger: logger)
        var dependencies = ChatAPI.Dependencies(
            database: database, replicator: replicator, waiters: waiters, metrics: ServiceMetrics(),
            passwordHasher: PasswordHasher(rounds: options.passwordRounds), logger: logger,
            internalHandler: replicator.messageHandler)
        if options.accessLog { dependencies.accessLogger = Logger(label: logger.label + ".access") }
        dependencies.hashingPool = PasswordHashingPool(queueLimit: options.passwordCheckQueueLimit)
        let api = ChatAPI(dependencies)
        server = HTTPServer(
            configuration: .init(bindAddress: listen.host, port: listen.port), handler: api, logger: logger)
        self.replicator = replicator
        self.waiters = waiters
        port = try server.start()
        logger.info("replica \(own.id) listening on http://\(listen.host):\(port)")
    }

    /// Hands over leadership, answers every waiting request, and stops.
    public func shutdown() {
        replicator.shutdown()
        waiters.wakeEveryone()
        server.stop()
    }

    static func hostAndPort(of url: String) throws -> (host: String, port: UInt16) {
        guard let components = URLComponents(string: url), components.scheme == "http",
            var host = components.host, !host.isEmpty
        else {
            throw ServiceError.invalidURL(url)
        }
        // An IPv6 address in a URL is written in brackets; the listen address goes without.
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host == "localhost" ? "127.0.0.1" : host, UInt16(components.port ?? 80))
    }
}

public enum ServiceError: Error, CustomStringConvertible {
    case notInPeers(Int)
    case invalidURL(String)
    case missingClusterSecret

    public var description: String {
        switch self {
        case .notInPeers(let id): "replica \(id) has no entry in --peers"
        case .invalidURL(let url): "\(url) is not a usable http://host:port URL"
        case .missingClusterSecret: "a cluster of several replicas needs --cluster-secret or CHAT_CLUSTER_SECRET"
        }
    }
}
