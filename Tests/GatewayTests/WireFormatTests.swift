import Testing
@testable import Gateway

/// Answers made by `JSONEncoder` have one spelling, whichever replica or call makes them.
@Suite struct WireFormatTests {
    @Test func anEncodedAnswerListsItsNamesInOrder() {
        let member = WireFormat.Cluster.Member(id: 2, url: "http://b:2", role: "voter", matchIndex: 7, clusterID: nil)
        let cluster = WireFormat.Cluster(
            clusterID: "c1", id: 2, role: "follower", term: 3, leader: nil, commitIndex: 7, appliedIndex: 7,
            configurationIndex: 5, members: [member])
        let body = String(decoding: WireFormat.response(200, cluster).body, as: UTF8.self)
        let sorted = #"{"applied_index":7,"cluster_id":"c1","commit_index":7,"configuration_index":5,"id":2,"leader":null,"#
            + #""members":[{"id":2,"match_index":7,"role":"voter","url":"http://b:2"}],"role":"follower","term":3}"#
        #expect(body == sorted)
    }
}
