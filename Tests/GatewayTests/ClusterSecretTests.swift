import Foundation
import Logging
import Testing
@testable import Gateway

/// Operator calls (`/v1/cluster/members`) are refused before their body is read, with a
/// message that says what is wrong with the cluster secret.
struct ClusterSecretTests {
    func refusal(secret: String?, header: String?) throws -> String? {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("secret-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var dependencies = ChatAPI.Dependencies(
            database: try ChatDatabase(directory: directory), replicator: HeldReplicator(),
            waiters: InboxWaiters(), metrics: ServiceMetrics(), passwordHasher: PasswordHasher(rounds: 1),
            logger: Logger(label: "test"))
        dependencies.clusterSecret = secret
        let request = HTTPRequest(
            method: "DELETE", path: "/v1/cluster/members/3",
            headers: header.map { ["x-chat-cluster-secret": $0] } ?? [:], body: [])
        guard let response = ChatAPI(dependencies).screen(request) else { return nil }
        let json = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        return (json?["error"] as? [String: Any])?["message"] as? String
    }

    @Test(arguments: ["s3cret", "s3cret ", " s3cret\t"])
    func theRightSecretIsLetThroughWhateverBlanksSurroundIt(header: String) throws {
        #expect(try refusal(secret: "s3cret", header: header) == nil)
    }

    @Test(arguments: [nil, ""] as [String?])
    func aMissingOrEmptySecretIsCalledMissing(header: String?) throws {
        #expect(try refusal(secret: "s3cret", header: header) == "This call needs the cluster secret in X-Chat-Cluster-Secret.")
    }

    @Test func aWrongSecretIsCalledWrong() throws {
        #expect(try refusal(secret: "s3cret", header: "guess") == "The cluster secret in X-Chat-Cluster-Secret is wrong.")
    }

    @Test func aReplicaWithoutASecretSaysItTakesNoOperatorCalls() throws {
        #expect(try refusal(secret: nil, header: "guess")?.hasPrefix("This replica has no cluster secret") == true)
    }
}
