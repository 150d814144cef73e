import Foundation
import Synchronization
import Testing

/// The smallest successful call of every operation, keyed by `operationId`.
///
/// Adding an operation to openapi.yaml fails ``OpenAPICoverageTests`` until it has an entry
/// here that really calls it, which is the reminder to give it tests of its own as well.
enum OperationCatalog {
    typealias Call = @Sendable (OpenAPIConnection) async throws -> Void

    /// A lone replica with a cluster secret, for one operator call; it stops with the test process.
    static func operatorReplica() async throws -> OpenAPIConnection {
        let replica = try await ChatdProcess.single(extraArguments: ["--cluster-secret", TestCluster.secret])
        operatorReplicas.withLock { $0.append(replica) }
        return OpenAPIConnection(baseURL: replica.baseURL)
    }

    static let operatorReplicas = Mutex<[ChatdProcess]>([])

    static let successfulCalls: [String: Call] = [
        "createAccount": { api in
            _ = try await api.client.createAccount(body: .json(.init(username: uniqueName("cov"), password: "password123")))
                .created.body.json
        },
        "listAccounts": { api in
            let user = try await api.registerUnique("cov")
            _ = try await api.authenticated(as: user).client.listAccounts(query: .init(pattern: user.username)).ok.body.json
        },
        "deleteAccount": { api in
            let user = try await api.registerUnique("cov")
            _ = try await api.authenticated(as: user).client.deleteAccount(path: .init(username: user.username)).noContent
        },
        "createSession": { api in
            let user = try await api.registerUnique("cov")
            _ = try await api.client.createSession(body: .json(.init(username: user.username, password: user.password)))
                .created.body.json
        },
        "deleteCurrentSession": { api in
            let user = try await api.registerUnique("cov")
            _ = try await api.authenticated(as: user).client.deleteCurrentSession().noContent
        },
        "sendMessage": { api in
            let user = try await api.registerUnique("cov")
            _ = try await api.authenticated(as: user).client.sendMessage(body: .json(.init(to: user.username, body: "hi")))
                .created.body.json
        },
        "readInbox": { api in
            let user = try await api.registerUnique("cov")
            _ = try await api.authenticated(as: user).client.readInbox().ok.body.json
        },
        "acknowledgeInbox": { api in
            let user = try await api.registerUnique("cov")
            _ = try await api.authenticated(as: user).client.acknowledgeInbox(body: .json(.init(up_to: 0))).ok.body.json
        },
        "getClusterStatus": { api in _ = try await api.client.getClusterStatus().ok.body.json },
        "getHealth": { api in _ = try await api.client.getHealth().ok.body.json },
        "getReadiness": { api in _ = try await api.client.getReadiness().ok.body.json },
        "getMetrics": { api in _ = try await api.client.getMetrics().ok.body.plainText },
        "addClusterMember": { _ in
            // On a replica of its own: the shared one's configuration stays as other tests expect it.
            let api = try await OperationCatalog.operatorReplica()
            let member = try await api.asOperator().client.addClusterMember(
                body: .json(.init(id: 2, url: "http://127.0.0.1:\(try FreePort.next())"))).created.body.json
            #expect(member.role == .learner && member.cluster_id != nil)
        },
        "removeClusterMember": { _ in
            let api = try await OperationCatalog.operatorReplica()
            let added = try await TestClient.shared.request(
                .POST, "\(api.baseURL)/v1/cluster/members", json: ["id": 2, "url": "http://127.0.0.1:\(try FreePort.next())"],
                headers: [("X-Chat-Cluster-Secret", TestCluster.secret)])
            #expect(added.status == 201)
            _ = try await api.asOperator().client.removeClusterMember(path: .init(id: 2)).noContent
        },
        "promoteClusterMember": { _ in
            // A learner that really catches up: a replica of its own that joins a lone one.
            let cluster = try await TestCluster.started(size: 1)
            defer { cluster.stopAll() }
            let learner = try cluster.addJoiner(id: 2, learner: true)
            try await learner.start()
            let leader = cluster.replica(1)
            _ = try await eventually(timeout: .seconds(20)) { () -> Bool? in
                let view = try await leader.clusterView
                let members = view["members"] as? [[String: Any]] ?? []
                let match = members.first { $0["id"] as? Int == 2 }?["match_index"] as? Int ?? 0
                return match > 0 && match >= view["commit_index"] as? Int ?? .max ? true : nil
            }
            let member = try await OpenAPIConnection(baseURL: leader.baseURL).asOperator().client
                .promoteClusterMember(path: .init(id: 2)).ok.body.json
            #expect(member.role == .voter)
        },
    ]
}

@Suite struct OpenAPICoverageTests {
    @Test func theParserFindsEveryPathAndMethodInTheSpec() throws {
        let operations = try OpenAPIDocument.operations()
        #expect(operations.count >= 12, "found only \(operations)")
        #expect(operations.contains(OpenAPIDocument.Operation(method: "delete", path: "/v1/accounts/{username}", operationID: "deleteAccount")))
        #expect(operations.contains(OpenAPIDocument.Operation(method: "get", path: "/metrics", operationID: "getMetrics")))
    }

    @Test func theParserReadsMethodsAndOperationIDsOnlyUnderPaths() {
        let yaml = """
            openapi: 3.1.0
            paths:
              /v1/things/{id}:
                parameters: []
                get:
                  operationId: 'getThing'
                  responses: {}
                delete:
                  summary: No id yet.
              /healthz:
                get:
                  operationId: getHealth
            components:
              schemas:
                get:
                  operationId: notAnOperation
            """
        #expect(OpenAPIDocument.operations(in: yaml) == [
            OpenAPIDocument.Operation(method: "get", path: "/v1/things/{id}", operationID: "getThing"),
            OpenAPIDocument.Operation(method: "delete", path: "/v1/things/{id}", operationID: nil),
            OpenAPIDocument.Operation(method: "get", path: "/healthz", operationID: "getHealth"),
        ])
    }

    @Test func everyOperationInTheSpecHasAUniqueOperationID() throws {
        let operations = try OpenAPIDocument.operations()
        let missing = operations.filter { $0.operationID == nil }
        #expect(missing.isEmpty, "operations without an operationId: \(missing)")
        let identifiers = operations.compactMap(\.operationID)
        #expect(Set(identifiers).count == identifiers.count, "repeated operationIds in \(identifiers)")
    }

    @Test func everyOperationInTheSpecIsExercisedAndNothingElse() throws {
        let inSpec = Set(try OpenAPIDocument.operations().compactMap(\.operationID))
        let exercised = Set(OperationCatalog.successfulCalls.keys)
        #expect(inSpec.subtracting(exercised).isEmpty, "operations without a test: \(inSpec.subtracting(exercised).sorted())")
        #expect(exercised.subtracting(inSpec).isEmpty, "tests of operations not in the spec: \(exercised.subtracting(inSpec).sorted())")
    }

    @Test func theFieldCheckSeesNestedKeysAndTreatsNullAsAbsent() throws {
        let paths = try JSONKeyPaths.of(json: Data(#"{"a": 1, "b": null, "c": [{"d": 2}, {"e": {"f": []}}]}"#.utf8))
        #expect(paths == ["a", "c", "c[].d", "c[].e", "c[].e.f"])
    }

    @Test(arguments: OperationCatalog.successfulCalls.keys.sorted())
    func theCatalogCallOfEachOperationSucceedsThroughTheGeneratedClient(_ operationID: String) async throws {
        let api = OpenAPIConnection(baseURL: try await SharedReplica.instance.baseURL())
        let call = try #require(OperationCatalog.successfulCalls[operationID])
        // Calls made as another user go through their own connection; the last call is the one under test.
        let recorder = OperationRecorder()
        try await OperationRecorder.$current.withValue(recorder) { try await call(api) }
        #expect(recorder.operationIDs.last == operationID, "the call for \(operationID) made \(recorder.operationIDs)")
    }
}
