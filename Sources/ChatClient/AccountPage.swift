/// One page of `GET /v1/accounts`.
public struct AccountPage: Sendable, Hashable, Codable {
    public var accounts: [Account]
    /// The cursor for the next page, or nil on the last page.
    public var next: String?

    public init(accounts: [Account], next: String?) {
        self.accounts = accounts
        self.next = next
    }
}
