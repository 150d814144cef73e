import Foundation

/// One replica shared by the endpoint tests; each test uses its own usernames.
actor SharedReplica {
    static let instance = SharedReplica()
    /// A task, not a value: the actor is reentrant, and every caller must share one start.
    private var replica: Task<ChatdProcess, any Error>?

    func baseURL() async throws -> String {
        if replica == nil { replica = Task { try await ChatdProcess.single() } }
        return try await replica!.value.baseURL
    }
}

/// A username no other test uses: `prefix` plus a random suffix.
func uniqueName(_ prefix: String) -> String {
    "\(prefix)\(UInt32.random(in: 0...UInt32.max, using: &SystemRandomNumberGenerator.shared))"
}

extension SystemRandomNumberGenerator {
    nonisolated(unsafe) static var shared = SystemRandomNumberGenerator()
}
