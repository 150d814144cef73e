/// The body of `POST /v1/messages`.
struct SendMessageBody: Encodable {
    var to: String
    var body: String
}
