import ChatClient
import Foundation
import Testing

@Suite("APIRequest and PasswordSource")
struct RequestTests {
    @Test("builds the URL at a replica, percent-encoding query values")
    func buildsURL() {
        let request = APIRequest(
            method: .get, path: "/v1/accounts",
            query: [URLQueryItem(name: "pattern", value: "a b&c=*"), URLQueryItem(name: "limit", value: "5")])

        let url = request.url(at: URL(string: "http://h:8001/")!)

        #expect(url.absoluteString == "http://h:8001/v1/accounts?pattern=a%20b%26c%3D%2A&limit=5")
    }

    @Test("takes the password from stdin, then CHAT_PASSWORD, then a prompt")
    func choosesPasswordSource() {
        #expect(PasswordSource.choose(readsStandardInput: true, environment: ["CHAT_PASSWORD": "p"]) == .standardInput)
        #expect(PasswordSource.choose(readsStandardInput: false, environment: ["CHAT_PASSWORD": "p"]) == .environment("p"))
        #expect(PasswordSource.choose(readsStandardInput: false, environment: [:]) == .prompt)
    }
}
