/// Redis closes, without a reply, a connection whose command is `POST` or `Host:`: an HTTP request
/// sent to a Redis port (cross-protocol scripting from a browser) must not get to run its lines.
public enum CrossProtocolGuard {
    /// True for the command names Redis treats as an HTTP request (any letter case).
    public static func isHTTPLine(_ name: String) -> Bool {
        let lowered = name.lowercased()
        return lowered == "post" || lowered == "host:"
    }
}
