/// `client-output-buffer-limit`: per client class, how many bytes of unsent replies a client may
/// hold before it is disconnected (Redis 7.0's syntax, defaults and semantics).
///
/// A class has a hard limit (reached: the client is closed at once) and a soft limit with a time
/// (the client is closed once it has stayed at or above the soft limit for more than that many
/// seconds); 0 disables a limit. The default leaves normal clients unlimited, as Redis does.
public struct ClientOutputBufferLimits: Sendable, Equatable {
    public struct Limit: Sendable, Equatable {
        public var hardBytes: Int
        public var softBytes: Int
        public var softSeconds: Int
        public init(hardBytes: Int, softBytes: Int, softSeconds: Int) {
            self.hardBytes = hardBytes
            self.softBytes = softBytes
            self.softSeconds = softSeconds
        }
        public var isUnlimited: Bool { hardBytes == 0 && softBytes == 0 }
    }

    /// The client classes, in the order CONFIG GET prints them.
    public enum Class: Int, Sendable, CaseIterable {
        case normal, replica, pubsub
        /// The name CONFIG GET prints (Redis 7.0 still prints `slave`).
        var name: String {
            switch self {
            case .normal: "normal"
            case .replica: "slave"
            case .pubsub: "pubsub"
            }
        }
        /// `normal`, `slave`, `replica`, `pubsub`, case-insensitive; `master` is not a limit class.
        init?(named text: Substring) {
            switch text.lowercased() {
            case "normal": self = .normal
            case "slave", "replica": self = .replica
            case "pubsub": self = .pubsub
            default: return nil
            }
        }
    }

    public var limits: [Limit] = [
        Limit(hardBytes: 0, softBytes: 0, softSeconds: 0),
        Limit(hardBytes: 256 << 20, softBytes: 64 << 20, softSeconds: 60),
        Limit(hardBytes: 32 << 20, softBytes: 8 << 20, softSeconds: 60),
    ]

    public init() {}

    public subscript(_ kind: Class) -> Limit {
        get { limits[kind.rawValue] }
        set { limits[kind.rawValue] = newValue }
    }

    /// `normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60`.
    public var description: String {
        Class.allCases.map { kind in
            let limit = self[kind]
            return "\(kind.name) \(limit.hardBytes) \(limit.softBytes) \(limit.softSeconds)"
        }.joined(separator: " ")
    }

    /// Applies `<class> <hard> <soft> <soft seconds>` groups; classes not named keep their limits.
    /// Nothing changes unless every group is valid. Error texts are Redis 7.0's.
    public mutating func apply(_ text: String) throws(NodeConfigError) {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count % 4 == 0 else {
            throw NodeConfigError("Wrong number of arguments in buffer limit configuration.")
        }
        var updated = self
        for start in stride(from: 0, to: fields.count, by: 4) {
            guard let kind = Class(named: fields[start]) else {
                throw NodeConfigError("Invalid client class specified in buffer limit configuration.")
            }
            guard let hard = NodeSettings.parseMemory(String(fields[start + 1])).map({ Int(clamping: $0) }),
                let soft = NodeSettings.parseMemory(String(fields[start + 2])).map({ Int(clamping: $0) }),
                let seconds = Int(fields[start + 3]), seconds >= 0
            else {
                throw NodeConfigError("Error in hard, soft or soft_seconds setting in buffer limit configuration.")
            }
            updated[kind] = Limit(hardBytes: hard, softBytes: soft, softSeconds: seconds)
        }
        self = updated
    }
}
