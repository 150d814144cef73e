import Foundation
import Testing

/// A backup taken from a running replica founds a new cluster holding every account, session
/// and message it held, which other replicas then join; a restore never lands on a replica
/// that exists.
extension ClusterTests {
    @Suite(.serialized) struct BackupAndRestore {
        typealias Safety = ClusterTests.OperatorSafety

        static func backUp(_ replica: ChatdProcess) async throws -> URL {
            let file = TemporaryDirectory.make().appendingPathComponent("backup.sqlite")
            let (status, message) = try await Safety.exitOfChatd(["--backup-to", file.path, "--data-dir", replica.dataDirectory.path])
            #expect(status == 0, "backing up a running replica: \(message)")
            return file
        }

        /// A lone replica restored from `backup` on a free port.
        static func restored(from backup: URL) async throws -> ChatdProcess {
            let replica = ChatdProcess(
                id: 7, peers: [7: try FreePort.next()], dataDirectory: TemporaryDirectory.make().appendingPathComponent("7"),
                extraArguments: ["--restore", backup.path, "--cluster-secret", TestCluster.secret] + TestCluster.fastTiming)
            try await replica.start()
            try await replica.waitUntil(path: "/readyz")
            return replica
        }

        @Test func aBackupOfARunningClusterFoundsANewClusterWithEverythingItHeld() async throws {
            let cluster = try await TestCluster.started(size: 3)
            defer { cluster.stopAll() }
            let leader = try await cluster.waitForLeader()
            let alice = try await ChatUser.register("alice", at: leader.baseURL)
            let bob = try await ChatUser.register("bob", at: leader.baseURL)
            for body in ["one", "two", "three"] { #expect(try await alice.send(to: "bob", body).status == 201) }
            #expect(try await bob.ack(upTo: 1).status == 200)
            let follower = cluster.followers(of: leader)[0]
            // Taken from a follower: it answers once it has applied all three.
            _ = try await eventually(timeout: .seconds(10)) {
                try await bob.at(follower).inbox("after=1").bodies == ["two", "three"] ? true : nil
            }
            let backup = try await Self.backUp(follower)
            let oldClusterID = try await leader.clusterView["cluster_id"] as? String
            cluster.stopAll()

            let restored = try await Self.restored(from: backup)
            defer { restored.stop() }
            #expect(try await restored.clusterView["cluster_id"] as? String != oldClusterID, "a restore founds a new cluster")
            // Sessions come back with the accounts: the old tokens work.
            #expect(try await bob.at(restored).inbox("after=1").bodies == ["two", "three"])
            let sent = try await alice.at(restored).send(to: "bob", "four")
            #expect(sent.status == 201 && sent.json["seq"] as? Int == 4, "\(sent.text)")

            let joiner = ChatdProcess(
                id: 8, peers: [8: try FreePort.next()], dataDirectory: TemporaryDirectory.make().appendingPathComponent("8"),
                extraArguments: ["--cluster-secret", TestCluster.secret] + TestCluster.fastTiming)
            joiner.entry = .join([restored.baseURL], learner: false)
            try await joiner.start()
            defer { joiner.stop() }
            _ = try await eventually(timeout: .seconds(20)) {
                try await bob.at(joiner).inbox("after=1").bodies == ["two", "three", "four"] ? true : nil
            }
        }

        /// Like --peers, --restore only matters at a first start: the command line that restored a
        /// replica restarts it, and a replica's own state is never replaced by a backup.
        @Test func aRestoreWhereAReplicaExistsIsIgnoredAndItsStateKept() async throws {
            let replica = try await ChatdProcess.single()
            defer { replica.stop() }
            let carol = try await ChatUser.register("carol", at: replica.baseURL)
            let backup = try await Self.backUp(replica)
            let dave = try await ChatUser.register("dave", at: replica.baseURL)
            #expect(try await carol.send(to: "dave", "after the backup").status == 201)
            replica.stop()
            replica.extraArguments += ["--restore", backup.path]
            try await replica.start()
            try await replica.waitUntil(path: "/readyz")
            #expect(try await dave.inbox().bodies == ["after the backup"], "the replica's own state was replaced")
        }

        @Test func theCommandThatRestoredAReplicaRestartsIt() async throws {
            let source = try await ChatdProcess.single()
            let erin = try await ChatUser.register("erin", at: source.baseURL)
            let backup = try await Self.backUp(source)
            source.stop()
            let restored = try await Self.restored(from: backup)
            defer { restored.stop() }
            #expect(try await erin.at(restored).send(to: "erin", "written after the restore").status == 201)
            restored.stop()
            try await restored.start()
            try await restored.waitUntil(path: "/readyz")
            #expect(try await erin.at(restored).inbox().bodies == ["written after the restore"])
        }

        @Test func aRestoreFoundsAClusterOfOneReplicaOnly() async throws {
            let replica = try await ChatdProcess.single()
            _ = try await ChatUser.register("carol", at: replica.baseURL)
            let backup = try await Self.backUp(replica)
            replica.stop()
            let data = TemporaryDirectory.make().appendingPathComponent("data")
            let (status, message) = try await Safety.exitOfChatd([
                "--id", "1", "--peers", "1=http://127.0.0.1:\(try FreePort.next()),2=http://127.0.0.1:\(try FreePort.next())",
                "--data-dir", data.path, "--restore", backup.path, "--cluster-secret", TestCluster.secret,
            ])
            #expect(status != 0)
            #expect(message.contains("--restore founds a one-replica cluster"), "\(message)")
        }

        @Test func aFileThatIsNoBackupIsRefused() async throws {
            let file = TemporaryDirectory.make().appendingPathComponent("not-a-backup")
            try Data("hello".utf8).write(to: file)
            let data = TemporaryDirectory.make().appendingPathComponent("data")
            let (status, message) = try await Safety.exitOfChatd([
                "--id", "1", "--peers", "1=http://127.0.0.1:\(try FreePort.next())", "--data-dir", data.path, "--restore", file.path,
            ])
            #expect(status != 0)
            #expect(message.contains("is not a backup made by chatd --backup-to"), "\(message)")
        }

        /// Found by probing: the database and its backups (password hashes, sessions) were
        /// created readable by every user of the machine.
        @Test func theDatabaseAndItsBackupsAreReadableByTheirOwnerOnly() async throws {
            let replica = try await ChatdProcess.single()
            defer { replica.stop() }
            let backup = try await Self.backUp(replica)
            for file in [backup, replica.dataDirectory.appendingPathComponent("chat.sqlite")] {
                let mode = try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int
                #expect(mode.map { $0 & 0o077 } == 0, "\(file.lastPathComponent) has mode \(String(mode ?? 0, radix: 8))")
            }
        }

        /// Found by probing: a failed backup or an unreadable database said only SQLite's words
        /// and the statement, naming no file.
        @Test func aBackupThatCannotBeWrittenNamesBothFilesAndWhy() async throws {
            let replica = try await ChatdProcess.single()
            defer { replica.stop() }
            let target = TemporaryDirectory.make().appendingPathComponent("no-such-folder/backup.sqlite")
            let (status, message) = try await Safety.exitOfChatd(["--backup-to", target.path, "--data-dir", replica.dataDirectory.path])
            #expect(status != 0, "\(message)")
            #expect(message.contains("cannot back up \(replica.dataDirectory.path)/chat.sqlite to \(target.path): unable to open"), "\(message)")
        }

        @Test func aDataDirectoryHoldingSomethingElseIsRefusedByName() async throws {
            let data = TemporaryDirectory.make().appendingPathComponent("data")
            try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
            try Data(repeating: 0x41, count: 8192).write(to: data.appendingPathComponent("chat.sqlite"))
            let (status, message) = try await Safety.exitOfChatd([
                "--id", "1", "--peers", "1=http://127.0.0.1:\(try FreePort.next())", "--data-dir", data.path,
            ])
            #expect(status != 0, "\(message)")
            #expect(message.contains("cannot open the database in \(data.path): file is not a database"), "\(message)")
        }

        @Test func aBackupNeverOverwritesAFile() async throws {
            let replica = try await ChatdProcess.single()
            defer { replica.stop() }
            let file = TemporaryDirectory.make().appendingPathComponent("kept")
            try Data("keep me".utf8).write(to: file)
            let (status, message) = try await Safety.exitOfChatd(["--backup-to", file.path, "--data-dir", replica.dataDirectory.path])
            #expect(status != 0 && message.contains("exists already"), "\(message)")
            #expect(try String(contentsOf: file, encoding: .utf8) == "keep me")
        }
    }
}
