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

    /// Decodes `json` as a send's body, and returns the error it was refused with.
    static func refusal<Body: Decodable>(_ json: String, as type: Body.Type = RequestBodies.Acknowledge.self) -> APIError? {
        let request = HTTPRequest(
            method: "POST", path: "/", headers: ["content-type": "application/json"], body: Array(json.utf8))
        do {
            _ = try RequestDecoding.body(type, from: request)
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: [#"{"up_to":1,"up_to":2}"#, #"{"up_to":1, "up\u005fto" : 2}"#, #"{"up_to":1,"x":{"a":1,"a":2}}"#])
    func aNameGivenTwiceInOneObjectIsRefused(_ json: String) throws {
        let refusal = try #require(Self.refusal(json), "\(json) was accepted")
        #expect(refusal.code == "invalid_json")
        #expect(refusal.message.contains("appears twice"), "\(refusal.message)")
    }

    @Test(arguments: [#"{"up_to":1,"x":{"up_to":2},"y":[{"a":1},{"a":2}]}"#, #"{"up_to":1,"x":"\"up_to\""}"#])
    func aNameRepeatedOnlyInOtherObjectsOrValuesIsAccepted(_ json: String) {
        #expect(Self.refusal(json) == nil, "\(json) was refused: \(Self.refusal(json)?.message ?? "")")
    }

    /// Found by probing: `null` was "The field \"\" has the wrong type." (invalid_request).
    @Test(arguments: ["null", "[1]", #""x""#, "7"])
    func aBodyThatIsNotAnObjectIsSaidToBeOne(_ json: String) throws {
        let refusal = try #require(Self.refusal(json), "\(json) was accepted")
        #expect(refusal.code == "invalid_json", "\(json): \(refusal.code)")
        #expect(refusal.message == "The body must be a JSON object.", "\(json): \(refusal.message)")
    }

    @Test(arguments: [#"{"to":"bob","body":"\ud800"}"#, #"{"to":"bob","body":"\uDFFFa"}"#])
    func anUnpairedSurrogateIsNamed(_ json: String) throws {
        let refusal = try #require(Self.refusal(json, as: RequestBodies.Send.self), "\(json) was accepted")
        #expect(refusal.code == "invalid_json")
        #expect(refusal.message.contains("unpaired surrogate"), "\(json): \(refusal.message)")
    }

    @Test(arguments: [#"{"x":"\ud83d\ude00"}"#, #"{"x":"\\ud800"}"#, #"{"x":"\u00e9"}"#, #"{"x":"\ud83d\uDE00\n"}"#])
    func pairedSurrogatesAndEscapedBackslashesAreNotUnpairedSurrogates(_ json: String) {
        #expect(!RequestDecoding.holdsAnUnpairedSurrogate(Array(json.utf8)), "\(json)")
    }

    @Test(arguments: [#"{"x":"\ud800"}"#, #"{"x":"\udc00"}"#, #"{"x":"\ud83d\ud83d\ude00"}"#, #"{"x":"\ud83dx"}"#, #"{"x":"\\\ud800"}"#])
    func unpairedSurrogatesAreFound(_ json: String) {
        #expect(RequestDecoding.holdsAnUnpairedSurrogate(Array(json.utf8)), "\(json)")
    }

    @Test func malformedJSONWithoutSurrogatesIsCalledMalformed() throws {
        let refusal = try #require(Self.refusal(#"{"up_to":1,"x":"\u00e9" "#))
        #expect(refusal.message == "The body is not well-formed JSON.", "\(refusal.message)")
    }

    @Test(arguments: [#"{"up_to":1.5}"#, #"{"up_to":1e30}"#, #"{"up_to":99999999999999999999}"#])
    func aNumberItsIntegerFieldCannotHoldIsNamedNotCalledMalformed(_ json: String) throws {
        let refusal = try #require(Self.refusal(json), "\(json) was accepted")
        #expect(refusal.code == "invalid_request", "\(json): \(refusal.message)")
        #expect(refusal.message.contains("\"up_to\""), "\(refusal.message)")
    }

    @Test func aBodyThatIsNotJSONIsStillCalledMalformed() throws {
        let refusal = try #require(Self.refusal(#"{"up_to":1"#))
        #expect(refusal.code == "invalid_json")
    }

    @Test func theRedirectTargetKeepsPathAndQuery() {
        let request = HTTPRequest(method: "GET", path: "/v1/inbox", query: [("after", "3"), ("pattern", "a b*")])
        #expect(request.pathAndQuery == "/v1/inbox?after=3&pattern=a%20b*")
    }

    /// Found by hand: a forwarded `DELETE /v1/accounts/x%3Fy` reached the leader as
    /// `DELETE /v1/accounts/x?y`, and the access log printed a decoded line break as is.
    @Test(arguments: [
        ("/v1/accounts/alice.b-2_~", "/v1/accounts/alice.b-2_~"), ("/v1/accounts/x?y", "/v1/accounts/x%3Fy"),
        ("/v1/accounts/x#y", "/v1/accounts/x%23y"), ("/v1/accounts/x y", "/v1/accounts/x%20y"),
        ("/v1/accounts/x\ny", "/v1/accounts/x%0Ay"), ("/v1/accounts/x%y", "/v1/accounts/x%25y"),
        ("/v1/accounts/café", "/v1/accounts/caf%C3%A9"),
    ])
    func theRedirectTargetEncodesThePathAgain(_ path: String, _ target: String) {
        #expect(HTTPRequest(method: "DELETE", path: path).pathAndQuery == target)
    }
}
