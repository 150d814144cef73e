import GRDB
@testable import Gateway
import ReplicaCore

extension ChatDatabase {
    /// Applies `commands` in one transaction, recording `appliedIndex` with them, as the
    /// replica's driver does for a batch of committed entries.
    func apply(_ commands: [ChatCommand], appliedIndex: Int64? = nil) throws -> [ChatResult] {
        let machine = ChatStateMachine()
        return try write { db in
            let results = try TransactionChatStore.applying(over: SQLiteChatStore(db: db)) { store in
                try commands.map { try machine.apply($0, to: store) }
            }
            if let appliedIndex {
                try ReplicaStateTable.set(.appliedIndex, to: appliedIndex, in: db)
            }
            return results
        }
    }
}
