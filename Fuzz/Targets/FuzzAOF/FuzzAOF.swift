import FuzzNodeSupport
import NIOCore
import RESP

/// The append-only file loader: the manifest parser, and replaying an AOF (RDB preamble, `#TS:`
/// annotations, MULTI/EXEC blocks, a command cut short at the end) through the node's command
/// handlers, as at startup.
///
/// Input: one selector byte (even: replay, odd: manifest), then the file. Files holding commands
/// the command target skips (see `skipped`) are skipped here too.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAOF(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let file = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    if data[0] & 1 == 1 {
        FuzzNode.parseManifest(String(decoding: file, as: UTF8.self))
        return 0
    }
    if containsSkippedCommand(file) { return -1 }
    node.replayAOF(file)
    return 0
}

nonisolated(unsafe) private let node = FuzzNode()

/// Scans the commands after the RDB preamble (if any) the way the loader will.
private func containsSkippedCommand(_ file: [UInt8]) -> Bool {
    var start = 0
    if file.starts(with: Array("REDIS".utf8)) {
        // Without parsing the RDB: look at every `*` that could start the command part.
        return file.indices.contains { index in
            file[index] == UInt8(ascii: "*") && firstCommandSkipped(Array(file[index...]))
        }
    }
    while start < file.count, file[start] == UInt8(ascii: "#") {
        start = (file[start...].firstIndex(of: UInt8(ascii: "\n")) ?? file.count - 1) + 1
    }
    return anyCommandSkipped(Array(file[start...]))
}

private func firstCommandSkipped(_ bytes: [UInt8]) -> Bool {
    var buffer = ByteBuffer(bytes: bytes)
    var parser = RESPRequestParser()
    guard let request = try? parser.next(from: &buffer) else { return false }
    return skipped(request)
}

private func anyCommandSkipped(_ bytes: [UInt8]) -> Bool {
    var buffer = ByteBuffer(bytes: bytes)
    var parser = RESPRequestParser()
    while buffer.readableBytes > 0 {
        if buffer.readableBytesView.first == UInt8(ascii: "#") {
            guard let end = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else { return false }
            buffer.moveReaderIndex(to: end + 1)
            continue
        }
        guard let request = try? parser.next(from: &buffer) else { return false }
        if skipped(request) { return true }
    }
    return false
}
