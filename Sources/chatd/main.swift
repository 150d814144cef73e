import ArgumentParser
import Foundation
import Gateway
import Logging

/// `chatd`: one replica of the chat service.
struct ChatDaemon: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chatd", abstract: "Runs one replica of the replicated chat service.")

    @Option(help: "This replica's id (default: the one its data directory records, else 1).")
    var id: Int?

    @Option(help: """
        The replicas of a new cluster as id=url, comma-separated; this replica's own entry is its listen and \
        advertised address. Needed only at the first start: the data directory records the cluster.
        """)
    var peers: String?

    @Option(help: "Join an existing cluster: URLs of some of its replicas, comma-separated (needs --listen).")
    var join: String?

    @Flag(help: "With --join: stay a learner instead of becoming a voter once caught up.")
    var learner = false

    @Option(help: "Where this replica keeps its data (default ./data/<id>).")
    var dataDir: String?

    @Option(help: "Listen on host:port instead of the address in --peers.")
    var listen: String?

    @Option(help: "PBKDF2 rounds for new password hashes. Lower than the default only in tests.")
    var insecurePasswordRounds: Int?

    @Option(help: "The secret replicas present to each other (or set CHAT_CLUSTER_SECRET). Visible in ps: prefer --cluster-secret-file.")
    var clusterSecret: String?

    @Option(help: "A file holding the cluster secret (surrounding white space is ignored).")
    var clusterSecretFile: String?

    @Option(help: "Milliseconds per Raft tick.")
    var tickMs: Int = 20

    @Option(help: "Ticks without a leader before an election (randomized up to twice this).")
    var electionTicks: Int = 10

    @Option(help: "Milliseconds a write or a linearizable read may wait for Raft before it is answered 503.")
    var requestTimeoutMs: Int = 5_000

    @Option(help: "Applied entries between snapshots of the state.")
    var snapshotEvery: UInt64 = 10_000

    @Option(help: "Log entries kept behind a snapshot for followers that are slightly behind.")
    var retainedEntries: UInt64 = 1_000

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(help: "Logins and sign-ups that may wait for a password check before more are refused with 429.")
    var passwordCheckQueue: Int = 32

    @Option(help: "Refuse writes (503 storage_full) while the data directory's filesystem has less free space than this: 64MiB, 1GiB, 1TiB, 500MB, bytes, or 0 for no reserve.")
    var minFreeDisk = "64MiB"

    @Option(help: "How long a session may go unused before it expires: 30d, 12h, 90m, 45s, 500ms, or seconds.")
    var sessionTTL = "30d"

    @Option(help: "Sessions one account may hold; logging in beyond them closes one never used since its login, else the least recently used.")
    var maxSessionsPerAccount: Int = SessionPolicy.defaultMaxPerAccount

    @Option(help: "Serve HTTPS with this PEM certificate chain (with --tls-key); read again on SIGHUP. URLs in --peers are then https.")
    var tlsCert: String?

    @Option(help: "The PEM private key of --tls-cert; read again on SIGHUP.")
    var tlsKey: String?

    @Option(help: "Verify https peers against this PEM CA certificate (default: the system's trusted CAs).")
    var peerCa: String?

    @Option(help: "Present this PEM client certificate to peers (mutual TLS; with --peer-client-key).")
    var peerClientCert: String?

    @Option(help: "The PEM private key of --peer-client-cert.")
    var peerClientKey: String?

    @Flag(help: "Require a client certificate signed by --peer-ca on /internal/ (peer) calls; clients of the API need none.")
    var peerVerifyClient = false

    @Flag(help: "Log one line per answered request: method, path, status and milliseconds.")
    var accessLog = false

    @Option(help: """
        Copy the database of --data-dir (its replica may be running) to this new file, \
        consistently, and exit: a backup for --restore.
        """)
    var backupTo: String?

    @Option(help: """
        Found a new cluster of this replica alone, in an empty --data-dir, with the state of \
        this backup (from --backup-to); other replicas then join it with --join.
        """)
    var restore: String?

    @Flag(help: .hidden)
    var exitWithParent = false

    /// Values Raft cannot run with, refused before anything is written to the data directory.
    private func validateRaftTuning() throws {
        // Bounded above as well: timeouts are computed from these (twice the election ticks
        // times the tick), and a value past any sensible one would overflow and crash.
        guard (1...60_000).contains(tickMs) else { throw ValidationError("--tick-ms must be from 1 to 60000") }
        // The leader sends a heartbeat every tick: an election timeout of one tick would end
        // every term before its first heartbeat.
        guard (2...1_000_000).contains(electionTicks) else {
            throw ValidationError("--election-ticks must be from 2 to 1000000")
        }
        guard snapshotEvery >= 1 else { throw ValidationError("--snapshot-every must be at least 1") }
        guard (insecurePasswordRounds ?? 1) >= 1 else { throw ValidationError("--insecure-password-rounds must be at least 1") }
    }

    func run() throws {
        // Until the reload handler is in place, a SIGHUP must not end the process.
        signal(SIGHUP, SIG_IGN)
        // The database, its copies and backups hold password hashes and session tokens' hashes:
        // every file chatd creates is its user's alone.
        umask(0o077)
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level is one of trace, debug, info, notice, warning, error, critical")
        }
        try validateRaftTuning()
        if let backupTo { return try backUp(to: backupTo) }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let startLogger = Logger(label: id.map { "chatd.\($0)" } ?? "chatd")
        raiseOpenFileLimit(logger: startLogger)

        if join != nil && peers != nil { throw ValidationError("give either --peers (a new cluster) or --join, not both") }
        if learner && join == nil { throw ValidationError("--learner goes with --join") }
        let listenAddress = try listen.map(PeerList.parseListen)
        // Alone without --peers, a replica advertises where it listens (the loopback address
        // for a wildcard one), else 127.0.0.1:800<id>.
        let defaultURL = try listenAddress.map { try PeerList.advertisedURL(listeningOn: $0, tls: tlsCert != nil).url }
            ?? "\(tlsCert == nil ? "http" : "https")://127.0.0.1:\(8000 + (id ?? 1))"
        let defaultPeers = join == nil ? "\(id ?? 1)=\(defaultURL)" : nil
        var options = ReplicaService.Options(
            id: id, peers: try (peers ?? defaultPeers).map(PeerList.parse) ?? [],
            dataDirectory: URL(fileURLWithPath: dataDir ?? "data/\(id ?? 1)"))
        options.join = try (join ?? "").split(separator: ",").map { try PeerList.parseURL(String($0)) }
        options.peersAreGiven = peers != nil
        options.stayLearner = learner
        options.restoreFrom = restore.map { URL(fileURLWithPath: $0) }
        options.listenAddress = listenAddress
        if let insecurePasswordRounds { options.passwordRounds = insecurePasswordRounds }
        // Trimmed whatever its source, as `chat` and the header check trim theirs.
        options.clusterSecret =
            (try clusterSecret ?? clusterSecretFile.map(Self.readSecret(from:))
                ?? ProcessInfo.processInfo.environment["CHAT_CLUSTER_SECRET"])?.trimmingCharacters(in: .whitespacesAndNewlines)
        options.raftTuning.tickMilliseconds = tickMs
        options.raftTuning.electionTicks = electionTicks
        options.raftTuning.snapshotEveryEntries = snapshotEvery
        options.raftTuning.retainedEntries = retainedEntries
        guard requestTimeoutMs > 0 else { throw ValidationError("--request-timeout-ms must be positive") }
        options.raftTuning.requestTimeoutMilliseconds = requestTimeoutMs
        guard let reserve = ByteCountText.bytes(minFreeDisk) else {
            throw ValidationError("--min-free-disk takes a size such as 64MiB, 1GiB, 1TiB, 500MB or a number of bytes")
        }
        options.raftTuning.minimumFreeDiskBytes = reserve
        options.accessLog = accessLog
        guard passwordCheckQueue >= 0 else { throw ValidationError("--password-check-queue must be 0 or more") }
        options.passwordCheckQueueLimit = passwordCheckQueue
        guard let ttl = DurationText.milliseconds(sessionTTL) else {
            throw ValidationError("--session-ttl takes a positive duration such as 30d, 12h, 90m, 45s or 500ms")
        }
        guard maxSessionsPerAccount >= 1 else { throw ValidationError("--max-sessions-per-account must be 1 or more") }
        options.sessionPolicy = SessionPolicy(ttlMillis: ttl, maxPerAccount: maxSessionsPerAccount)
        try configureTLS(&options)

        let service = try ReplicaService(options: options, logger: startLogger)
        let logger = service.logger  // labelled with the id, also when it came from the data directory
        service.whenRemovedFromCluster {
            DispatchQueue.main.async {
                service.shutdown()
                Foundation.exit(0)
            }
        }
        let signals = [SIGINT, SIGTERM].map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .main)
            source.setEventHandler {
                logger.info("shutting down")
                service.shutdown()
                Foundation.exit(0)
            }
            source.resume()
            return source
        }
        let reload = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .main)
        reload.setEventHandler {
            guard options.tls != nil else { return logger.notice("SIGHUP: no --tls-cert to read again") }
            do {
                try service.reloadCertificate()
                logger.notice("SIGHUP: serving the certificate in \(tlsCert ?? "") from the next connection on")
            } catch {
                logger.error("SIGHUP: keeping the current certificate: \(error)")
            }
        }
        reload.resume()
        if exitWithParent { exitWhenOrphaned(logger: logger) }
        withExtendedLifetime((signals, reload)) { dispatchMain() }
    }
}

extension ChatDaemon {
    /// `--backup-to`: nothing else is started, and the replica's lock is not taken.
    func backUp(to path: String) throws {
        guard peers == nil, join == nil, restore == nil else {
            throw ValidationError("--backup-to takes --data-dir (or --id) only")
        }
        let directory = URL(fileURLWithPath: dataDir ?? "data/\(id ?? 1)")
        let index = try ChatBackup.write(dataDirectory: directory, to: URL(fileURLWithPath: path))
        print("backed up \(directory.path) at applied index \(index) to \(path)")
    }

    func configureTLS(_ options: inout ReplicaService.Options) throws {
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
        guard (peerClientCert == nil) == (peerClientKey == nil) else {
            throw ValidationError("--peer-client-cert and --peer-client-key go together")
        }
        if peerVerifyClient && (tlsCert == nil || peerCa == nil) {
            throw ValidationError("--peer-verify-client needs --tls-cert and --peer-ca (the CA client certificates must come from)")
        }
        if peerVerifyClient && peerClientCert == nil {
            // Its peers most likely verify clients too, and would refuse its calls with 403.
            FileHandle.standardError.write(Data("""
                chatd: warning: --peer-verify-client without --peer-client-cert: the other replicas \
                will refuse this one's calls if they verify clients too\n
                """.utf8))
        }
        if let tlsCert, let tlsKey {
            options.tls = ServingTLS(certificateFile: tlsCert, keyFile: tlsKey, clientCAFile: peerVerifyClient ? peerCa : nil)
        }
        if peerCa != nil || peerClientCert != nil || tlsCert != nil {
            options.peerTLS = PeerTLS(caFile: peerCa, clientCertificateFile: peerClientCert, clientKeyFile: peerClientKey)
        }
    }

    /// The secret in `path`, without surrounding white space; an unreadable or empty file stops
    /// the replica at once rather than leaving it unable to reach its peers.
    static func readSecret(from path: String) throws -> String {
        guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("cannot read the cluster secret file \(path)")
        }
        let secret = contents.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !secret.isEmpty else { throw ValidationError("the cluster secret file \(path) is empty") }
        return secret
    }
}

/// Lifts the soft open-file limit to the hard one: every waiting long-poll holds a socket.
func raiseOpenFileLimit(logger: Logger) {
    var limit = rlimit()
    guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
    limit.rlim_cur = limit.rlim_max
    if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) != 0 {
        logger.warning("could not raise the open-file limit")
    }
}

/// Test harnesses start replicas with `--exit-with-parent` so none outlives a crashed test run.
func exitWhenOrphaned(logger: Logger) {
    let parent = getppid()
    let timer = DispatchSource.makeTimerSource(queue: .global())
    timer.schedule(deadline: .now() + 1, repeating: 1)
    timer.setEventHandler {
        if getppid() != parent {
            logger.warning("parent process is gone; exiting")
            Foundation.exit(0)
        }
    }
    timer.resume()
    orphanTimer = timer
}

nonisolated(unsafe) var orphanTimer: (any DispatchSourceTimer)?

ChatDaemon.main()
