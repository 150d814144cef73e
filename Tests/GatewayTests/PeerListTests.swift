import Testing
@testable import Gateway

@Suite struct PeerListTests {
    @Test func peersParseInIDOrder() throws {
        let peers = try PeerList.parse("2=http://127.0.0.1:8002/,1=http://127.0.0.1:8001")
        #expect(peers == [PeerAddress(id: 1, url: "http://127.0.0.1:8001"), PeerAddress(id: 2, url: "http://127.0.0.1:8002")])
    }

    @Test(arguments: ["", "1", "x=http://a:1", "1=notaurl", "1=http://a:1,1=http://b:2", "0=http://a:1"])
    func malformedPeerListsAreRefused(_ text: String) {
        #expect(throws: (any Error).self) { try PeerList.parse(text) }
    }
}
