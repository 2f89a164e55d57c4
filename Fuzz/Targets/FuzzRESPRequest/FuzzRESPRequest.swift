import NIOCore
import RESP

/// The client request parser (RESPRequestParser) and the argument accessors of what it returns.
///
/// Input: one control byte, then the byte stream a client sends. Control bit 0 set: the client has
/// not authenticated (lower argument limits); bits 1-7: the size of the pieces the stream arrives in
/// (1...128) for the second pass. The stream is parsed twice, whole and in pieces, and both passes
/// must produce the same requests (the parser resumes across reads). For every request, the spans
/// `collectSpans` walks must match the first two the parser recorded and lie inside the frame.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRESPRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let control = data[0]
    let stream = UnsafeBufferPointer(start: data + 1, count: size - 1)
    let authenticated = control & 1 == 0
    let whole = parse(stream, pieceSize: max(stream.count, 1), authenticated: authenticated)
    let pieces = parse(stream, pieceSize: Int(control >> 1) + 1, authenticated: authenticated)
    precondition(whole.requests == pieces.requests, "the same bytes in pieces gave different requests")
    precondition(whole.failed == pieces.failed, "the same bytes in pieces gave a different error")
    return 0
}

private struct Outcome {
    var requests: [[[UInt8]]] = []
    var failed = false
}

private func parse(_ stream: UnsafeBufferPointer<UInt8>, pieceSize: Int, authenticated: Bool) -> Outcome {
    var limits = RESPLimits()
    // Small limits, so inputs of a few kilobytes reach the too-big paths.
    limits.maxInlineLength = 256
    limits.maxBulkLength = 4096
    limits.unauthenticatedMaxBulkLength = 64
    var parser = RESPRequestParser(limits: limits, authenticated: authenticated)
    var buffer = ByteBufferAllocator().buffer(capacity: 64)
    var outcome = Outcome()
    var offset = 0
    repeat {
        let end = min(offset + pieceSize, stream.count)
        buffer.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(stream)[offset..<end]))
        offset = end
        do {
            while let request = try parser.next(from: &buffer) {
                outcome.requests.append(arguments(of: request))
            }
        } catch {
            outcome.failed = true
            return outcome
        }
        // Compacting between reads is allowed: offsets are relative to the reader index.
        if offset % 3 == 0 { buffer.discardReadBytes() }
    } while offset < stream.count
    return outcome
}

private func arguments(of request: RESPRequest) -> [[UInt8]] {
    precondition(request.argumentCount > 0, "a request with no arguments")
    let spans = request.allSpans()
    precondition(spans.count == request.argumentCount, "collectSpans found \(spans.count) of \(request.argumentCount) arguments")
    let frameLength = request.frame.readableBytes
    for span in spans {
        precondition(span.offset >= 0 && span.length >= 0 && Int(span.offset) + Int(span.length) <= frameLength,
                     "an argument span outside its frame")
    }
    precondition(request.span(0) == spans[0], "collectSpans disagrees with the parser about argument 0")
    if spans.count > 1 { precondition(request.span(1) == spans[1], "collectSpans disagrees with the parser about argument 1") }
    var result: [[UInt8]] = []
    for index in 0..<request.argumentCount {
        let bytes = request.withArgument(index) { Array($0) }
        precondition(request.argumentBuffer(index).readableBytesView.elementsEqual(bytes), "argumentBuffer differs")
        result.append(bytes)
    }
    _ = request.string(0)
    return result
}
