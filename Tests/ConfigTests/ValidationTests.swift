import Config
import Testing

/// Each case is an invalid file and the issues (line, key path, message fragment) it must yield.
/// Line numbers count from the first line of the YAML literal.
@Suite struct ValidationTests {
    static let native: [InvalidCase] = [
        InvalidCase(
            "routes and keyless_group name groups that exist",
            """
            main:
              listen: 127.0.0.1:6380
              keyless_group: c
              routes:
                "rq:": b
                "": a
                "celery": z
              groups:
                - name: a
                  master: 127.0.0.1:7001
                - name: b
                  master: 127.0.0.1:7002
            """, count: 3,
            ExpectedIssue(3, "main.keyless_group", "no group is named \"c\"; the groups are \"a\", \"b\""),
            ExpectedIssue(6, "main.routes.", "a route's prefix must not be empty"),
            ExpectedIssue(7, "main.routes.celery", "no group is named \"z\"")),
        InvalidCase(
            "unknown keys, with suggestions",
            """
            main:
              listen: 127.0.0.1:6380
              distrbution: ketama
              groups:
                - name: a
                  master: 127.0.0.1:7001
                  colour: blue
            """, count: 2,
            ExpectedIssue(3, "main.distrbution", "unknown key \"distrbution\" (did you mean \"distribution\"?)"),
            ExpectedIssue(7, "main.groups[0].colour", "unknown key \"colour\"")),
        InvalidCase(
            "bad ports",
            """
            main:
              listen: 127.0.0.1:70000
              groups:
                - name: a
                  master: 127.0.0.1:0
                  replicas: [127.0.0.1:x]
            """, count: 3,
            ExpectedIssue(2, "main.listen", "port must be a number between 1 and 65535, got \"70000\""),
            ExpectedIssue(5, "main.groups[0].master", "port must be a number between 1 and 65535, got \"0\""),
            ExpectedIssue(6, "main.groups[0].replicas[0]", "got \"x\" in \"127.0.0.1:x\"")),
        InvalidCase(
            "not host:port",
            """
            main:
              listen: 127.0.0.1:6380
              groups:
                - name: a
                  master: 127.0.0.1:7001
                - name: b
                  master: localhost
            """, count: 1,
            ExpectedIssue(7, "main.groups[1].master", "expected host:port, got \"localhost\"")),
        InvalidCase(
            "bad hash, distribution, read policy, hash tag",
            """
            main:
              listen: 127.0.0.1:6380
              hash: sha1
              distribution: consistent
              read_policy: nearest
              hash_tag: "{"
              groups: [{name: a, master: "h:1"}]
            other:
              listen: 127.0.0.1:6381
              hash_tag: {}
              groups: [{name: a, master: "h:1"}]
            """, count: 5,
            ExpectedIssue(3, "main.hash", "unknown hash \"sha1\"; expected one of: one_at_a_time, md5,"),
            ExpectedIssue(4, "main.distribution", "expected one of: ketama, modula, random, slots, range"),
            ExpectedIssue(5, "main.read_policy", "expected one of: master, prefer-replica, replica, any"),
            ExpectedIssue(6, "main.hash_tag", "expected exactly two characters"),
            ExpectedIssue(10, "other.hash_tag", "quote them")),
        InvalidCase(
            "wrong types",
            """
            main:
              listen: [127.0.0.1, 6380]
              timeout: fast
              preconnect: yes
              server_connections: 0
              password: 1234
              auth: [a, b]
              groups:
                - name: a
                  master: h:1
                  weight: 0
                  replicas: h:2
                - just-a-string
            """, count: 8,
            ExpectedIssue(2, "main.listen", "expected a string, got a list"),
            ExpectedIssue(3, "main.timeout", "expected an integer, got \"fast\""),
            ExpectedIssue(4, "main.preconnect", "expected true or false, got \"yes\""),
            ExpectedIssue(5, "main.server_connections", "must be greater than 0, got 0"),
            ExpectedIssue(7, "main.auth", "expected a password or {user: name, password: secret}, got a list"),
            ExpectedIssue(11, "main.groups[0].weight", "must be greater than 0, got 0"),
            ExpectedIssue(12, "main.groups[0].replicas", "expected a list of host:port, got \"h:2\""),
            ExpectedIssue(13, "main.groups[1]", "expected a group (a map with name, master, ...), got \"just-a-string\"")),
        InvalidCase(
            "timeout must be positive in native pools",
            """
            main:
              listen: 127.0.0.1:6380
              timeout: 0
              server_retry_timeout: -1
              groups: [{name: a, master: "h:1"}]
            """, count: 2,
            ExpectedIssue(3, "main.timeout", "must be greater than 0, got 0"),
            ExpectedIssue(4, "main.server_retry_timeout", "must be 0 or more, got -1")),
        InvalidCase(
            "missing name and master",
            """
            main:
              listen: 127.0.0.1:6380
              groups:
                - replicas: [127.0.0.1:7002]
                - name: b
            """, count: 3,
            ExpectedIssue(4, "main.groups[0].name", "missing required key"),
            ExpectedIssue(4, "main.groups[0].master", "missing required key"),
            ExpectedIssue(5, "main.groups[1].master", "missing required key")),
        InvalidCase(
            "duplicate group names, master listed as replica",
            """
            main:
              listen: 127.0.0.1:6380
              groups:
                - name: a
                  master: h:1
                - name: a
                  master: h:2
                  replicas: [h:2]
            """, count: 2,
            ExpectedIssue(6, "main.groups[1].name", "duplicate group name \"a\" (also main.groups[0] at line 4)"),
            ExpectedIssue(6, "main.groups[1].replicas", "h:2 is both the master and a replica")),
        InvalidCase(
            "missing listen, groups not a list",
            """
            main:
              groups: {a: b}
            """, count: 2,
            ExpectedIssue(1, "main.listen", "missing required key"),
            ExpectedIssue(2, "main.groups", "expected a list of groups, got a map")),
        InvalidCase(
            "zero groups",
            """
            empty:
              listen: 127.0.0.1:6380
              groups: []
            nogroups:
              listen: 127.0.0.1:6381
            """, count: 2,
            ExpectedIssue(3, "empty.groups", "a pool needs at least one group"),
            ExpectedIssue(4, "nogroups.groups", "missing required key: a pool needs at least one group")),
        InvalidCase(
            "duplicate listen address across pools",
            """
            one:
              listen: 127.0.0.1:6380
              groups: [{name: a, master: "h:1"}]
            two:
              listen: 127.0.0.1:6380
              groups: [{name: a, master: "h:1"}]
            """, count: 1,
            ExpectedIssue(5, "two.listen", "listen address 127.0.0.1:6380 is already used by pool \"one\" (line 2)")),
        InvalidCase(
            "auth map needs a password; twemproxy keys in a native pool",
            """
            main:
              listen: 127.0.0.1:6380
              auth: {user: proxy, pass: x}
              redis_auth: x
              redis: true
              database: 1
              redis_db: 2
              groups: [{name: a, master: "h:1"}]
            """, count: 5,
            ExpectedIssue(3, "main.auth.pass", "unknown key \"pass\""),
            ExpectedIssue(3, "main.auth.password", "missing required key"),
            ExpectedIssue(4, "main.redis_auth", "use `password` (clients' AUTH) and `auth` (backends' AUTH)"),
            ExpectedIssue(5, "main.redis", "Shardgate always speaks Redis, so remove it"),
            ExpectedIssue(7, "main.redis_db", "`database` and `redis_db` are the same setting")),
    ]

    static let slots: [InvalidCase] = [
        InvalidCase(
            "slot gap",
            """
            main:
              listen: 127.0.0.1:6380
              distribution: slots
              groups:
                - name: a
                  master: h:1
                  slots: 0-5000
                - name: b
                  master: h:2
                  slots: 5461-16383
            """, count: 1,
            ExpectedIssue(4, "main.groups", "slots 5001-5460 not assigned to any group")),
        InvalidCase(
            "slot overlap and trailing gap",
            """
            main:
              listen: 127.0.0.1:6380
              distribution: slots
              groups:
                - name: a
                  master: h:1
                  slots: 0-6000
                - name: b
                  master: h:2
                  slots: [5461-10000, 10001-16000, 16001]
            """, count: 2,
            ExpectedIssue(10, "main.groups[1].slots[0]", "slots 5461-6000 assigned to more than one group: \"a\", \"b\""),
            ExpectedIssue(4, "main.groups", "slots 16002-16383 not assigned to any group")),
        InvalidCase(
            "slot listed twice in one group",
            """
            main:
              listen: 127.0.0.1:6380
              distribution: slots
              groups:
                - name: a
                  master: h:1
                  slots: [0-16383, 7]
            """, count: 1,
            ExpectedIssue(7, "main.groups[0].slots[1]", "slot 7 listed more than once in group \"a\"")),
        InvalidCase(
            "malformed slots skip the coverage check",
            """
            main:
              listen: 127.0.0.1:6380
              distribution: slots
              groups:
                - name: a
                  master: h:1
                  slots: 0-16384
                - name: b
                  master: h:2
                  slots: [abc, 10-5, {x: 1}]
                - name: c
                  master: h:3
                  slots: []
                - name: d
                  master: h:4
            """, count: 6,
            ExpectedIssue(7, "main.groups[0].slots", "slots must be between 0 and 16383, got \"0-16384\""),
            ExpectedIssue(10, "main.groups[1].slots[0]", "expected a slot range like 0-5460 or a slot number, got \"abc\""),
            ExpectedIssue(10, "main.groups[1].slots[1]", "the range's start is after its end, got \"10-5\""),
            ExpectedIssue(10, "main.groups[1].slots[2]", "got a map"),
            ExpectedIssue(13, "main.groups[2].slots", "expected at least one slot range"),
            ExpectedIssue(14, "main.groups[3].slots", "missing: every group needs `slots` with distribution: slots")),
        InvalidCase(
            "slots and range need their distribution",
            """
            main:
              listen: 127.0.0.1:6380
              groups:
                - name: a
                  master: h:1
                  slots: 0-16383
                  range: {to: m}
            """, count: 2,
            ExpectedIssue(6, "main.groups[0].slots", "only used with distribution: slots (this pool uses ketama)"),
            ExpectedIssue(7, "main.groups[0].range", "only used with distribution: range (this pool uses ketama)")),
        InvalidCase(
            "auto_eject_hosts with slots",
            """
            main:
              listen: 127.0.0.1:6380
              distribution: slots
              auto_eject_hosts: true
              groups: [{name: a, master: "h:1", slots: 0-16383}]
            """, count: 1,
            ExpectedIssue(4, "main.auto_eject_hosts", "would rehash its keys to a different group")),
    ]

    static let ranges: [InvalidCase] = [
        InvalidCase(
            "range gap",
            """
            main:
              listen: 127.0.0.1:6380
              distribution: range
              groups:
                - name: a
                  master: h:1
                  range: {to: "m"}
                - name: b
                  master: h:2
                  range: {from: "n"}
            """, count: 1,
            ExpectedIssue(
                10, "main.groups[1].range",
                "keys from \"m\" up to \"n\" are not served by any group (group \"a\" ends at \"m\", group \"b\" starts at \"n\")")),
        InvalidCase(
            "range overlap, no open start, no open end",
            """
            main:
              listen: 127.0.0.1:6380
              distribution: range
              groups:
                - name: a
                  master: h:1
                  range: {from: "a", to: "n"}
                - name: b
                  master: h:2
                  range: {from: "m", to: "z"}
            """, count: 3,
            ExpectedIssue(7, "main.groups[0].range", "keys before \"a\" are not served by any group"),
            ExpectedIssue(10, "main.groups[1].range", "overlaps group \"a\", which runs to \"n\""),
            ExpectedIssue(10, "main.groups[1].range", "keys from \"z\" on are not served by any group")),
        InvalidCase(
            "two open starts, and a range after an open end",
            """
            main:
              listen: 127.0.0.1:6380
              distribution: range
              groups:
                - {name: a, master: "h:1", range: {to: "m"}}
                - {name: b, master: "h:2", range: {from: null, to: "m"}}
                - {name: c, master: "h:3", range: {from: "m"}}
                - {name: d, master: "h:4", range: {from: "x"}}
            """, count: 2,
            ExpectedIssue(6, "main.groups[1].range", "range from the start to \"m\" overlaps group \"a\""),
            ExpectedIssue(8, "main.groups[3].range", "overlaps group \"c\", whose range runs to the end")),
        InvalidCase(
            "empty and malformed ranges",
            """
            main:
              listen: 127.0.0.1:6380
              distribution: range
              groups:
                - {name: a, master: "h:1", range: {from: "m", to: "a"}}
                - {name: b, master: "h:2", range: {to: ""}}
                - {name: c, master: "h:3", range: "a-m"}
                - {name: d, master: "h:4", range: {from: [x], upto: z}}
                - {name: e, master: "h:5"}
            """, count: 6,
            ExpectedIssue(5, "main.groups[0].range", "empty range: from \"m\" is not before to \"a\" in byte order"),
            ExpectedIssue(6, "main.groups[1].range.to", "must not be empty"),
            ExpectedIssue(7, "main.groups[2].range", "expected a map {from: ..., to: ...}, got \"a-m\""),
            ExpectedIssue(8, "main.groups[3].range.upto", "unknown key \"upto\""),
            ExpectedIssue(8, "main.groups[3].range.from", "expected a string, got a list"),
            ExpectedIssue(9, "main.groups[4].range", "missing: every group needs `range` with distribution: range")),
    ]

    static let twemproxy: [InvalidCase] = [
        InvalidCase(
            "memcached pools",
            """
            mc:
              listen: 127.0.0.1:22121
              servers:
               - 127.0.0.1:11211:1
            mc2:
              listen: 127.0.0.1:22122
              redis: false
              servers:
               - 127.0.0.1:11211:1
            """, count: 2,
            ExpectedIssue(1, "mc.redis", "missing `redis: true`: twemproxy treats a pool without it as memcached"),
            ExpectedIssue(7, "mc2.redis", "memcached pools (redis: false) are not supported")),
        InvalidCase(
            "unix sockets",
            """
            omega:
              listen: /tmp/gamma 0666
              redis: true
              servers:
               - /tmp/redis.sock:1 local
            """, count: 2,
            ExpectedIssue(2, "omega.listen", "unix domain sockets are not supported yet, got \"/tmp/gamma 0666\""),
            ExpectedIssue(5, "omega.servers[0]", "unix domain socket servers are not supported yet")),
        InvalidCase(
            "bad server lines",
            """
            beta:
              listen: 127.0.0.1:22122
              redis: true
              servers:
               - 127.0.0.1:6380
               - 127.0.0.1:6381:0
               - 127.0.0.1:6382:x server2
               - 127.0.0.1:99999:1
               - 127.0.0.1:6384:1 two words
            """, count: 5,
            ExpectedIssue(5, "beta.servers[0]", "expected \"host:port:weight [name]\", got \"127.0.0.1:6380\""),
            ExpectedIssue(6, "beta.servers[1]", "weight must be greater than 0"),
            ExpectedIssue(7, "beta.servers[2]", "weight must be a positive integer, got \"x\""),
            ExpectedIssue(8, "beta.servers[3]", "port must be a number between 1 and 65535, got \"99999\""),
            ExpectedIssue(9, "beta.servers[4]", "weight must be a positive integer, got \"1 two\"")),
        InvalidCase(
            "duplicate ketama names",
            """
            beta:
              listen: 127.0.0.1:22122
              redis: true
              servers:
               - 127.0.0.1:6380:1 server1
               - 127.0.0.1:6381:1 server1
               - 10.0.0.1:11211:1
               - 10.0.0.1:11211:2
               - 10.0.0.2:11211:1 10.0.0.1
            """, count: 3,
            ExpectedIssue(6, "beta.servers[1]", "duplicate server name \"server1\" (also beta.servers[0] at line 5)"),
            ExpectedIssue(8, "beta.servers[3]", "duplicate server name \"10.0.0.1\" (also beta.servers[2] at line 7)"),
            ExpectedIssue(9, "beta.servers[4]", "duplicate server name \"10.0.0.1\"")),
        InvalidCase(
            "Shardgate keys in a twemproxy pool, and twemproxy limits",
            """
            beta:
              listen: 127.0.0.1:22122
              redis: true
              distribution: slots
              read_policy: replica
              database: 1
              server_connections: 0
              timeout: -1
              servers: []
            """, count: 6,
            ExpectedIssue(4, "beta.distribution", "twemproxy pools (with `servers:`) support ketama, modula and random"),
            ExpectedIssue(5, "beta.read_policy", "\"read_policy\" is a Shardgate key, but this is a twemproxy pool"),
            ExpectedIssue(6, "beta.database", "is a Shardgate key"),
            ExpectedIssue(7, "beta.server_connections", "must be greater than 0, got 0"),
            ExpectedIssue(8, "beta.timeout", "must be 0 or more, got -1"),
            ExpectedIssue(9, "beta.servers", "a pool needs at least one server")),
        InvalidCase(
            "groups and servers together",
            """
            both:
              listen: 127.0.0.1:22122
              servers:
               - 127.0.0.1:6380:1
              groups: [{name: a, master: "h:1"}]
            """, count: 1,
            ExpectedIssue(3, "both.servers", "either Shardgate `groups:` or twemproxy `servers:`, not both")),
    ]

    static let document: [InvalidCase] = [
        InvalidCase(
            "top level not a map",
            """
            - main
            - other
            """, count: 1,
            ExpectedIssue(1, "", "expected a map of pool name -> pool settings at the top level, got a list")),
        InvalidCase(
            "pool not a map",
            """
            main: 127.0.0.1:6380
            """, count: 1,
            ExpectedIssue(1, "main", "expected a map of pool settings, got \"127.0.0.1:6380\"")),
        InvalidCase(
            "YAML syntax error",
            """
            main:
              listen: 127.0.0.1:6380
              groups: [{name: a, master: "h:1"}
            """, count: 1,
            ExpectedIssue(4, "", "invalid YAML")),
        InvalidCase(
            "duplicate key",
            """
            main:
              listen: 127.0.0.1:6380
              groups: [{name: a, master: "h:1"}]
              listen: 127.0.0.1:6381
            """, count: 1,
            ExpectedIssue(4, "listen", "duplicate key \"listen\" (in the map starting at line 2)")),
    ]

    @Test(arguments: native) func nativeErrors(_ testCase: InvalidCase) { expectIssues(testCase) }
    @Test(arguments: slots) func slotErrors(_ testCase: InvalidCase) { expectIssues(testCase) }
    @Test(arguments: ranges) func rangeErrors(_ testCase: InvalidCase) { expectIssues(testCase) }
    @Test(arguments: twemproxy) func twemproxyErrors(_ testCase: InvalidCase) { expectIssues(testCase) }
    @Test(arguments: document) func documentErrors(_ testCase: InvalidCase) { expectIssues(testCase) }

    @Test(arguments: ["", "# nothing but a comment\n", "---\n"])
    func emptyFile(_ yaml: String) {
        let issues = parseIssues(yaml)
        #expect(issues.count == 1)
        #expect(issues.first?.description == "proxy.yml: the file is empty; expected a map of pool name -> pool settings")
    }

    @Test func issueFormatMatchesTheBrief() {
        let issues = parseIssues(
            """
            main:
              listen: 127.0.0.1:6380
              groups:
                - name: a
                  master: 127.0.0.1:7001
                - name: b
                  master: localhost
            """, file: "proxy.yml")
        #expect(issues.map(\.description) == ["proxy.yml:7: main.groups[1].master: expected host:port, got \"localhost\""])
        let error = ConfigError(issues: issues + issues)
        #expect(error.description == issues.map(\.description).joined(separator: "\n") + "\n" + issues[0].description)
    }

    @Test func collectsErrorsFromEveryPool() {
        let issues = parseIssues(
            """
            a:
              listen: nope
              groups: [{name: x, master: "h:1"}]
            b:
              listen: 127.0.0.1:2
              hash: nope
              groups: [{name: x, master: "h:0"}]
            c:
              listen: 127.0.0.1:3
              redis: true
              servers: [bad]
            """)
        #expect(issues.map(\.keyPath) == ["a.listen", "b.hash", "b.groups[0].master", "c.servers[0]"])
        #expect(issues.map(\.line) == [2, 6, 7, 11])
    }
}
