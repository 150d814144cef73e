import Testing
@testable import Gateway

@Suite struct PeerListTests {
    @Test func peersParseInIDOrder() throws {
        let peers = try PeerList.parse("2=http://127.0.0.1:8002/,1=http://127.0.0.1:8001")
        #expect(peers == [PeerAddress(id: 1, url: "http://127.0.0.1:8001"), PeerAddress(id: 2, url: "http://127.0.0.1:8002")])
    }

    @Test(arguments: ["", "1", "x=http://a:1", "1=notaurl", "1=http://a:1,1=http://b:2", "0=http://a:1", "2147483648=http://a:1"])
    func malformedPeerListsAreRefused(_ text: String) {
        #expect(throws: (any Error).self) { try PeerList.parse(text) }
    }

    /// Found by hand: a port over 65535 in `POST /v1/cluster/members` crashed the leader.
    @Test(arguments: [
        "http://127.0.0.1:99999", "http://127.0.0.1:0", "http://127.0.0.1:8001/chat", "http://u:p@127.0.0.1:8001",
        "http://127.0.0.1:8001?x=1", "http://127.0.0.1:8001#top", "http://:8001", "127.0.0.1:8001",
    ])
    func aReplicaURLIsASchemeAHostAndAPortAndNothingElse(_ text: String) {
        #expect(throws: (any Error).self, "\(text) was taken for a replica URL") { try PeerList.parseURL(text) }
    }

    /// Members' URLs are compared as text: two spellings of one address must not pass for two.
    @Test(arguments: [
        ("HTTP://127.0.0.1:8001/", "http://127.0.0.1:8001"), ("http://127.0.0.1:08001", "http://127.0.0.1:8001"),
        ("http://Chat-1.Example:8001", "http://chat-1.example:8001"), ("https://[::1]:8002", "https://[::1]:8002"),
        (" http://a:1 ", "http://a:1"), ("http://a", "http://a"),
    ] as [(String, String)])
    func aReplicaURLIsReadInOneSpelling(_ text: String, canonical: String) throws {
        #expect(try PeerList.parseURL(text) == canonical)
    }

    @Test func twoPeersAtOneAddressAreRefused() {
        #expect(throws: PeerListError.self, "two spellings of one address were taken for two replicas") {
            try PeerList.parse("1=http://127.0.0.1:8001,2=http://127.0.0.1:08001")
        }
    }

    @Test func peersMayBeNamedByHostNameOrIPv6Address() throws {
        let peers = try PeerList.parse("1=http://chat-1.example:8001,2=http://[::1]:8002,3=http://localhost:8003")
        #expect(peers.map(\.url) == ["http://chat-1.example:8001", "http://[::1]:8002", "http://localhost:8003"])
        #expect(try ReplicaService.hostAndPort(of: peers[1].url) == ("::1", 8002))
        #expect(try ReplicaService.hostAndPort(of: peers[0].url) == ("chat-1.example", 8001))
    }

    @Test(arguments: [
        ("127.0.0.1:8001", "127.0.0.1", 8001), ("[::1]:8002", "::1", 8002), ("[::]:80", "::", 80),
        ("localhost:8003", "localhost", 8003), ("chat-1.example:8004", "chat-1.example", 8004),
    ] as [(String, String, UInt16)])
    func listenAddressesAreIPv4IPv6OrHostNames(_ text: String, host: String, port: UInt16) throws {
        let parsed = try PeerList.parseListen(text)
        #expect(parsed.host == host && parsed.port == port, "\(text) parsed as \(parsed)")
    }

    @Test(arguments: ["::1:8001", "[::1]", "host", ":8001", "host:99999", "[::1:8001", "a:b:8001"])
    func malformedListenAddressesAreRefused(_ text: String) {
        #expect(throws: PeerListError.self) { try PeerList.parseListen(text) }
    }
}
