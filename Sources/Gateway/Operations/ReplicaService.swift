import Foundation
import Logging
import ReplicaCore

/// One replica: its database, replicator, API and HTTP server, started and stopped together.
public final class ReplicaService: Sendable {
    public struct Options: Sendable {
        /// Nil: the id the data directory records, else 1.
        public var id: Int?
        /// Every replica of a new cluster; after the first start only a hint (the log holds
        /// the configuration). Empty with `join`.
        public var peers: [PeerAddress]
        /// Whether `peers` came from `--peers`, rather than standing in for a lone replica's default.
        public var peersAreGiven = true
        public var dataDirectory: URL
        /// Replicas of an existing cluster to ask to add this one (`--join`).
        public var join: [String] = []
        /// With `join`: stay a learner instead of asking to be promoted once caught up.
        public var stayLearner = false
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
        /// How long a session lives unused (`--session-ttl`).
        public var sessionPolicy = SessionPolicy()
        /// Serve HTTPS (`--tls-cert`, `--tls-key`); this replica's URL is then `https`.
        public var tls: ServingTLS?
        /// How to call `https` peers (`--peer-ca` and the optional client certificate).
        public var peerTLS: PeerTLS?
        /// A backup (`ChatBackup`) to found a new one-replica cluster from at a first start;
        /// like `peers`, ignored once the data directory holds a replica.
        public var restoreFrom: URL?

        public init(id: Int?, peers: [PeerAddress], dataDirectory: URL) {
            self.id = id
            self.peers = peers
            self.dataDirectory = dataDirectory
        }
    }

    let server: HTTPServer
    let replicator: any Replicator
    let waiters: InboxWaiters
    /// Labelled `chatd.<id>`, also when the id came from the data directory.
    public let logger: Logger
    let tls: ServingTLS?
    let peerCalls: PeerCalls
    let forwarder: WriteForwarder
    let sessionUseTask: Task<Void, Never>
    /// Held while this replica runs.
    let dataDirectoryLock: DataDirectoryLock
    public let port: UInt16

    public init(options: Options, logger given: Logger) throws {
        var logger = given
        tls = options.tls
        // Every certificate and key is read and checked before this replica talks to anyone:
        // a bad file must not stop it after it asked to join.
        let peerClientTLS = try options.peerTLS?.clientConfiguration()
        try options.tls?.installCertificate()
        let servingTLS = try options.tls?.serverSettings()
        dataDirectoryLock = try DataDirectoryLock(directory: options.dataDirectory)
        let database: ChatDatabase
        var recorded: ReplicaIdentity?
        do {
            database = try ChatDatabase(directory: options.dataDirectory)
            recorded = try database.read { try ReplicaIdentityTable.load(in: $0) }
        } catch {
            throw ServiceError.unreadableDatabase(directory: options.dataDirectory.path, reason: ChatBackup.reason(error))
        }
        if let recorded, let id = options.id, id != recorded.replicaID {
            throw ServiceError.idMismatch(given: id, recorded: recorded.replicaID, directory: options.dataDirectory.path)
        }
        let id = recorded?.replicaID ?? options.id ?? 1
        if options.id == nil { logger = Logger(label: "\(given.label).\(id)") }
        self.logger = logger
        if let recorded, let index = try database.read({ try ReplicaStateTable.get(.removedAt, in: $0) }) {
            throw ServiceError.removedFromCluster(
                id: id, clusterID: recorded.clusterID, index: index, directory: options.dataDirectory.path)
        }
        let ownURL: String
        if let recorded {
            ownURL = recorded.url
            // The leader reaches each member at the address the log records, so a member
            // never needs these flags to find its cluster again.
            let ignored = options.peersAreGiven || !options.join.isEmpty || options.restoreFrom != nil
                ? "; --peers, --join and --restore only matter at a first start and are ignored" : ""
            logger.notice("replica \(id) of cluster \(recorded.clusterID) restarts from \(options.dataDirectory.path)\(ignored)")
        } else if let own = options.peers.first(where: { $0.id == id }) {
            ownURL = own.url
        } else if !options.join.isEmpty, let listen = options.listenAddress {
            let advertised = try PeerList.advertisedURL(listeningOn: listen, tls: options.tls != nil)
            ownURL = advertised.url
            if advertised.isWildcard {
                logger.warning("""
                    --listen \(listen.host) is a wildcard address: the cluster is told to reach this replica at \(ownURL), \
                    which only this machine can; give --listen this machine's address when the others run elsewhere
                    """)
            }
        } else {
            throw options.join.isEmpty ? ServiceError.notInPeers(id) : ServiceError.joinNeedsListen
        }
        let listen = try options.listenAddress ?? Self.hostAndPort(of: ownURL)
        let ownScheme = URLComponents(string: ownURL)?.scheme
        guard (ownScheme == "https") == (options.tls != nil) else {
            throw ServiceError.schemeMismatch(url: ownURL, servesTLS: options.tls != nil, isRecorded: recorded != nil)
        }
        // Like --peers, --restore only matters at a first start: the same command line can
        // restart the replica it made (after a reboot, or a port that was taken).
        if let backup = options.restoreFrom, recorded == nil {
            recorded = try Self.restore(backup, id: id, url: ownURL, options: options, into: database, logger: logger)
        }
        let metrics = ServiceMetrics()
        let waiters = InboxWaiters()
        let isLone = recorded.map { $0.bootstrapMembership.voters.count <= 1 && !$0.bootstrapMembership.isEmpty }
            ?? (options.join.isEmpty && options.peers.count <= 1)
        if !isLone && (options.clusterSecret ?? "").isEmpty {
            throw ServiceError.missingClusterSecret
        }
        // The same --join list may be given to every replica; its own address is no one to ask.
        let joinURLs = options.join.filter { !RaftDriver.sameAddress($0, ownURL) }
        if recorded == nil, !options.join.isEmpty, joinURLs.isEmpty { throw ServiceError.joinsItself(ownURL) }
        let entry: ClusterEntry = options.join.isEmpty
            ? .bootstrap(peers: options.peers.isEmpty ? [PeerAddress(id: id, url: ownURL)] : options.peers)
            : .join(urls: joinURLs, stayLearner: options.stayLearner)
        var raft = RaftReplicator.Configuration(
            id: id, url: ownURL, entry: entry, clusterSecret: options.clusterSecret ?? SessionToken.generate(),
            tuning: options.raftTuning)
        raft.peerTLS = peerClientTLS
        // Before Raft starts: a --join would add this replica first, and a taken port then
        // leave a member that nothing serves.
        try ListenCheck.ensureFree(host: listen.host, port: listen.port)
        let replicator = try RaftReplicator(
            configuration: raft, database: database, listener: waiters, logger: logger,
            recordStage: { metrics.recordStage($0, $1) })
        var dependencies = ChatAPI.Dependencies(
            database: database, replicator: replicator, waiters: waiters, metrics: metrics,
            passwordHasher: PasswordHasher(rounds: options.passwordRounds), logger: logger,
            internalHandler: replicator.messageHandler)
        dependencies.clusterSecret = options.clusterSecret
        if options.accessLog { dependencies.accessLogger = Logger(label: logger.label + ".access") }
        dependencies.hashingPool = PasswordHashingPool(queueLimit: options.passwordCheckQueueLimit)
        dependencies.sessionPolicy = options.sessionPolicy
        let peerCalls = PeerCalls(secret: raft.clusterSecret, tls: peerClientTLS)
        let sessionUses = SessionUseRecorder(
            policy: options.sessionPolicy, replicator: replicator, database: database, peerCalls: peerCalls,
            clock: dependencies.clock, logger: logger)
        dependencies.sessionUses = sessionUses
        self.peerCalls = peerCalls
        let forwarder = WriteForwarder(
            replicaID: id, writeTimeout: .milliseconds(options.raftTuning.requestTimeoutMilliseconds), tls: peerClientTLS)
        dependencies.forwarder = forwarder
        self.forwarder = forwarder
        let sessionUseTask = Task { await sessionUses.run() }
        self.sessionUseTask = sessionUseTask
        let api = ChatAPI(dependencies)
        var serverConfiguration = HTTPServer.Configuration(bindAddress: listen.host, port: listen.port)
        serverConfiguration.tls = servingTLS
        server = HTTPServer(configuration: serverConfiguration, handler: api, logger: logger)
        self.replicator = replicator
        self.waiters = waiters
        do {
            port = try server.start()
        } catch {
            // Its port taken: stop what already runs (HTTP clients must be shut down, and Raft
            // is running) before the error reaches the operator.
            sessionUseTask.cancel()
            replicator.shutdown()
            peerCalls.shutdown()
            forwarder.shutdown()
            throw error
        }
        let host = listen.host.contains(":") ? "[\(listen.host)]" : listen.host
        logger.info("replica \(id) listening on \(ownScheme ?? "http")://\(host):\(port)")
    }

    /// Reads the certificate and key files again and presents them from the next handshake on;
    /// open connections, waiting long-polls among them, keep theirs (SIGHUP).
    public func reloadCertificate() throws {
        try tls?.installCertificate()
    }

    /// Founds a new cluster of this replica alone from `backup`; the data directory must hold nothing.
    private static func restore(
        _ backup: URL, id: Int, url: String, options: Options, into database: ChatDatabase, logger: Logger
    ) throws -> ReplicaIdentity {
        // A data directory of an earlier version holds Raft state without an identity.
        guard try !database.read({ try ReplicaIdentityTable.holdsRaftState(in: $0) }) else {
            throw ChatBackupError.notEmpty(options.dataDirectory.path)
        }
        guard options.join.isEmpty, options.peers.allSatisfy({ $0.id == id }) else { throw ServiceError.restoreNeedsOneReplica }
        let founder = PeerAddress(id: id, url: url)
        let identity = ReplicaIdentity(
            clusterID: ReplicaIdentity.newClusterID(), replicaID: id, url: url, bootstrapMembership: Membership(founding: [founder]))
        let index = try ChatBackup.restore(backup, as: identity, into: database)
        logger.notice("""
            restored \(backup.path) (applied index \(index)) as replica \(id) of a new cluster \(identity.clusterID); \
            other replicas join it with --join
            """)
        return identity
    }

    /// Sets what to do once this replica learns it was removed from its cluster (the removal
    /// is then logged and recorded; chatd stops).
    public func whenRemovedFromCluster(_ handler: @escaping @Sendable () -> Void) {
        replicator.whenRemoved(handler)
    }

    /// Hands over leadership, answers every waiting request, and stops.
    public func shutdown() {
        sessionUseTask.cancel()
        replicator.shutdown()
        waiters.wakeEveryone()
        server.stop()
        peerCalls.shutdown()
        forwarder.shutdown()
    }

    /// A replica's base URL: a scheme, a host and a port from 1 to 65535, and nothing else (a
    /// path, query or user would be dropped or mangled by every peer that calls it).
    static func hostAndPort(of url: String) throws -> (host: String, port: UInt16) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", var host = components.host, !host.isEmpty,
            let port = UInt16(exactly: components.port ?? (scheme == "https" ? 443 : 80)), port > 0,
            components.path.isEmpty, components.query == nil, components.fragment == nil,
            components.user == nil, components.password == nil
        else {
            throw ServiceError.invalidURL(url)
        }
        // An IPv6 address in a URL is written in brackets; the listen address goes without.
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.lowercased() == "localhost" ? "127.0.0.1" : host, port)
    }
}

public enum ServiceError: Error, CustomStringConvertible {
    case notInPeers(Int)
    case invalidURL(String)
    case missingClusterSecret
    case joinNeedsListen
    case schemeMismatch(url: String, servesTLS: Bool, isRecorded: Bool)
    case idMismatch(given: Int, recorded: Int, directory: String)
    case removedFromCluster(id: Int, clusterID: String, index: Int64, directory: String)
    case restoreNeedsOneReplica
    case unreadableDatabase(directory: String, reason: String)
    case joinsItself(String)

    public var description: String {
        switch self {
        case .notInPeers(let id): "replica \(id) has no entry in --peers"
        case .invalidURL(let url): "\(url) is not a usable http://host:port or https://host:port URL"
        case .missingClusterSecret: "a cluster of several replicas needs --cluster-secret-file, --cluster-secret or CHAT_CLUSTER_SECRET"
        case .joinNeedsListen: "--join needs --listen host:port: the address the cluster will reach this replica at"
        case .joinsItself(let url):
            "--join names only this replica's own address, \(url): give the address of a replica of the cluster to join"
        case .unreadableDatabase(let directory, let reason):
            "cannot open the database in \(directory): \(reason)"
        case .schemeMismatch(let url, let servesTLS, let isRecorded):
            switch (servesTLS, isRecorded) {
            case (true, false):
                "with --tls-cert this replica serves HTTPS, but its URL \(url) says http: name it https:// in --peers"
            case (true, true):
                """
                with --tls-cert this replica serves HTTPS, but its data directory records its URL as \(url): \
                start it without TLS, or remove it from the cluster and join it again under an https URL
                """
            case (false, _): "this replica's URL \(url) says https: give --tls-cert and --tls-key"
            }
        case .idMismatch(let given, let recorded, let directory):
            "--id \(given) does not match the id \(recorded) recorded in \(directory); leave --id out or point --data-dir elsewhere"
        case .restoreNeedsOneReplica:
            "--restore founds a one-replica cluster: give --peers with this replica alone (others then join it with --join)"
        case .removedFromCluster(let id, let clusterID, let index, let directory):
            """
            refusing to start: replica \(id) was removed from cluster \(clusterID) (a configuration committed by \
            index \(index) leaves it out), so \(directory) can serve no more; to serve from this machine again, \
            empty \(directory) and start it with --join under a new --id
            """
        }
    }
}
