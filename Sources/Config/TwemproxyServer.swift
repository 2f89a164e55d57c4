/// A nutcracker.yml `servers:` line, `host:port:weight [name]`, split the way twemproxy 0.5.0's
/// `conf_add_server` splits it (from the end: last space, then last colon twice).
struct TwemproxyServer: Equatable {
    var hostText: String
    var portText: String
    var port: Int
    var weight: Int
    /// The optional trailing name.
    var name: String?

    /// What twemproxy feeds to ketama for this server: the name when given; otherwise `host:port`
    /// exactly as written, except that a port of 11211 is left out (libmemcached compatibility),
    /// so the hash name is then just `host`.
    var hashName: String {
        if let name { return name }
        return port == 11211 ? hostText : "\(hostText):\(portText)"
    }

    /// Display name: the name when given, otherwise `host:port` as written.
    var displayName: String {
        name ?? "\(hostText):\(portText)"
    }

    enum Problem: Error, Equatable {
        case unixSocket
        case malformed
        case badWeight(String)
        case zeroWeight
        case badPort(String)
        case emptyName

        var message: String {
            switch self {
            case .unixSocket:
                "unix domain socket servers are not supported yet; use host:port:weight [name]"
            case .malformed:
                "expected \"host:port:weight [name]\""
            case .badWeight(let text):
                "weight must be a positive integer, got \(quote(text))"
            case .zeroWeight:
                "weight must be greater than 0, got 0"
            case .badPort(let text):
                "port must be a number between 1 and 65535, got \(quote(text))"
            case .emptyName:
                "the server name after the space is empty"
            }
        }
    }

    static func parse(_ text: String) -> Result<TwemproxyServer, Problem> {
        if text.hasPrefix("/") { return .failure(.unixSocket) }
        var rest = Substring(text)
        var name: String?
        if let space = rest.lastIndex(of: " ") {
            name = String(rest[rest.index(after: space)...])
            rest = rest[..<space]
            if name!.isEmpty { return .failure(.emptyName) }
        }
        guard let weightColon = rest.lastIndex(of: ":") else { return .failure(.malformed) }
        let weightText = rest[rest.index(after: weightColon)...]
        rest = rest[..<weightColon]
        guard let portColon = rest.lastIndex(of: ":") else { return .failure(.malformed) }
        let portText = rest[rest.index(after: portColon)...]
        let hostText = rest[..<portColon]
        guard !hostText.isEmpty, !hostText.contains(" ") else { return .failure(.malformed) }

        guard !weightText.isEmpty, weightText.count <= 9,
            weightText.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let weight = Int(weightText)
        else { return .failure(.badWeight(String(weightText))) }
        if weight == 0 { return .failure(.zeroWeight) }
        guard let port = Endpoint.parsePort(portText) else { return .failure(.badPort(String(portText))) }
        return .success(
            TwemproxyServer(
                hostText: String(hostText), portText: String(portText), port: port, weight: weight, name: name))
    }

    var endpoint: Endpoint {
        var host = hostText
        if host.hasPrefix("[") && host.hasSuffix("]") && host.count >= 2 {
            host = String(host.dropFirst().dropLast())
        }
        return Endpoint(host: host, port: port)
    }
}
