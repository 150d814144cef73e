import Foundation

/// Parses `--peers 1=http://127.0.0.1:8001,2=http://127.0.0.1:8002` and `--listen host:port`.
public enum PeerList {
    public static func parse(_ text: String) throws -> [PeerAddress] {
        var peers: [PeerAddress] = []
        for entry in text.split(separator: ",") {
            let parts = entry.split(separator: "=", maxSplits: 1)
            // The ids `POST /v1/cluster/members` accepts, so that every member can be named there.
            guard parts.count == 2, let id = Int(parts[0].trimmingCharacters(in: .whitespaces)), (1...Int(Int32.max)).contains(id) else {
                throw PeerListError.invalid(String(entry))
            }
            let url = try parseURL(String(parts[1]))
            guard !peers.contains(where: { $0.id == id }) else { throw PeerListError.duplicate(id) }
            if let holder = peers.first(where: { $0.url == url }) { throw PeerListError.sharedURL(url, holder.id, id) }
            peers.append(PeerAddress(id: id, url: url))
        }
        guard !peers.isEmpty else { throw PeerListError.invalid(text) }
        return peers.sorted { $0.id < $1.id }
    }

    /// An `http://host:port` URL in one spelling per address: scheme and host in lower case,
    /// the port without leading zeros, no trailing slash. Replicas compare members' URLs as
    /// text (a second member at a taken address is refused), so `HTTP://Chat-1:08001/` must
    /// read as `http://chat-1:8001`.
    public static func parseURL(_ text: String) throws -> String {
        var url = text.trimmingCharacters(in: .whitespaces)
        while url.hasSuffix("/") { url.removeLast() }
        _ = try ReplicaService.hostAndPort(of: url)
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host else {
            throw ServiceError.invalidURL(url)
        }
        return "\(scheme.lowercased())://\(host.lowercased())" + (components.port.map { ":\($0)" } ?? "")
    }

    /// The URL a replica listening on `listen` is reached at, when nothing else names it: for a
    /// wildcard host the loopback address, which reaches this machine only (`isWildcard`).
    public static func advertisedURL(listeningOn listen: (host: String, port: UInt16), tls: Bool) throws -> (url: String, isWildcard: Bool) {
        let isWildcard = ["0.0.0.0", "::"].contains(listen.host)
        let host = switch listen.host {
        case "0.0.0.0": "127.0.0.1"
        case "::": "::1"
        default: listen.host
        }
        let bracketed = host.contains(":") ? "[\(host)]" : host
        return (try parseURL("\(tls ? "https" : "http")://\(bracketed):\(listen.port)"), isWildcard)
    }

    /// `host:port`, where host is an IPv4 address, a host name, or an IPv6 address in brackets
    /// (`[::1]:8001`).
    public static func parseListen(_ text: String) throws -> (host: String, port: UInt16) {
        guard let separator = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: separator)...]) else {
            throw PeerListError.invalidListen(text)
        }
        var host = String(text[..<separator])
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        } else if host.contains(":") {
            throw PeerListError.invalidListen(text)
        }
        guard !host.isEmpty, !host.contains("[") && !host.contains("]") else { throw PeerListError.invalidListen(text) }
        return (host, port)
    }
}

public enum PeerListError: Error, CustomStringConvertible {
    case invalid(String)
    case invalidListen(String)
    case duplicate(Int)
    case sharedURL(String, Int, Int)

    public var description: String {
        switch self {
        case .invalid(let entry): "\(entry) is not of the form id=http://host:port (or https://)"
        case .invalidListen(let text): "\(text) is not of the form host:port (an IPv6 address in brackets: [::1]:8001)"
        case .duplicate(let id): "replica \(id) appears twice in --peers"
        case .sharedURL(let url, let first, let second): "replicas \(first) and \(second) have one URL in --peers, \(url)"
        }
    }
}
