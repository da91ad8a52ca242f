/// Sizes the replication protocol depends on, in one place: the store refuses a write whose
/// audit entry could not travel, so no batch or copy page is ever too big to send.
public enum ReplicationLimits {
    /// The largest replication message a peer accepts (WebSocket, reassembled).
    public static let maxMessageBytes = 64 << 20
    /// The largest audit entry a write may produce (the records after the write; peers are
    /// sent entries without before-images): with a batch's framing it fits one message. A
    /// write over it is refused with 413, and a stored record over it is named, not copied.
    public static let maxEntryBytes = 48 << 20
}
