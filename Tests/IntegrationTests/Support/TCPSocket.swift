import Foundation

/// One row of /proc/net/tcp: an IPv4 socket's ports, state and active timer.
struct TCPSocket: CustomStringConvertible {
    var localPort: Int
    var remotePort: Int
    /// `01` is ESTABLISHED.
    var state: Int
    /// 0 none, 1 retransmit, 2 keepalive, 3 TIME_WAIT, 4 zero-window probe.
    var timer: Int

    var description: String { "\(localPort)->\(remotePort) state \(state) timer \(timer)" }

    static func all() throws -> [TCPSocket] {
        // Read to the end: procfs has no size, and String(contentsOfFile:) stops after one page.
        guard let handle = FileHandle(forReadingAtPath: "/proc/net/tcp") else {
            throw TestFailure("cannot open /proc/net/tcp")
        }
        defer { try? handle.close() }
        let text = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count > 5, let local = fields[1].split(separator: ":").last,
                let remote = fields[2].split(separator: ":").last,
                let timer = fields[5].split(separator: ":").first
            else { return nil }
            guard let localPort = Int(local, radix: 16), let remotePort = Int(remote, radix: 16),
                let state = Int(fields[3], radix: 16), let timerValue = Int(timer, radix: 16)
            else { return nil }
            return TCPSocket(localPort: localPort, remotePort: remotePort, state: state, timer: timerValue)
        }
    }
}
