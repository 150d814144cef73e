import Foundation
import Testing
@testable import Gateway

/// When the members' views of the cluster prove that a replica was removed, and when they
/// prove nothing (`RemovalVerdict`).
@Suite struct RemovalVerdictTests {
    static let me = "http://10.0.0.3:8001"
    static let others = [1: "http://10.0.0.1:8001", 2: "http://10.0.0.2:8001"]

    /// Replica 3, whose newest configuration (at index 5) lists it.
    static let own = RemovalVerdict.Own(
        replicaID: 3, clusterID: "c1", configurationIndex: 5, members: others.merging([3: me]) { a, _ in a })

    static func report(
        commit: Int64, configuration: Int64, members: [Int: String] = others, cluster: String = "c1", from reporter: String = others[1]!
    ) -> RemovalVerdict.Report {
        RemovalVerdict.Report(
            reporter: reporter, clusterID: cluster, commitIndex: commit, configurationIndex: configuration, members: members)
    }

    @Test func aCommittedConfigurationWithoutThisReplicaAfterItsOwnProvesTheRemoval() {
        let proof = Self.report(commit: 9, configuration: 6)
        #expect(RemovalVerdict.removal(of: Self.own, reports: [proof]) == proof)
    }

    @Test func aConfigurationNotYetCommittedProvesNothing() {
        // The removal may still be undone: the leader that appended it may lose its term.
        #expect(RemovalVerdict.removal(of: Self.own, reports: [Self.report(commit: 5, configuration: 6)]) == nil)
    }

    @Test func aViewNoNewerThanThisReplicasConfigurationProvesNothing() {
        // A member that lags may not yet list a replica added at index 5.
        #expect(RemovalVerdict.removal(of: Self.own, reports: [Self.report(commit: 5, configuration: 4)]) == nil)
        #expect(RemovalVerdict.removal(of: Self.own, reports: [Self.report(commit: 4, configuration: 4)]) == nil)
    }

    @Test func aViewThatListsThisReplicaProvesNothing() {
        let listing = Self.report(commit: 9, configuration: 6, members: Self.own.members)
        #expect(RemovalVerdict.removal(of: Self.own, reports: [listing]) == nil)
    }

    @Test func aViewListingItsIDAtAnotherAddressProvesNothing() {
        // Founding members' `--peers` may spell one machine two ways.
        let spelledOtherwise = Self.others.merging([3: "http://chat-3.internal:8001"]) { a, _ in a }
        #expect(RemovalVerdict.removal(of: Self.own, reports: [Self.report(commit: 9, configuration: 6, members: spelledOtherwise)]) == nil)
    }

    @Test func aViewOfAnotherClusterProvesNothing() {
        #expect(RemovalVerdict.removal(of: Self.own, reports: [Self.report(commit: 9, configuration: 6, cluster: "c2")]) == nil)
    }

    @Test func theFreshestViewDecidesWhenThisReplicaWasAddedAgain() {
        let stale = Self.report(commit: 9, configuration: 6)
        let fresh = Self.report(commit: 12, configuration: 11, members: Self.own.members, from: Self.others[2]!)
        #expect(RemovalVerdict.removal(of: Self.own, reports: [stale, fresh]) == nil)
        #expect(RemovalVerdict.removal(of: Self.own, reports: [fresh, stale]) == nil)
    }

    @Test func theFreshestCommittedViewIsTheProof() {
        let older = Self.report(commit: 9, configuration: 6)
        let newer = Self.report(commit: 12, configuration: 6, from: Self.others[2]!)
        let uncommitted = Self.report(commit: 13, configuration: 14, members: Self.own.members)
        #expect(RemovalVerdict.removal(of: Self.own, reports: [older, uncommitted, newer]) == newer)
    }

    @Test func aReplicaThatKnowsNoConfigurationConcludesNothing() {
        var knowsNothing = Self.own
        (knowsNothing.members, knowsNothing.configurationIndex, knowsNothing.clusterID) = ([:], 0, "")
        #expect(RemovalVerdict.removal(of: knowsNothing, reports: [Self.report(commit: 9, configuration: 6)]) == nil)
    }

    @Test func aJoinerBehindTheConfigurationThatAddedItConcludesNothingFromEarlierOnes() {
        // Its id and URL were used before: the configuration it holds is the earlier replica's.
        var catchingUp = Self.own
        catchingUp.memberSince = 8
        #expect(RemovalVerdict.removal(of: catchingUp, reports: [Self.report(commit: 9, configuration: 6)]) == nil)
        catchingUp.configurationIndex = 8
        let proof = Self.report(commit: 12, configuration: 10)
        #expect(RemovalVerdict.removal(of: catchingUp, reports: [proof]) == proof, "caught up, it can learn of a later removal")
    }

    @Test func aJoinerRemovedBeforeItCaughtUpConcludesFromAConfigurationLaterThanItsAdding() {
        // Added at 8, it holds only what it received before the leader stopped sending: the
        // earlier configurations at 5, perhaps an earlier replica's of its id, or none at all.
        var catchingUp = Self.own
        catchingUp.memberSince = 8
        #expect(RemovalVerdict.removal(of: catchingUp, reports: [Self.report(commit: 12, configuration: 8)]) == nil,
            "the configuration that added it proves nothing")
        #expect(RemovalVerdict.removal(of: catchingUp, reports: [Self.report(commit: 12, configuration: 10, members: Self.own.members)]) == nil,
            "a later configuration that lists it proves nothing")
        let proof = Self.report(commit: 12, configuration: 10)
        #expect(RemovalVerdict.removal(of: catchingUp, reports: [proof]) == proof)
        (catchingUp.members, catchingUp.configurationIndex) = ([:], 0)
        #expect(RemovalVerdict.removal(of: catchingUp, reports: [proof]) == proof, "knowing no configuration yet")
    }

    @Test func aJoinerThatDoesNotKnowWhereItWasAddedConcludesNothingFromAConfigurationWithoutIt() {
        // Added through a leader of a version that did not say: the configuration without it may
        // be an earlier replica's of the same id, met while catching up.
        var catchingUp = Self.own
        (catchingUp.members, catchingUp.memberSince) = (Self.others, nil)
        #expect(RemovalVerdict.removal(of: catchingUp, reports: [Self.report(commit: 9, configuration: 6)]) == nil)
    }

    @Test func aConfigurationWithoutItThatMadeItAMemberConcludesNothing() {
        // Not a removal: the configuration that added it lists it, so this one is something else.
        var odd = Self.own
        (odd.members, odd.memberSince) = (Self.others, 5)
        #expect(RemovalVerdict.removal(of: odd, reports: [Self.report(commit: 9, configuration: 6)]) == nil)
    }

    @Test func itsOwnRemovalAppendedButNotCommittedHereIsProvedByACommittedViewPastIt() {
        // A leader appended its own removal at index 7 and lost its term before the commit;
        // the next leader committed the removal and never sends to it.
        var removing = Self.own
        (removing.members, removing.configurationIndex) = (Self.others, 7)
        #expect(RemovalVerdict.canConclude(removing))
        #expect(RemovalVerdict.removal(of: removing, reports: [Self.report(commit: 6, configuration: 5, members: Self.own.members)]) == nil,
            "its removal may still be undone")
        #expect(RemovalVerdict.removal(of: removing, reports: [Self.report(commit: 9, configuration: 5, members: Self.own.members)]) == nil,
            "the next leader's log lists it: its removal was undone")
        #expect(RemovalVerdict.removal(of: removing, reports: [Self.report(commit: 7, configuration: 7)]) == nil,
            "a view no newer than its own configuration proves nothing")
        let proof = Self.report(commit: 8, configuration: 7)
        #expect(RemovalVerdict.removal(of: removing, reports: [proof]) == proof)
    }

    @Test func noAnswerProvesNothing() {
        #expect(RemovalVerdict.removal(of: Self.own, reports: []) == nil)
    }

    @Test func aReportIsReadFromAClusterView() throws {
        let body = #"""
            {"applied_index":9,"cluster_id":"c1","commit_index":9,"configuration_index":6,"id":1,"leader":null,
             "members":[{"id":1,"role":"voter","url":"http://10.0.0.1:8001"},{"id":2,"role":"voter","url":"http://10.0.0.2:8001"}],
             "role":"follower","term":2}
            """#
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        #expect(RemovalVerdict.Report(json: json, from: Self.others[1]!) == Self.report(commit: 9, configuration: 6))
    }

    @Test func aViewWithoutItsConfigurationIndexIsNoReport() throws {
        // A replica of an earlier version does not say whether its configuration is committed.
        let body = #"{"cluster_id":"c1","commit_index":9,"members":[{"id":1,"url":"http://10.0.0.1:8001"}]}"#
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        #expect(RemovalVerdict.Report(json: json, from: Self.others[1]!) == nil)
    }
}
