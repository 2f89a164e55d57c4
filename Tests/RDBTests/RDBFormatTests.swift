import RDB
import Testing

@Test func writesRedis7Version() {
    #expect(RDBFormat.version == 10)
}
