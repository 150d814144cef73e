import Foundation

/// Parses the list of replicas from `--cluster` or the `CHAT_CLUSTER` variable.
public enum ReplicaList {
    /// The environment variable that names the replicas when no flag does.
    public static let environmentVariable = "CHAT_CLUSTER"
    /// The replica used when neither the flag nor the environment names any.
    public static let defaultValue = "http://127.0.0.1:8001"

    /// The replicas named by `flag` if given, else by `CHAT_CLUSTER` in
    /// `environment` if set and not blank, else the default.
    public static func resolve(flag: String?, environment: [String: String]) throws -> [URL] {
        if let flag {
            return try parse(flag)
        }
        if let value = environment[environmentVariable],
            !value.trimmingCharacters(in: .whitespaces).isEmpty
        {
            return try parse(value)
        }
        return try parse(defaultValue)
    }

    /// Parses comma-separated base URLs such as `http://a:8001,http://b:8002`.
    ///
    /// Blank entries are skipped, `host:port` without a scheme means
    /// `http://host:port`, trailing slashes are dropped and repeats removed.
    public static func parse(_ text: String) throws -> [URL] {
        var replicas: [URL] = []
        for entry in text.split(separator: ",") {
            let trimmed = entry.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty {
                continue
            }
            let replica = try parseReplica(trimmed)
            if !replicas.contains(replica) {
                replicas.append(replica)
            }
        }
        guard !replicas.isEmpty else {
            throw ChatClientError.invalidReplicaList("no replica URL in \"\(text)\"")
        }
        return replicas
    }

    private static func parseReplica(_ entry: String) throws -> URL {
        var text = entry.contains("://") ? entry : "http://" + entry
        while text.hasSuffix("/") {
            text.removeLast()
        }
        guard let components = URLComponents(string: text),
            let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = components.host, !host.isEmpty,
            components.query == nil, components.fragment == nil,
            components.port.map({ (1...65_535).contains($0) }) ?? true,
            let url = URL(string: text)
        else {
            throw ChatClientError.invalidReplicaList("\"\(entry)\" is not an http or https base URL (with a port from 1 to 65535)")
        }
        return url
    }
}
