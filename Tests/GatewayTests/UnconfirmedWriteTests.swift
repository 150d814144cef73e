import Testing
@testable import Gateway

/// A write whose outcome is unknown tells the client what it can safely do next.
struct UnconfirmedWriteTests {
    func request(_ method: String, _ path: String, idempotencyKey: String? = nil) -> HTTPRequest {
        HTTPRequest(method: method, path: path, headers: idempotencyKey.map { ["idempotency-key": $0] } ?? [:], body: [])
    }

    @Test func aSendWithAnIdempotencyKeyIsToldToRetryWithIt() {
        let error = APIError.unconfirmedWrite("The write was not confirmed in time", request: request("POST", "/v1/messages", idempotencyKey: "k1"))
        #expect(error.status == 503)
        #expect(error.message == "The write was not confirmed in time; it may still take effect. Retry with the same Idempotency-Key.")
    }

    @Test func aSendWithoutAnIdempotencyKeyIsWarnedThatARetryMayDeliverTwice() {
        let error = APIError.unconfirmedWrite("The write was not confirmed in time", request: request("POST", "/v1/messages"))
        #expect(error.message == """
            The write was not confirmed in time; it may still take effect. \
            A retry may deliver the message twice; send an Idempotency-Key to retry safely.
            """)
    }

    @Test(arguments: [nil, "k1"] as [String?])
    func anotherWriteIsNotToldOfAnIdempotencyKeyItCannotUse(key: String?) {
        let error = APIError.unconfirmedWrite(
            "The write was not confirmed in time", request: request("POST", "/v1/inbox/ack", idempotencyKey: key))
        #expect(error.message == "The write was not confirmed in time; it may still take effect.")
    }
}
