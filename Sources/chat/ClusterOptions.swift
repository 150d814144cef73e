import ArgumentParser

/// The options every command that talks to the service shares.
struct ClusterOptions: ParsableArguments {
    @Option(
        name: .customLong("cluster"),
        help: ArgumentHelp(
            "Comma-separated replica URLs; defaults to $CHAT_CLUSTER, else http://127.0.0.1:8001.",
            valueName: "url,url,..."))
    var cluster: String?

    @Option(help: ArgumentHelp(
        "Verify https replicas against this PEM CA certificate; defaults to $CHAT_CACERT, else the system's CAs.",
        valueName: "file"))
    var cacert: String?

    @Option(help: "Seconds to keep trying replicas before giving up.")
    var timeout: Double = 10

    @Flag(help: "Ask a follower to carry writes out through the leader (Prefer: forward) instead of redirecting: for networks where only some replicas are reachable.")
    var forward = false

    func validate() throws {
        guard timeout.isFinite, timeout > 0, timeout <= 3600 else {
            throw ValidationError("--timeout must be more than 0 and at most 3600 seconds.")
        }
    }

    var totalTimeout: Duration {
        .milliseconds(Int64((timeout * 1000).rounded(.up)))
    }
}
