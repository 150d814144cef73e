import Foundation
import Synchronization
import Testing
@testable import Gateway
#if canImport(Glibc)
import Glibc
#endif

/// A suspended request's client leaving is noticed from its socket alone.
@Suite struct ClientDeparturesTests {
    /// The tags reported, and a signal per report.
    final class Reports: Sendable {
        private let tags = Mutex<[Int]>([])
        private let arrived = DispatchSemaphore(value: 0)

        func record(_ tag: Int) {
            tags.withLock { $0.append(tag) }
            arrived.signal()
        }

        /// Waits (at most 5 s) for one more report.
        func awaitOne() -> Bool { arrived.wait(timeout: .now() + 5) == .success }

        var all: [Int] { tags.withLock { $0 } }
    }

    /// A running watcher and what it reports; stop it when done.
    static func started() -> (ClientDepartures, Reports) {
        let departures = ClientDepartures()
        let reports = Reports()
        departures.start(reporting: reports.record)
        return (departures, reports)
    }

    /// A connected pair of stream sockets: the server's end and the client's.
    static func socketPair() -> (server: Int32, client: Int32) {
        var ends: [Int32] = [-1, -1]
        precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &ends) == 0, "socketpair failed")
        return (ends[0], ends[1])
    }

    @Test func aClientClosingItsEndIsReportedWithTheWatchsTag() {
        let (departures, reports) = Self.started()
        defer { departures.stop() }
        let (server, client) = Self.socketPair()
        defer { close(server) }
        #expect(departures.watch(socket: server, tag: 7))
        close(client)
        #expect(reports.awaitOne(), "the closed client was not reported")
        #expect(reports.all == [7])
    }

    @Test func aClientGoneBeforeTheWatchIsReportedAtOnce() {
        let (departures, reports) = Self.started()
        defer { departures.stop() }
        let (server, client) = Self.socketPair()
        defer { close(server) }
        close(client)
        #expect(departures.watch(socket: server, tag: 3))
        #expect(reports.awaitOne(), "a client that left before the watch was not reported")
        #expect(reports.all == [3])
    }

    /// A keep-alive connection is watched again for each request it suspends: only the last
    /// request may be ended by the client leaving.
    @Test func aLaterWatchOfTheSameSocketReplacesTheEarlierOne() {
        let (departures, reports) = Self.started()
        defer { departures.stop() }
        let (server, client) = Self.socketPair()
        defer { close(server) }
        #expect(departures.watch(socket: server, tag: 1))
        #expect(departures.watch(socket: server, tag: 2))
        close(client)
        #expect(reports.awaitOne())
        #expect(reports.all == [2], "the first request's watch outlived the second's")
    }

    @Test func aSocketMHDDidNotTellIsNotWatched() {
        #expect(!ClientDepartures().watch(socket: -1, tag: 1))
    }
}
