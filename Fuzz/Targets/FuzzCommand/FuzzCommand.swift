import FuzzNodeSupport
import NIOCore
import RESP

/// The data node's command layer in-process: dispatch, arity and admission checks, and every
/// command handler over every value type and encoding, with whatever arguments.
///
/// Input: requests as a client sends them (RESP multibulk or inline lines), run in order on one
/// client against an empty keyspace. Commands that would stop, fork, sleep, write files or
/// connect out are skipped (see `skipped`), and so are offsets and counts that are legal but make
/// the node allocate hundreds of megabytes (Redis does the same; a fuzzer reports it as an OOM).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCommand(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var buffer = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size))
    var parser = RESPRequestParser()
    var requests: [RESPRequest] = []
    while let request = try? parser.next(from: &buffer), requests.count < 64 {
        if skipped(request) { return -1 }
        requests.append(request)
    }
    node.run(requests)
    return 0
}

nonisolated(unsafe) private let node = FuzzNode()
