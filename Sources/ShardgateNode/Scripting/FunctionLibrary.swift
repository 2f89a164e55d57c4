/// A library of functions (FUNCTION LOAD): its code and what it registered.
struct FunctionLibrary {
    let name: String
    let code: [UInt8]
    var functions: [String: Function] = [:]

    struct Function {
        let name: String
        let description: String?
        let flags: ScriptFlags
    }
}
