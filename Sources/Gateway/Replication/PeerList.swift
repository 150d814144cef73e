import Foundation

/// Parses `--peers 1=http://127.0.0.1:8001,2=http://127.0.0.1:8002` and `--listen host:port`.
public enum PeerList {
    public static func parse(_ text: String) throws -> [PeerAddress] {
        var peers: [PeerAddress] = []
        for entry in text.split(separator: ",") {
            let parts = entry.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let id = Int(parts[0].trimmingCharacters(in: .whitespaces)), id >= 1 else {
                throw PeerListError.invalid(String(entry))
            }
            var url = parts[1].trimmingCharacters(in: .whitespaces)
            while url.hasSuffix("/") { url.removeLast() }
            _ = try ReplicaService.hostAndPort(of: url)
            guard !peers.contains(where: { $0.id == id }) else { throw PeerListError.duplicate(id) }
            peers.append(PeerAddress(id: id, url: url))
        }
        guard !peers.isEmpty else { throw PeerListError.invalid(text) }
        return peers.sorted { $0.id < $1.id }
    }

    public static func parseListen(_ text: String) throws -> (host: String, port: UInt16) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1]) else { throw PeerListError.invalid(text) }
        return (String(parts[0]), port)
    }
}

public enum PeerListError: Error, CustomStringConvertible {
    case invalid(String)
    case duplicate(Int)

    public var description: String {
        switch self {
        case .invalid(let entry): "\(entry) is not of the form id=http://host:port"
        case .duplicate(let id): "replica \(id) appears twice in --peers"
        }
    }
}
