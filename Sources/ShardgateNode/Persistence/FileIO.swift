#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Plain POSIX file access for persistence (the node keeps Foundation out of its process paths).
enum FileIO {
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ operation: String, _ path: String) {
            description = "\(operation) '\(path)': \(String(cString: strerror(errno)))"
        }
    }

    /// The whole file, or nil when it does not exist.
    static func read(_ path: String) throws(Failure) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw Failure("open", path)
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw Failure("read", path)
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }

    /// Writes `bytes` to a temporary file, fsyncs it and renames it over `path`.
    static func writeAtomically(_ path: String, _ bytes: [UInt8]) throws(Failure) {
        let temporary = "\(path).tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure("open", temporary) }
        do throws(Failure) {
            try writeAll(fd, bytes, path: temporary)
            guard fsync(fd) == 0 else { throw Failure("fsync", temporary) }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw Failure("rename", path)
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw Failure("write", path)
            }
            offset += written
        }
    }
}
