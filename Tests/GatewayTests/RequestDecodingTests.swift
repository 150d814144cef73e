import Testing
@testable import Gateway

@Suite struct RequestDecodingTests {
    @Test(arguments: ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON", " application/json ;x=y", "\tApplication/Json\t;q=1"])
    func jsonMediaTypesAreRecognised(_ contentType: String) {
        #expect(RequestDecoding.isJSON(contentType))
    }

    @Test(arguments: [nil, "", "text/json", "application/jsonx", "application/x-json", "application/jso", "applicationOjson", "application\u{0F}json", "application/js on", ";application/json"] as [String?])
    func otherMediaTypesAreNot(_ contentType: String?) {
        #expect(!RequestDecoding.isJSON(contentType))
    }

    @Test func anAbsentIntegerTakesTheDefault() throws {
        let request = HTTPRequest(method: "GET", path: "/")
        #expect(try RequestDecoding.integer("limit", in: request, range: 1...10, default: 5) == 5)
    }

    @Test(arguments: ["0", "11", "1.5", "", "ten", "99999999999999999999"])
    func anIntegerOutsideItsRangeIsRefused(_ value: String) {
        let request = HTTPRequest(method: "GET", path: "/", query: [("limit", value)])
        #expect(throws: APIError.self) { try RequestDecoding.integer("limit", in: request, range: 1...10, default: 5) }
    }

    @Test func theRedirectTargetKeepsPathAndQuery() {
        let request = HTTPRequest(method: "GET", path: "/v1/inbox", query: [("after", "3"), ("pattern", "a b*")])
        #expect(request.pathAndQuery == "/v1/inbox?after=3&pattern=a%20b*")
    }
}
