import Config

extension NodeSettings {
    /// Applies directives in order, as Redis does when reading its config file and command line.
    /// `save` lines accumulate (the first one replaces the defaults); `save ""` clears them.
    public mutating func apply(_ directives: [RedisConfDirective]) throws(NodeConfigError) {
        var sawSave = false
        for directive in directives {
            // `user` lines declare ACL users (no CONFIG parameter): checked now, made at startup.
            if directive.name == "user" {
                guard let name = directive.arguments.first else {
                    throw NodeConfigError("\(directive.location): wrong number of arguments for 'user'")
                }
                if users.contains(where: { $0.first == name }) {
                    throw NodeConfigError(
                        "\(directive.location): Error in user declaration '\(name)': Duplicate user found. A user can only be defined once in config files")
                }
                if let failure = AccessControl.ruleError(directive.arguments) {
                    throw NodeConfigError("\(directive.location): Error in user declaration '\(name)': \(failure)")
                }
                users.append(directive.arguments)
                continue
            }
            guard let parameter = Self.parameter(named: directive.name) else {
                throw NodeConfigError("\(directive.location): unknown directive '\(directive.name)'")
            }
            var value = directive.arguments.joined(separator: " ")
            if parameter.name == "save" {
                if !sawSave { savePoints = [] }
                sawSave = true
                if value.isEmpty { savePoints = []; continue }
                value = (get("save").map { $0.isEmpty ? "" : $0 + " " } ?? "") + value
            }
            do {
                try parameter.set(&self, value)
            } catch {
                throw NodeConfigError("\(directive.location): '\(directive.name) \(value)': \(error.description)")
            }
        }
    }

    /// Reads `file` (if any) then the command-line overrides, as `redis-server file --name value` does.
    public static func load(file: String?, overrides: [String]) throws(NodeConfigError) -> NodeSettings {
        var settings = NodeSettings()
        do {
            if let file {
                guard let text = FileText.read(file) else { throw NodeConfigError("can't open config file '\(file)'") }
                try settings.apply(RedisConfFile.parse(text, file: file))
            }
            try settings.apply(RedisConfFile.parseCommandLine(overrides))
        } catch let error as RedisConfError {
            throw NodeConfigError(error.description)
        } catch let error as NodeConfigError {
            throw error
        } catch {
            throw NodeConfigError("\(error)")
        }
        return settings
    }

    /// The current value of a directive, as CONFIG GET prints it.
    func get(_ name: String) -> String? {
        Self.parameter(named: name)?.get(self)
    }
}
