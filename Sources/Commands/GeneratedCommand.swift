/// One row of `CommandTable+Generated.swift`, exactly as the server reported
/// it. `CommandTable` turns the rows into the lookup structures; keeping the
/// row format this dumb keeps the generated file readable and diffable.
struct GeneratedCommand: Sendable {
    let name: StaticString
    let arity: Int
    let flags: CommandFlags
    let firstKey: Int
    let lastKey: Int
    let step: Int
    let group: StaticString
    /// Byte ranges into `CommandTable.generatedReplyBytes`.
    let info: Range<Int>
    let docs: Range<Int>
    let keySpecs: [KeySpec]

    init(
        _ name: StaticString, arity: Int, flags: CommandFlags, firstKey: Int, lastKey: Int, step: Int,
        group: StaticString, info: (Int, Int), docs: (Int, Int), keySpecs: [KeySpec]
    ) {
        self.name = name
        self.arity = arity
        self.flags = flags
        self.firstKey = firstKey
        self.lastKey = lastKey
        self.step = step
        self.group = group
        self.info = info.0..<info.1
        self.docs = docs.0..<docs.1
        self.keySpecs = keySpecs
    }
}
