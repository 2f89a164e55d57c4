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
        init(message: String) { description = message }
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
        var info = stat()
        if fstat(fd, &info) == 0 && info.st_size > 0 { bytes.reserveCapacity(Int(info.st_size)) }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
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
        guard systemRename(temporary, path) == 0 else {
            unlink(temporary)
            throw Failure("rename", path)
        }
        syncDirectory(of: path)
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(Failure) {
        var failure: Failure?
        bytes.withUnsafeBytes { raw in
            do throws(Failure) { try writeAll(fd, raw, path: path) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let written = systemWrite(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw Failure("write", path)
            }
            offset += written
        }
    }

    /// One write(2): bytes written, or -1 with errno set.
    static func writeOnce(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int {
        guard let base = bytes.baseAddress else { return 0 }
        return systemWrite(fd, base, bytes.count)
    }

    /// Creates (truncating) a file for writing.
    static func create(_ path: String) throws(Failure) -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure("open", path) }
        return fd
    }

    /// Opens (creating if needed) a file for appending.
    static func openForAppend(_ path: String) throws(Failure) -> Int32 {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure("open", path) }
        return fd
    }

    static func sync(_ fd: Int32, path: String) throws(Failure) {
        #if canImport(Glibc)
        guard fdatasync(fd) == 0 else { throw Failure("fsync", path) }
        #else
        guard fsync(fd) == 0 else { throw Failure("fsync", path) }
        #endif
    }

    static func rename(_ from: String, to: String) throws(Failure) {
        guard systemRename(from, to) == 0 else { throw Failure("rename '\(from)' to", to) }
    }

    static func remove(_ path: String) { unlink(path) }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Size in bytes, 0 when the file is missing.
    static func size(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }

    static func truncate(_ path: String, to length: Int) throws(Failure) {
        guard systemTruncate(path, off_t(length)) == 0 else { throw Failure("truncate", path) }
    }

    /// Creates a directory when it does not exist yet.
    static func makeDirectory(_ path: String) throws(Failure) {
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw Failure("mkdir", path) }
    }

    /// fsyncs the directory holding `path`, so a rename in it survives a power loss.
    static func syncDirectory(of path: String) {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let fd = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }
}

// The POSIX functions under names that do not collide with FileIO's own.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.read(fd, buffer, count)
    #else
    Darwin.read(fd, buffer, count)
    #endif
}

private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(fd, buffer, count)
    #else
    Darwin.write(fd, buffer, count)
    #endif
}

private func systemRename(_ from: String, _ to: String) -> Int32 {
    #if canImport(Glibc)
    Glibc.rename(from, to)
    #else
    Darwin.rename(from, to)
    #endif
}

private func systemTruncate(_ path: String, _ length: off_t) -> Int32 {
    #if canImport(Glibc)
    Glibc.truncate(path, length)
    #else
    Darwin.truncate(path, length)
    #endif
}
