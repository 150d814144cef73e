import ChatClient
import Foundation
import Testing

/// `chat cluster list` prints the leader's view, not that of whichever replica answered first.
@Suite("Cluster view")
struct ClusterViewTests {
    let replicas = [URL(string: "http://a:8001")!, URL(string: "http://b:8002")!]

    static func view(of id: Int, leader: Int?, members: String = #"{"id":1,"url":"http://a:8001","role":"voter"}"#)
        -> ScriptedTransport.Step
    {
        let leaderJSON = leader.map { #"{"id":\#($0),"url":"http://\#($0 == 1 ? "a:8001" : "b:8002")"}"# } ?? "null"
        return .respond(.json(200, #"""
            {"cluster_id":"c","id":\#(id),"role":"\#(leader == id ? "leader" : "follower")","term":3,\#
            "leader":\#(leaderJSON),"members":[\#(members)]}
            """#))
    }

    func makeAPI(_ steps: [String: [ScriptedTransport.Step]]) -> ChatAPI {
        let transport = ScriptedTransport(steps)
        return ChatAPI(client: FailoverClient(replicas: replicas, transport: transport, clock: ManualRetryClock()))
    }

    @Test("asks the leader a follower names")
    func followerNamesTheLeader() async throws {
        let api = makeAPI([
            "a:8001": [Self.view(of: 1, leader: 2)],
            "b:8002": [Self.view(of: 2, leader: 2, members: #"{"id":2,"url":"http://b:8002","role":"voter","match_index":9}"#)],
        ])
        let view = try await api.clusterAsTheLeaderSeesIt()
        #expect(view.id == 2)
        #expect(view.members.first?.matchIndex == 9)
    }

    @Test("asks the other replicas when the first knows no leader (it may have been removed)")
    func firstKnowsNoLeader() async throws {
        let api = makeAPI([
            "a:8001": [Self.view(of: 1, leader: nil), Self.view(of: 1, leader: nil)],
            "b:8002": [Self.view(of: 2, leader: 2)],
        ])
        let view = try await api.clusterAsTheLeaderSeesIt()
        #expect(view.id == 2, "the view of a replica that knows no leader was printed")
        #expect(view.leader?.id == 2)
    }

    @Test("keeps the first view when no replica knows a leader")
    func noLeaderAnywhere() async throws {
        let api = makeAPI(["a:8001": [Self.view(of: 1, leader: nil)]])
        let view = try await api.clusterAsTheLeaderSeesIt()
        #expect(view.id == 1)
        #expect(view.leader == nil)
    }
}
