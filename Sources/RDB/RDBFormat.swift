/// Redis's RDB persistence format (version 10, as written by Redis 7.0).
public enum RDBFormat {
    /// The RDB version this module writes.
    public static let version = 10
}
