/// How many rows the chat state holds. The applier keeps these up to date as it applies
/// (`SizeTally`), so reading them costs no table scan; `ChatQueries.sizes(in:)` counts them
/// once, when a replica starts or installs a snapshot.
public struct ChatStateSizes: Sendable, Equatable {
    public var accounts: Int
    public var sessions: Int
    public var messages: Int

    public init(accounts: Int = 0, sessions: Int = 0, messages: Int = 0) {
        self.accounts = accounts
        self.sessions = sessions
        self.messages = messages
    }
}
