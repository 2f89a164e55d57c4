import Commands

/// A library of functions (FUNCTION LOAD): its code and what it registered.
struct FunctionLibrary {
    let name: String
    let code: [UInt8]
    var functions: [String: Function] = [:]

    /// The function of that name, compared without ASCII case as Redis's function dictionary does.
    func function(named name: String) -> Function? {
        if let function = functions[name] { return function }
        return functions.first { $0.key.utf8.elementsEqual(name.utf8) { ASCII.lower($0) == ASCII.lower($1) } }?.value
    }

    struct Function {
        let name: String
        let description: String?
        let flags: ScriptFlags
    }
}
