import ACL
import Commands
import Testing

/// What the ACL module gives both the node and the proxy: user lines, ACL DRYRUN's answer, and the
/// category test the proxy's own admin command uses.
@Suite struct ACLLineTests {
    @Test func linesSplitAtSpacesAndTabs() {
        #expect(ACLRules.words(ofLine: "app  on\t>pw ~a:*") == ["app", "on", ">pw", "~a:*"])
        #expect(ACLRules.words(ofLine: "   ").isEmpty)
    }

    @Test func aLineMakesTheUserOrNamesTheRuleItRefuses() throws {
        let user = try ACLUser.make(line: ["app", "on", ">pw", "~app:*", "+get", "(~b:* +set)"])
        #expect(user.name == "app" && user.enabled && user.selectors.count == 1)
        #expect(user.accepts(password: Array("pw".utf8)) && !user.accepts(password: Array("no".utf8)))
        #expect(throws: ACLLineError.self) { try ACLUser.make(line: []) }
        do {
            _ = try ACLUser.make(line: ["app", "on", "+nosuch"])
            Issue.record("accepted +nosuch")
        } catch {
            #expect(error.rule == "+nosuch" && error.message == "Unknown command or category name in ACL")
        }
        do {
            _ = try ACLUser.make(line: ["app", "(~x", "+get"])
            Issue.record("accepted an unclosed selector")
        } catch {
            #expect(error.rule == nil && error.message == "Unmatched parenthesis in acl selector starting at '(~x'.")
        }
        // `reset` first, as Redis makes its `user default` line.
        let reset = try ACLUser.make(line: ["default", "on", "nopass", "~*", "+@all"], reset: true)
        #expect(reset.description == "on nopass sanitize-payload ~* resetchannels +@all")
    }

    @Test func dryrunAnswersAsRedis() throws {
        let user = try ACLUser.make(line: ["app", "on", "nopass", "~app:*", "+@read"])
        func dryrun(_ words: String...) -> ACLDryrun {
            ACLDryrun(user: user, named: "app", ACLArguments(words.map { Array($0.utf8) }))
        }
        #expect(dryrun("GET", "app:1") == .allowed)
        #expect(dryrun("GET", "other") == .denied("This user has no permissions to access the 'other' key"))
        #expect(dryrun("SET", "app:1", "v") == .denied("This user has no permissions to run the 'set' command"))
        #expect(dryrun("GET") == .error(RedisErrors.wrongArity("get")))
        #expect(dryrun("NOSUCH") == .error("ERR Command 'NOSUCH' not found"))
        #expect(ACLDryrun(user: nil, named: "x", ACLArguments([Array("GET".utf8)])) == .error("ERR User 'x' not found"))
    }

    @Test func everyCommandOfACategory() throws {
        let admin = try #require(ACLCategory.bit("admin"))
        #expect(try ACLUser.make(line: ["a", "+@all"]).allowsEvery(category: admin))
        #expect(try ACLUser.make(line: ["a", "+@admin"]).allowsEvery(category: admin))
        #expect(try !ACLUser.make(line: ["a", "+@admin", "-config|set"]).allowsEvery(category: admin))
        #expect(try ACLUser.make(line: ["a", "+get", "(+@admin)"]).allowsEvery(category: admin), "a selector counts")
        #expect(try !ACLUser.make(line: ["a", "+@read"]).allowsEvery(category: admin))
    }

    @Test func generatedPasswords() {
        #expect(ACLPasswords.generate(bits: nil)?.count == 64)
        #expect(ACLPasswords.generate(bits: "5")?.count == 2)
        #expect(ACLPasswords.generate(bits: "0") == nil && ACLPasswords.generate(bits: "4097") == nil)
        #expect(ACLPasswords.generate(bits: nil) != ACLPasswords.generate(bits: nil))
    }
}
