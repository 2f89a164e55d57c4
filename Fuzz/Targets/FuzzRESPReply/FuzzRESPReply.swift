import NIOCore
import RESP

/// The backend reply framer (RESPReplyFramer): RESP2 and RESP3 replies of any type and nesting.
///
/// Input: one control byte (the size of the pieces the stream arrives in for the second pass,
/// 1...256), then the byte stream a backend sends. The stream is framed twice, whole and in pieces;
/// both passes must cut the same frames (the framer resumes across reads), and every frame must lie
/// inside the bytes received.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRESPReply(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let stream = UnsafeBufferPointer(start: data + 1, count: size - 1)
    let whole = frame(stream, pieceSize: max(stream.count, 1))
    let pieces = frame(stream, pieceSize: Int(data[0]) + 1)
    precondition(whole.frames == pieces.frames, "the same bytes in pieces gave different frames")
    precondition(whole.failed == pieces.failed, "the same bytes in pieces gave a different error")
    return 0
}

private struct Outcome {
    var frames: [[UInt8]] = []
    var failed = false
}

private func frame(_ stream: UnsafeBufferPointer<UInt8>, pieceSize: Int) -> Outcome {
    var framer = RESPReplyFramer()
    var buffer = ByteBufferAllocator().buffer(capacity: 64)
    var outcome = Outcome()
    var offset = 0
    repeat {
        let end = min(offset + pieceSize, stream.count)
        buffer.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(stream)[offset..<end]))
        offset = end
        do {
            while true {
                let available = buffer.readableBytes
                guard let length = try framer.nextFrameLength(in: buffer) else { break }
                precondition(length > 0 && length <= available, "a frame of \(length) bytes in \(available)")
                let frame = buffer.readSlice(length: length)!
                outcome.frames.append(Array(frame.readableBytesView))
                read(frame)
            }
        } catch {
            outcome.failed = true
            return outcome
        }
        if offset % 3 == 0 { buffer.discardReadBytes() }
    } while offset < stream.count
    return outcome
}

/// The proxy's reply reader on a framed reply: an array splits into elements that, after the
/// header, make up the whole frame.
private func read(_ frame: ByteBuffer) {
    _ = RESPReplyReader.isError(frame)
    _ = RESPReplyReader.integer(frame)
    guard let header = RESPReplyReader.arrayHeader(of: frame) else { return }
    guard let elements = RESPReplyReader.elements(of: frame) else {
        preconditionFailure("a framed array reply does not split into elements")
    }
    precondition(elements.count == max(header.count, 0), "\(elements.count) elements for a count of \(header.count)")
    precondition(header.length + elements.reduce(0) { $0 + $1.readableBytes } == frame.readableBytes,
                 "the elements do not make up the array")
}
