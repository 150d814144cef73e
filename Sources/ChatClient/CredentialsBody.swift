/// The body of `POST /v1/accounts` and `POST /v1/sessions`.
struct CredentialsBody: Encodable {
    var username: String
    var password: String
}
