import Foundation
import Testing

/// Mistakes an operator should not be able to make by accident.
extension ClusterTests {
    @Suite(.serialized) struct OperatorSafety {
        /// `--cluster-secret-file` keeps the secret out of `ps` and the environment.
        @Test func aClusterFormsWithItsSecretReadFromAFile() async throws {
            let file = TemporaryDirectory.make().appendingPathComponent("cluster-secret")
            try "  \(TestCluster.secret)\n".write(to: file, atomically: true, encoding: .utf8)
            let cluster = try TestCluster(size: 3, secretArguments: ["--cluster-secret-file", file.path])
            defer { cluster.stopAll() }
            try await cluster.startAll()
            _ = try await cluster.waitForLeader()
            let replica = cluster.replicas[0]
            let accepted = try await TestClient.shared.request(
                .POST, "\(replica.baseURL)/internal/raft/messages", rawBody: [0, 0, 0, 0],
                headers: try await replica.peerHeaders)
            #expect(accepted.status == 200, "the secret from the file, without its white space, is the secret")
            let pid = try #require(replica.process?.processIdentifier)
            let commandLine = try String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)
            #expect(!commandLine.contains(TestCluster.secret), "the secret shows in ps")
        }

        @Test(arguments: ["missing", "empty"])
        func aReplicaWhoseSecretFileCannotBeUsedRefusesToStart(_ problem: String) async throws {
            let directory = TemporaryDirectory.make()
            let file = directory.appendingPathComponent("cluster-secret")
            if problem == "empty" { try "\n".write(to: file, atomically: true, encoding: .utf8) }
            let process = Process()
            process.executableURL = ChatdProcess.binary
            process.arguments = [
                "--id", "1", "--peers", "1=http://127.0.0.1:\(try FreePort.next()),2=http://127.0.0.1:\(try FreePort.next())",
                "--data-dir", directory.appendingPathComponent("data").path, "--cluster-secret-file", file.path,
            ]
            let errors = Pipe()
            process.standardError = errors
            try process.run()
            process.waitUntilExit()
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(process.terminationStatus != 0)
            #expect(message.contains("cluster secret file"), "the error names the problem: \(message)")
        }

        /// A value Raft cannot run with is a usage error before anything is written, not a crash
        /// (`--election-ticks 1`), a busy loop (`--tick-ms 0`) or a silent default (`--log-level`).
        @Test(arguments: [
            ("--election-ticks", "1"), ("--tick-ms", "0"), ("--snapshot-every", "0"), ("--log-level", "loud"),
            // Found by hand: each of these crashed the replica, at its start or its first login.
            ("--election-ticks", "9223372036854775807"), ("--tick-ms", "9223372036854775807"),
            ("--insecure-password-rounds", "0"), ("--max-sessions-per-account", "0"),
        ])
        func aReplicaWithAnUnusableSettingRefusesToStart(_ flag: String, _ value: String) async throws {
            let data = TemporaryDirectory.make().appendingPathComponent("data")
            let (status, message) = try await Self.exitOfChatd([
                "--id", "1", "--peers", "1=http://127.0.0.1:\(try FreePort.next())", "--data-dir", data.path, flag, value,
            ])
            #expect(status == 64, "\(flag) \(value) exited \(status): \(message)")
            #expect(message.contains(flag), "the error names the flag: \(message)")
            #expect(!FileManager.default.fileExists(atPath: data.path), "\(flag) \(value) wrote to the data directory")
        }

        /// Runs chatd with `arguments` and returns how it exited and what it said on stderr; a
        /// chatd still running after 10 s is stopped and recorded as an issue.
        static func exitOfChatd(_ arguments: [String]) async throws -> (status: Int32, message: String) {
            let process = Process()
            process.executableURL = ChatdProcess.binary
            process.arguments = arguments
            let errors = Pipe()
            process.standardError = errors
            try process.run()
            let deadline = ContinuousClock.now + .seconds(10)
            while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            if process.isRunning {
                process.terminate()
                Issue.record("chatd \(arguments.joined(separator: " ")) kept running")
            }
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        }

        /// One replica twice would be two memories of one vote writing one log: found by hand,
        /// a second chatd on a running replica's directory used to run beside it.
        @Test func aSecondChatdOnARunningReplicasDataDirectoryRefusesToStart() async throws {
            let replica = try await ChatdProcess.single()
            defer { replica.stop() }
            let (status, message) = try await Self.exitOfChatd([
                "--id", "1", "--peers", "1=http://127.0.0.1:\(try FreePort.next())", "--data-dir", replica.dataDirectory.path,
            ])
            #expect(status != 0)
            #expect(message.contains("another chatd") && message.contains(replica.dataDirectory.path), "\(message)")
            #expect(try await TestClient.shared.get("\(replica.baseURL)/healthz").status == 200, "the running replica was harmed")
        }

        /// Found by hand: the listening socket allowed port sharing, so a second chatd on a
        /// running replica's port started, and the kernel gave it half of that replica's clients.
        @Test func aChatdOnARunningReplicasPortRefusesToStart() async throws {
            let replica = try await ChatdProcess.single()
            defer { replica.stop() }
            let (status, message) = try await Self.exitOfChatd([
                "--id", "1", "--peers", "1=\(replica.baseURL)", "--data-dir", TemporaryDirectory.make().appendingPathComponent("data").path,
            ])
            #expect(status != 0)
            #expect(message.contains("cannot listen"), "\(message)")
        }

        /// A port such that it and the next two are free, as the script numbers its replicas.
        static func threeFreePorts() throws -> Int {
            for _ in 0..<50 {
                let base = try FreePort.next()
                guard base + 2 <= 65_535 else { continue }
                if (1...2).allSatisfy({ isFree(base + $0) }) { return base }
            }
            throw TestFailure("no three consecutive free ports")
        }

        static func isFree(_ port: Int) -> Bool {
            let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard socket >= 0 else { return false }
            defer { close(socket) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
        }

        /// Whether `pid` runs: an exited process that nobody has reaped yet (a zombie) does not.
        /// The replicas the script starts are orphans, reaped by whichever process adopts them.
        static func isRunning(_ pid: Int32) -> Bool {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let afterName = stat.range(of: ") ")
            else { return false }
            return !stat[afterName.upperBound...].hasPrefix("Z")
        }

        /// A copy of the local cluster's scripts in a directory of their own, started as a
        /// terminal starts a foreground job; returns once its 3 replicas are ready.
        struct LocalCluster {
            let root: URL
            let script: Process
            let basePort: Int
            var data: URL { root.appendingPathComponent("data") }

            static func copyOfTheScripts() throws -> URL {
                let root = TemporaryDirectory.make()
                let scripts = root.appendingPathComponent("scripts")
                try FileManager.default.createDirectory(at: scripts, withIntermediateDirectories: true)
                let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("scripts")
                for name in ["run-cluster.sh", "start-replica.sh", "local-cluster.sh"] {
                    try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: scripts.appendingPathComponent(name))
                }
                return root
            }

            /// run-cluster.sh in `root`, its standard error in `errors` if given.
            static func launch(in root: URL, basePort: Int, errors: Pipe? = nil) throws -> Process {
                let script = Process()
                // As a shell starts a foreground job: Process gives the child a process group of its own,
                // and this launcher gives it the signal state a terminal's job has (the test process
                // blocks most signals, and a child inherits that).
                script.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                script.arguments = [
                    "python3", "-c",
                    "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); "
                        + "signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp('bash', ['bash', sys.argv[1]])",
                    root.appendingPathComponent("scripts/run-cluster.sh").path,
                ]
                var environment = ProcessInfo.processInfo.environment
                environment["REPLICAS"] = "3"
                environment["BASE_PORT"] = "\(basePort)"
                environment["CHAT_BIN_DIR"] = ChatdProcess.binary.deletingLastPathComponent().path
                script.environment = environment
                script.standardOutput = FileHandle.nullDevice
                script.standardError = errors ?? FileHandle.nullDevice
                try script.run()
                return script
            }

            static func started() async throws -> LocalCluster {
                let root = try copyOfTheScripts()
                let basePort = try OperatorSafety.threeFreePorts()
                let cluster = LocalCluster(root: root, script: try launch(in: root, basePort: basePort), basePort: basePort)
                var started = false
                for _ in 0..<300 where !started {
                    try await Task.sleep(for: .milliseconds(100))
                    started = (try? await TestClient.shared.get("http://127.0.0.1:\(basePort + 2)/readyz").status) == 200
                }
                if !started { cluster.kill() }
                try #require(started, "the local cluster started")
                return cluster
            }

            var pids: [Int32] {
                (1...3).compactMap { id in
                    (try? String(contentsOf: data.appendingPathComponent("\(id).pid"), encoding: .utf8))
                        .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
                }
            }

            /// Stops whatever of it still runs (a pid whose process is gone is left alone).
            func kill() {
                if script.isRunning { Glibc.kill(-script.processIdentifier, SIGKILL) }
                for pid in pids where OperatorSafety.isRunning(pid) {
                    let commandLine = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
                    if commandLine.contains("chatd") { Glibc.kill(pid, SIGKILL) }
                }
            }
        }

        /// A second `make run` on the same ./data must neither start replicas beside the running
        /// ones nor, on its way out, stop them through their pid files.
        @Test func aSecondLocalClusterOnTheSameDataLeavesTheRunningOneAlone() async throws {
            let cluster = try await LocalCluster.started()
            defer { cluster.kill() }
            let pids = cluster.pids
            let errors = Pipe()
            let second = try LocalCluster.launch(in: cluster.root, basePort: cluster.basePort, errors: errors)
            let deadline = ContinuousClock.now + .seconds(10)
            while Self.isRunning(second.processIdentifier) && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(!Self.isRunning(second.processIdentifier), "the second run-cluster.sh kept running")
            second.waitUntilExit()
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(second.terminationStatus != 0 && message.contains("already running"), "\(second.terminationStatus): \(message)")
            #expect(cluster.pids == pids, "the running cluster's pid files were overwritten")
            for pid in pids { #expect(Self.isRunning(pid), "replica process \(pid) was stopped by the second run") }
        }

        /// `make run` runs scripts/run-cluster.sh; one Ctrl-C (SIGINT to its process group)
        /// stops every replica and returns to the shell within 3 seconds.
        @Test func oneInterruptStopsTheLocalClusterAndReturns() async throws {
            let cluster = try await LocalCluster.started()
            defer { cluster.kill() }
            let script = cluster.script
            let pids = cluster.pids
            #expect(pids.count == 3)
            let interrupted = ContinuousClock.now
            kill(-script.processIdentifier, SIGINT)
            // Read from /proc, not Process.isRunning, which was seen to miss a child's exit under load.
            while Self.isRunning(script.processIdentifier) && ContinuousClock.now - interrupted < .seconds(10) {
                try await Task.sleep(for: .milliseconds(20))
            }
            let elapsed = ContinuousClock.now - interrupted
            #expect(!Self.isRunning(script.processIdentifier), "the script still runs \(elapsed) after one Ctrl-C")
            #expect(elapsed < .seconds(3), "one Ctrl-C took \(elapsed) to return")
            for pid in pids {
                #expect(!Self.isRunning(pid), "replica process \(pid) outlived the Ctrl-C")
            }
        }
    }
}
