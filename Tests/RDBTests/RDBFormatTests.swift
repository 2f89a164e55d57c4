import RDB
import Testing

@Test func writesRedis7Version() {
    #expect(RDBFormat.version == 10)
    var writer = RDBWriter()
    #expect(writer.take() == Array("REDIS0010".utf8))
}
