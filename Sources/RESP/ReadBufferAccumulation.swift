import NIOCore

extension ByteBuffer {
    /// Appends `incoming` to a connection's read buffer.
    ///
    /// Requests and replies are sliced off the read buffer without copying, so its storage is often
    /// still shared with frames in flight when more bytes arrive; appending then makes ByteBuffer copy
    /// the whole storage, consumed bytes included, while the frames keep the old one alive (twice the
    /// memory, and more each time). Once enough bytes have been consumed, the unread rest is moved to a
    /// buffer of its own first: only a partial frame is copied, at most once per frame, and consumed
    /// bytes are released as soon as the frames sliced from them are. Below the threshold the buffer
    /// is appended to in place, as before (no allocation per read on the pipelining hot path).
    @inlinable
    public mutating func appendReceived(_ incoming: inout ByteBuffer, allocator: ByteBufferAllocator) {
        if readerIndex >= 64 * 1024 {
            var fresh = allocator.buffer(capacity: readableBytes + incoming.readableBytes)
            fresh.writeImmutableBuffer(self)
            self = fresh
        }
        writeBuffer(&incoming)
    }
}

extension Optional where Wrapped == ByteBuffer {
    /// Adds bytes read from a channel to its read buffer: the first read becomes the buffer, later
    /// ones are appended with `appendReceived`.
    @inlinable
    public mutating func accumulate(_ incoming: inout ByteBuffer, allocator: ByteBufferAllocator) {
        if self == nil {
            self = incoming
        } else {
            self!.appendReceived(&incoming, allocator: allocator)
        }
    }
}
