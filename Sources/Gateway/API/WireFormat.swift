import Foundation
import ReplicaCore

/// The JSON bodies the API answers with (snake_case, as in openapi.yaml).
enum WireFormat {
    struct Account: Encodable {
        var username: String
        var createdAt: String

        enum CodingKeys: String, CodingKey {
            case username
            case createdAt = "created_at"
        }
    }

    struct AccountsPage: Encodable {
        var accounts: [Account]
        var next: String?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(accounts, forKey: .accounts)
            try container.encode(next, forKey: .next)  // an explicit null on the last page
        }

        enum CodingKeys: String, CodingKey { case accounts, next }
    }

    struct Session: Encodable {
        var token: String
        var username: String
    }

    struct Message: Encodable {
        var id: String
        var seq: Int64
        var from: String
        var to: String
        var body: String
        var sentAt: String

        init(_ message: StoredMessage) {
            id = message.id
            seq = message.seq
            from = message.sender
            to = message.recipient
            body = message.body
            sentAt = Timestamp.rfc3339(millis: message.sentAtMillis)
        }

        enum CodingKeys: String, CodingKey {
            case id, seq, from, to, body
            case sentAt = "sent_at"
        }

        /// What `JSONEncoder` makes of it, made without it (the answer to every send).
        var json: [UInt8] {
            var out: [UInt8] = []
            out.reserveCapacity(96 + id.utf8.count + from.utf8.count + to.utf8.count + body.utf8.count)
            out.append(contentsOf: #"{"id":"#.utf8)
            StringObjectJSON.appendString(id, to: &out)
            out.append(contentsOf: #","seq":"#.utf8)
            out.append(contentsOf: String(seq).utf8)
            out.append(contentsOf: #","from":"#.utf8)
            StringObjectJSON.appendString(from, to: &out)
            out.append(contentsOf: #","to":"#.utf8)
            StringObjectJSON.appendString(to, to: &out)
            out.append(contentsOf: #","body":"#.utf8)
            StringObjectJSON.appendString(body, to: &out)
            out.append(contentsOf: #","sent_at":"#.utf8)
            StringObjectJSON.appendString(sentAt, to: &out)
            out.append(UInt8(ascii: "}"))
            return out
        }
    }

    struct Inbox: Encodable {
        var messages: [Message]
        var nextAfter: Int64

        enum CodingKeys: String, CodingKey {
            case messages
            case nextAfter = "next_after"
        }

        /// What `JSONEncoder` makes of it, made without it (the answer to every long-poll).
        var json: [UInt8] {
            var out = Array(#"{"messages":["#.utf8)
            for (position, message) in messages.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: message.json)
            }
            out.append(contentsOf: #"],"next_after":"#.utf8)
            out.append(contentsOf: String(nextAfter).utf8)
            out.append(UInt8(ascii: "}"))
            return out
        }
    }

    struct Acknowledged: Encodable {
        var ackedUpTo: Int64

        enum CodingKeys: String, CodingKey { case ackedUpTo = "acked_up_to" }
    }

    struct Status: Encodable {
        var status: String
    }

    struct Cluster: Encodable {
        struct Member: Encodable {
            var id: Int
            var url: String
            var role: String
            var matchIndex: Int64?
            var reachable: Bool?
            /// Set only in the answer to adding a member, so a joining replica learns its cluster
            /// and the configuration that added it.
            var clusterID: String?
            var configurationIndex: Int64?

            enum CodingKeys: String, CodingKey {
                case id, url, role, reachable
                case matchIndex = "match_index"
                case clusterID = "cluster_id"
                case configurationIndex = "configuration_index"
            }
        }

        var clusterID: String
        var id: Int
        var role: String
        var term: Int64
        var leader: PeerAddress?
        var commitIndex: Int64
        var appliedIndex: Int64
        var configurationIndex: Int64
        var members: [Member]

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(clusterID, forKey: .clusterID)
            try container.encode(id, forKey: .id)
            try container.encode(role, forKey: .role)
            try container.encode(term, forKey: .term)
            try container.encode(leader, forKey: .leader)  // an explicit null when no leader is known
            try container.encode(commitIndex, forKey: .commitIndex)
            try container.encode(appliedIndex, forKey: .appliedIndex)
            try container.encode(configurationIndex, forKey: .configurationIndex)
            try container.encode(members, forKey: .members)
        }

        enum CodingKeys: String, CodingKey {
            case id, role, term, leader, members
            case clusterID = "cluster_id"
            case commitIndex = "commit_index"
            case appliedIndex = "applied_index"
            case configurationIndex = "configuration_index"
        }
    }

    static func response(_ status: Int, _ value: some Encodable) -> HTTPResponse {
        do {
            let encoder = JSONEncoder()
            // Sorted, so that every replica and every call writes a document the same way.
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return response(status, json: Array(try encoder.encode(value)))
        } catch {
            return APIError.internalError("The response could not be encoded.").response
        }
    }

    /// A JSON document already written.
    static func response(_ status: Int, json body: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: body)
    }

    static func noContent() -> HTTPResponse { HTTPResponse(status: 204) }
}

/// Request bodies.
enum RequestBodies {
    struct NewMember: Decodable {
        var id: Int
        var url: String
    }

    struct Credentials: Decodable {
        var username: String
        var password: String
    }

    struct Send: Decodable {
        var to: String
        var body: String
    }

    /// Sessions a follower saw in use (`SessionUseRecorder`).
    struct SessionsUsed: Decodable {
        var tokenHashes: [String]

        enum CodingKeys: String, CodingKey { case tokenHashes = "token_hashes" }
    }

    struct Acknowledge: Decodable {
        var upTo: Int64

        enum CodingKeys: String, CodingKey { case upTo = "up_to" }
    }
}

public enum Timestamp {
    /// `2026-11-25T10:00:00.123Z`
    static func rfc3339(millis: Int64) -> String {
        var seconds = time_t(millis.floorDivided(by: 1000))
        let fraction = Int(millis - Int64(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { String(value).leftPadded(to: 2) }
        return "\(String(parts.tm_year + 1900).leftPadded(to: 4))-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))"
            + "T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(String(fraction).leftPadded(to: 3))Z"
    }

    public static func nowMillis() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}

extension Int64 {
    func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
