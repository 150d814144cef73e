import ChatClient
import Foundation
import Testing

@Suite("ReplicaList")
struct ReplicaListTests {
    @Test("parses comma-separated URLs, trimming blanks, slashes and repeats")
    func parsesList() throws {
        let replicas = try ReplicaList.parse(" http://127.0.0.1:8001/ , ,http://127.0.0.1:8002,127.0.0.1:8003,http://127.0.0.1:8001")

        #expect(replicas.map(\.absoluteString) == ["http://127.0.0.1:8001", "http://127.0.0.1:8002", "http://127.0.0.1:8003"])
    }

    @Test("rejects what is not an http base URL", arguments: ["", " , ", "ftp://host:21", "http://", "http://h:1?x=1", "http://127.0.0.1:65536", "h:70000", "http://h:0"])
    func rejectsInvalid(text: String) {
        #expect(throws: ChatClientError.self) {
            try ReplicaList.parse(text)
        }
    }

    @Test("prefers --cluster, then CHAT_CLUSTER, then the default")
    func resolvesSource() throws {
        let environment = ["CHAT_CLUSTER": "http://e:1,http://e:2"]

        #expect(try ReplicaList.resolve(flag: "http://f:1", environment: environment).map(\.absoluteString) == ["http://f:1"])
        #expect(try ReplicaList.resolve(flag: nil, environment: environment).map(\.absoluteString) == ["http://e:1", "http://e:2"])
        #expect(try ReplicaList.resolve(flag: nil, environment: [:]).map(\.absoluteString) == ["http://127.0.0.1:8001"])
        #expect(try ReplicaList.resolve(flag: nil, environment: ["CHAT_CLUSTER": "  "]).map(\.absoluteString) == ["http://127.0.0.1:8001"])
    }
}
