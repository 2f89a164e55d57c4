/// Which history a node's data belongs to: Redis's replication ids and offsets.
///
/// `replicationID` names the current history; `offset` counts the bytes of it applied here. After a
/// failover the promoted node keeps its old id as `previousID` valid up to `previousIDEndOffset`, so
/// replicas of the old master can continue with it partially (PSYNC accepts either id).
struct ReplicationIdentity {
    var replicationID: String
    var previousID = String(repeating: "0", count: 40)
    /// Redis's `second_repl_offset`: the first offset that `previousID` does not cover (-1: none).
    var previousIDEndOffset = -1
    var offset = 0

    static func randomID() -> String {
        let digits = Array("0123456789abcdef")
        var generator = SystemRandomNumberGenerator()
        return String((0..<40).map { _ in digits[Int.random(in: 0..<16, using: &generator)] })
    }

    init(replicationID: String = Self.randomID(), offset: Int = 0) {
        self.replicationID = replicationID
        self.offset = offset
    }

    /// Whether a PSYNC for `id` starting at `requestedOffset` (its processed offset + 1) continues
    /// this node's history.
    func continues(id: String, at requestedOffset: Int) -> Bool {
        if id == replicationID { return true }
        return id == previousID && previousIDEndOffset >= 0 && requestedOffset <= previousIDEndOffset
    }

    /// A replica becomes a master (REPLICAOF NO ONE), or follows a master with a new id after
    /// `+CONTINUE <id>`: the old history stays valid up to here for others who shared it.
    mutating func startNewHistory(id: String = Self.randomID()) {
        previousID = replicationID
        previousIDEndOffset = offset + 1
        replicationID = id
    }
}
