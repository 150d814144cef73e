import Foundation

/// An account with a live session.
struct ChatUser: Codable, Sendable {
    var username: String
    var token: String
}

/// Creates the accounts a scenario needs; names are random so runs never collide.
enum ChatUsers {
    static let password = "benchmark-password"

    static func create(_ http: BenchHTTP, base: String, prefix: String, count: Int) async throws -> [ChatUser] {
        let run = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        var users: [ChatUser] = []
        for index in 0..<count {
            let username = "\(prefix)\(run)x\(index)"
            let credentials: [String: Any] = ["username": username, "password": password]
            let account = try await http.write(base, "/v1/accounts", json: credentials)
            guard account.status == 201 else {
                throw BenchFailure("creating \(username) answered \(account.status): \(String(decoding: account.body, as: UTF8.self))")
            }
            let session = try await http.write(base, "/v1/sessions", json: credentials)
            guard session.status == 201, let token = session.json?["token"] as? String else {
                throw BenchFailure("logging in \(username) answered \(session.status)")
            }
            users.append(ChatUser(username: username, token: token))
        }
        return users
    }

    /// Waits until `base` (a follower, say) knows every user's session: a stale inbox read answers 200.
    static func awaitKnown(_ users: [ChatUser], http: BenchHTTP, base: String, timeoutSeconds: Double = 30) async throws {
        let deadline = MonotonicClock.nanoseconds() + UInt64(timeoutSeconds * 1e9)
        for user in users {
            while true {
                let reply = try? await http.get("\(base)/v1/inbox?consistency=stale&limit=1", token: user.token)
                if reply?.status == 200 { break }
                guard MonotonicClock.nanoseconds() < deadline else { throw BenchFailure("\(base) never learnt \(user.username)") }
                await MonotonicClock.sleep(milliseconds: 20)
            }
        }
    }
}
