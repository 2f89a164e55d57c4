/// A refused command: what was refused, and the argument (0 for the command itself).
package struct ACLDenial {
    package enum Kind: Int { case command = 1, key = 2, auth = 3, channel = 4 }
    package let kind: Kind
    package let position: Int
}
