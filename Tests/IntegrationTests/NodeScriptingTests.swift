import Foundation
import Testing

/// Lua scripting (EVAL, SCRIPT) and functions (FUNCTION, FCALL) on the node against redis-server
/// 7.0: the same scripts give the same replies byte for byte (errors, which name the script's SHA1
/// and line, included), the same AOF (a script's writes as the commands it ran, inside MULTI/EXEC),
/// and reach a real replica; real client code (redis-py's register_script and Lock) runs on it.
@Suite(.serialized, .enabled(if: TestEnvironment.canRun("redis-server")))
struct NodeScriptingTests {
    static let conversions: [[String]] = [
        ["EVAL", "return 'hello'", "0"],
        ["EVAL", "return 100.5", "0"],
        ["EVAL", "return -3.99", "0"],
        ["EVAL", "return true", "0"],
        ["EVAL", "return false", "0"],
        ["EVAL", "return nil", "0"],
        ["EVAL", "return {1,2,3,'ciao',{1,2}}", "0"],
        ["EVAL", "return {1,2,nil,4}", "0"],
        ["EVAL", "return {}", "0"],
        ["EVAL", "return _G", "0"],
        ["EVAL", "return {ok='fine'}", "0"],
        ["EVAL", "return {err='My Error'}", "0"],
        ["EVAL", "return redis.status_reply('x')", "0"],
        ["EVAL", "return redis.error_reply('x')", "0"],
        ["EVAL", "return redis.error_reply('-My x')", "0"],
        ["EVAL", "return {KEYS[1],KEYS[2],ARGV[1],ARGV[2]}", "2", "a", "b", "c", "d"],
        ["EVAL", "return #KEYS + #ARGV", "1", "k"],
        ["SET", "mykey", "myval"],
        ["EVAL", "return redis.call('get', KEYS[1])", "1", "mykey"],
        ["EVAL", "return redis.call('get', 'nokey')", "0"],
        ["EVAL", "return type(redis.call('get', 'nokey'))", "0"],
        ["EVAL", "return redis.call('incr', 'counter')", "0"],
        ["EVAL", "local t = redis.call('ping'); return t['ok']", "0"],
        ["EVAL", "return redis.call('ping')", "0"],
        ["RPUSH", "list", "a", "b", "c"],
        ["EVAL", "return redis.call('lrange', 'list', 0, -1)", "0"],
        ["EVAL", "return redis.pcall('lpush', 'mykey', 'x')", "0"],
        ["EVAL", "return redis.call('lpush', 'mykey', 'x')", "0"],
        ["EVAL", "local t = redis.pcall('lpush', 'mykey', 'x'); return t['err']", "0"],
        ["EVAL", "return redis.call('nosuchcommand')", "0"],
        ["EVAL", "return redis.pcall('nosuchcommand')", "0"],
        ["EVAL", "return redis.call('incr', 'a', 'b')", "0"],
        ["EVAL", "return redis.call()", "0"],
        ["EVAL", "return redis.call({})", "0"],
        ["EVAL", "return redis.call('blpop', 'x', 0)", "0"],
        ["EVAL", "return redis.pcall('eval', 'return 1', 0)", "0"],
        ["EVAL", "return redis.pcall('xread', 'BLOCK', 0, 'STREAMS', 's', '$')", "0"],
        ["EVAL", "return redis.pcall('xread', 'STREAMS', 's', '$')", "0"],
        ["EVAL", "return a", "0"],
        ["EVAL", "a = 5", "0"],
        ["EVAL", "error('boom')", "0"],
        ["EVAL", "error({err='CUSTOM failure'})", "0"],
        ["EVAL", "return 1 +", "0"],
        ["EVAL", "print('x')", "0"],
        ["EVAL", "return loadfile", "0"],
        // Not for scripts: debug.sethook would remove the busy-script hook.
        ["EVAL", "return debug.sethook()", "0"],
        ["EVAL", "return type(getfenv)", "0"],
        ["EVAL", "return type(setfenv)", "0"],
        ["EVAL", "return type(newproxy)", "0"],
        ["EVAL", "redis.call = function() return 1 end", "0"],
        ["EVAL", "setmetatable(_G, {})", "0"],
        ["EVAL", "return redis.sha1hex('Pizza & Mandolino')", "0"],
        ["EVAL", "return cjson.encode({1, 2, 'three'})", "0"],
        ["EVAL", "return cjson.decode('[1,2,3,\"x\"]')", "0"],
        ["EVAL", "return bit.tohex(65535, -4)", "0"],
        ["EVAL", "return bit.band(0xff, 0x0f)", "0"],
        ["EVAL", "local e = cmsgpack.pack(0.1); local h = '' for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end return h", "0"],
        ["EVAL", "local e = cmsgpack.pack(-1099511627776); local h = '' for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end return h", "0"],
        ["EVAL", "local e = cmsgpack.pack(1.5); local h = '' for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end return h", "0"],
        ["EVAL", "local e = cmsgpack.pack({1, 2, 3}); local h = '' for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end return h", "0"],
        ["EVAL", "local e = cmsgpack.pack({a = 1}); local h = '' for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end return h", "0"],
        ["EVAL", "local e = cmsgpack.pack({}); local h = '' for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end return h", "0"],
        ["EVAL", "local e = cmsgpack.pack(string.rep('x', 40)); local h = '' for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end return h", "0"],
        ["EVAL", "local e = cmsgpack.pack(string.rep('x', 300)); local h = '' for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end return h", "0"],
        ["EVAL", "local e = cmsgpack.pack(true, false, nil, -33, 200, 70000, 5000000000); local h = '' for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end return h", "0"],
        ["EVAL", "local e = cmsgpack.pack((function() local a = {y = 5} local b = {x = a} a.x = b return a end)()); local h = '' for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end return h", "0"],
        ["EVAL", "local o, v = cmsgpack.unpack_limit(cmsgpack.pack('a', 'b'), 1, 0); return {o, v}", "0"],
        ["EVAL", "local o, v = cmsgpack.unpack_one(cmsgpack.pack({1, {2, 'x'}, {k = 'v'}}), 0); return {o, v[1], v[2][2], v[3].k}", "0"],
        ["EVAL", "return {cmsgpack.unpack(cmsgpack.pack(1, 'two', 3.25))}", "0"],
        ["EVAL", "return cmsgpack.unpack('\\255')", "0"],
        ["EVAL", "cmsgpack.pack = 1", "0"],
        ["EVAL", "local function h(e) local s = '' for i = 1, #e do s = s .. string.format('%02x', string.byte(e, i)) end return s end return h(struct.pack('>I2', 258))", "0"],
        ["EVAL", "local function h(e) local s = '' for i = 1, #e do s = s .. string.format('%02x', string.byte(e, i)) end return s end return h(struct.pack('<i4', -2))", "0"],
        ["EVAL", "local function h(e) local s = '' for i = 1, #e do s = s .. string.format('%02x', string.byte(e, i)) end return s end return h(struct.pack('>i4', -2))", "0"],
        ["EVAL", "local function h(e) local s = '' for i = 1, #e do s = s .. string.format('%02x', string.byte(e, i)) end return s end return h(struct.pack('!4 b i4', 1, 7))", "0"],
        ["EVAL", "local function h(e) local s = '' for i = 1, #e do s = s .. string.format('%02x', string.byte(e, i)) end return s end return h(struct.pack('!b h l', 1, 2, 3))", "0"],
        ["EVAL", "local function h(e) local s = '' for i = 1, #e do s = s .. string.format('%02x', string.byte(e, i)) end return s end return h(struct.pack('!2 b d', 1, 2.5))", "0"],
        ["EVAL", "local function h(e) local s = '' for i = 1, #e do s = s .. string.format('%02x', string.byte(e, i)) end return s end return h(struct.pack('>d', -0.1))", "0"],
        ["EVAL", "local function h(e) local s = '' for i = 1, #e do s = s .. string.format('%02x', string.byte(e, i)) end return s end return h(struct.pack('<f', 1.5))", "0"],
        ["EVAL", "local function h(e) local s = '' for i = 1, #e do s = s .. string.format('%02x', string.byte(e, i)) end return s end return h(struct.pack('s', 'abc'))", "0"],
        ["EVAL", "local function h(e) local s = '' for i = 1, #e do s = s .. string.format('%02x', string.byte(e, i)) end return s end return h(struct.pack('c5', 'hello world'))", "0"],
        ["EVAL", "local function h(e) local s = '' for i = 1, #e do s = s .. string.format('%02x', string.byte(e, i)) end return s end return h(struct.pack('c0', 'whole'))", "0"],
        ["EVAL", "local function h(e) local s = '' for i = 1, #e do s = s .. string.format('%02x', string.byte(e, i)) end return s end return h(struct.pack('bxB', -1, 255))", "0"],
        ["EVAL", "local function h(e) local s = '' for i = 1, #e do s = s .. string.format('%02x', string.byte(e, i)) end return s end return h(struct.pack('T L H', 1, 2, 3))", "0"],
        ["EVAL", "local function h(e) local s = '' for i = 1, #e do s = s .. string.format('%02x', string.byte(e, i)) end return s end return h(struct.pack('>I3', 65536 + 2))", "0"],
        ["EVAL", "local function h(e) local s = '' for i = 1, #e do s = s .. string.format('%02x', string.byte(e, i)) end return s end return h(struct.pack('<i10', -1))", "0"],
        ["EVAL", "local function h(e) local s = '' for i = 1, #e do s = s .. string.format('%02x', string.byte(e, i)) end return s end return h(struct.pack('>i10', -1))", "0"],
        ["EVAL", "local function h(e) local s = '' for i = 1, #e do s = s .. string.format('%02x', string.byte(e, i)) end return s end return h(struct.pack('B', 300))", "0"],
        ["EVAL", "local function h(e) local s = '' for i = 1, #e do s = s .. string.format('%02x', string.byte(e, i)) end return s end return h(struct.pack('i', 3.7))", "0"],
        ["EVAL", "local function h(e) local s = '' for i = 1, #e do s = s .. string.format('%02x', string.byte(e, i)) end return s end return h(struct.pack('I16', 2^53))", "0"],
        ["EVAL", "return {struct.unpack('>I2 <i4', struct.pack('>I2 <i4', 513, -7))}", "0"],
        ["EVAL", "return {struct.unpack('b c0 s', struct.pack('b c0 s', 3, 'abc', 'zz'))}", "0"],
        ["EVAL", "return {struct.unpack('b c0', struct.pack('b', 3) .. 'abcdef')}", "0"],
        ["EVAL", "return {struct.unpack('i2', 'xxabcd', 3)}", "0"],
        ["EVAL", "return {struct.unpack('!4 b i4', struct.pack('!4 b i4', 9, -9))}", "0"],
        ["EVAL", "return {struct.unpack('>i3 >I3', '\\255\\255\\254\\255\\255\\254')}", "0"],
        ["EVAL", "return tostring(struct.unpack('d', struct.pack('d', 0.1)))", "0"],
        ["EVAL", "return tostring(struct.unpack('>f', struct.pack('>f', 0.5)))", "0"],
        ["EVAL", "return struct.size('!8 b d i2 c3 x')", "0"],
        ["EVAL", "return struct.size('b h l i7')", "0"],
        ["EVAL", "return struct.size('s')", "0"],
        ["EVAL", "return struct.size('c0')", "0"],
        ["EVAL", "return struct.pack('z', 1)", "0"],
        ["EVAL", "return struct.pack('!3 b', 1)", "0"],
        ["EVAL", "return struct.pack('i33', 1)", "0"],
        ["EVAL", "return struct.pack('c5', 'abc')", "0"],
        ["EVAL", "return struct.pack('i')", "0"],
        ["EVAL", "return struct.unpack('i4', 'abc')", "0"],
        ["EVAL", "return struct.unpack('s', 'abc')", "0"],
        ["EVAL", "return struct.unpack('c0', 'abc')", "0"],
        ["EVAL", "return struct.unpack('b', 'abc', 0)", "0"],
        ["EVAL", "return {struct.unpack('b', 'abc', 4)}", "0"],
        ["EVAL", "struct.pack = 1", "0"],
        ["EVAL", "struct.newfield = 1", "0"],
        ["EVAL", "return tostring(math.random())", "0"],
        ["EVAL", "math.randomseed(10); return tostring(math.random(100))", "0"],
        ["EVAL", "local v = 9007199254740991; redis.call('set', 'big', v); return redis.call('get', 'big')", "0"],
        ["EVAL", "redis.call('set', 'f', 3.25); return redis.call('get', 'f')", "0"],
        ["EVAL", "return redis.call('select', '9')", "0"],
        ["GET", "mykey"],
        ["EVAL", "return 1", "-1"],
        ["EVAL", "return 1", "3", "a"],
        ["EVAL", "return 1", "x"],
        ["EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"],
        // redis.call's command cache (by the interned name): case variants, a cached command with
        // the wrong arity, a subcommand container, a number as the name, and all of it again after
        // SCRIPT FLUSH gave the scripts a new Lua state.
        ["EVAL", "redis.call('set', 'c1', 'a'); redis.call('SET', 'c1', 'b'); redis.call('Set', 'c1', 'c'); return redis.call('get', 'c1')", "0"],
        ["EVAL", "redis.call('get', 'c1'); return redis.pcall('get', 'c1', 'extra')", "0"],
        ["EVAL", "redis.call('get', 'c1'); return redis.pcall('get')", "0"],
        ["EVAL", "return redis.call('object', 'encoding', 'c1')", "0"],
        ["EVAL", "return redis.pcall('object', 'nosuchsub', 'c1')", "0"],
        ["EVAL", "return redis.pcall(5, 'x')", "0"],
        ["EVAL", "return {type(redis), type(KEYS), type(cjson), type(string.format)}", "0"],
        ["EVAL", "return nosuchglobal == nil", "0"],
        ["SCRIPT", "FLUSH"],
        ["EVAL", "redis.call('set', 'c1', 'after'); return redis.call('get', 'c1')", "0"],
        ["EVAL", "return redis.pcall('get', 'c1', 'extra')", "0"],
        ["EVALSHA", "6a1ab4fb", "0"],
        ["SCRIPT", "LOAD", "return 'loaded'"],
        ["EVALSHA", "b534286061d4b9e4026607613b95c06c06015ae8", "0"],
        ["SCRIPT", "EXISTS", "b534286061d4b9e4026607613b95c06c06015ae8", "ffffffffffffffffffffffffffffffffffffffff"],
        ["EVAL_RO", "return redis.call('get', 'mykey')", "1", "mykey"],
        ["EVAL_RO", "return redis.call('set', 'mykey', 'v')", "1", "mykey"],
        ["EVAL", "#!lua flags=no-writes\nreturn redis.call('set', 'x', 1)", "0"],
        ["EVAL", "#!lua flags=no-writes\nreturn redis.call('get', 'mykey')", "0"],
        ["EVAL", "#!lua flags=bogus\nreturn 1", "0"],
        ["EVAL", "#!lua\nreturn 1", "0"],
        ["EVAL_RO", "#!lua\nreturn 1", "0"],
        ["SCRIPT", "FLUSH"],
        ["SCRIPT", "EXISTS", "b534286061d4b9e4026607613b95c06c06015ae8"],
        ["SCRIPT", "FLUSH", "BOGUS"],
        ["SCRIPT", "KILL"],
        ["HSET", "hash", "field", "value"],
        ["EVAL", "redis.setresp(3); return redis.call('hgetall', KEYS[1])", "1", "hash"],
        ["EVAL", "redis.setresp(3); return redis.call('get', 'nokey') == nil", "0"],
        ["EVAL", "return {double=3.5}", "0"],
        ["EVAL", "return redis.REDIS_VERSION", "0"],
    ]

    @Test func scriptRepliesMatchRedis() async throws {
        let servers = try await RedisAndNode()
        defer { servers.stop() }
        _ = try NodeBitmapTests.compare(Self.conversions, servers.redis.client(), servers.node.client(), context: "EVAL")
    }

    static let library = "#!lua name=mylib\n"
        + "redis.register_function('setget', function(keys, args) redis.call('set', keys[1], args[1]); return redis.call('get', keys[1]) end)\n"
        + "redis.register_function{function_name='ro', callback=function(keys, args) return redis.call('get', keys[1]) end, flags={'no-writes'}, description='reads'}\n"
        + "redis.register_function('fails', function(keys, args) return error('boom') end)\n"

    static let functionCommands: [[String]] = [
        ["FUNCTION", "LOAD", library],
        ["FUNCTION", "LOAD", library],
        // (One function per listed library: Redis lists a library's functions in its dict's order.)
        ["FUNCTION", "LOAD", "#!lua name=single\nredis.register_function('one', function() return 1 end)"],
        ["FUNCTION", "LIST", "LIBRARYNAME", "sing*", "WITHCODE"],
        ["FUNCTION", "LIST", "LIBRARYNAME", "nomatch*"],
        ["FUNCTION", "LIST", "BOGUS"],
        ["FCALL", "one", "0"],
        ["FUNCTION", "DELETE", "single"],
        ["FCALL", "setget", "1", "k", "v"],
        ["FCALL_RO", "ro", "1", "k"],
        ["FCALL_RO", "setget", "1", "k", "v"],
        ["FCALL", "fails", "0"],
        ["FCALL", "nosuch", "0"],
        ["FCALL", "setget", "5", "k"],
        // A library's functions see the scripts' globals once loaded; a missing one is an error.
        ["FUNCTION", "LOAD", "#!lua name=globs\nlocal function helper() return 'h' end\n"
            + "redis.register_function('usesglobals', function() return {type(redis), type(string.rep), type(cjson), helper()} end)\n"
            + "redis.register_function('missing', function() return nosuchglobal end)"],
        ["FCALL", "usesglobals", "0"],
        ["FCALL", "missing", "0"],
        ["FUNCTION", "DELETE", "globs"],
        ["FUNCTION", "STATS"],
        ["FUNCTION", "LOAD", "return 1"],
        ["FUNCTION", "LOAD", "#!lua name=empty\nreturn 1"],
        ["FUNCTION", "LOAD", "#!lua name=bad\nredis.call('ping')"],
        ["FUNCTION", "LOAD", "#!lua name=bad\na = 1"],
        ["FUNCTION", "LOAD", "#!lua name=other\nredis.register_function('setget', function() end)"],
        ["FUNCTION", "LOAD", "#!lua name=slow\nlocal a = 1 while 1 do a = a + 1 end"],
        ["FUNCTION", "LOAD", "REPLACE", library],
        ["FUNCTION", "DELETE", "nolib"],
        ["FUNCTION", "DELETE", "mylib"],
        ["FCALL", "setget", "1", "k", "v"],
        ["FUNCTION", "LIST"],
        ["FUNCTION", "KILL"],
        ["FUNCTION", "FLUSH", "BOGUS"],
        ["FUNCTION", "FLUSH", "SYNC", "EXTRA"],
        ["FUNCTION", "LOAD", "#!lua name=a name=b\nredis.register_function('x', function() return 1 end)"],
        ["FUNCTION", "LOAD", "#!LUA name=\"quoted\"\nredis.register_function('q', function() return 'q' end)"],
        ["FUNCTION", "LOAD", "#! name=x\nreturn 1"],
        ["FUNCTION", "LOAD", "#!lua name=x foo=bar\nreturn 1"],
        ["FUNCTION", "LOAD", "#!lua name=r\nredis.register_function('f1')"],
        ["FUNCTION", "LOAD", "#!lua name=r\nredis.register_function({}, function() end)"],
        ["FUNCTION", "LOAD", "#!lua name=r\nredis.register_function('f1', 1)"],
        ["FUNCTION", "LOAD", "#!lua name=r\nredis.register_function{function_name='f1', callback=function() end, flags={'bogus'}}"],
        ["FUNCTION", "LOAD", "#!lua name=r\nredis.register_function{function_name='f1', callback=function() end, other=1}"],
        ["FUNCTION", "LOAD", "#!lua name=r\nredis.setresp(3)"],
        ["FUNCTION", "LOAD", "#!lua name=helpers\nlocal function ping() return redis.call('ping') end\nredis.register_function('pinger', function() return ping() end)"],
        ["FCALL", "pinger", "0"],
        ["FCALL", "q", "0"],
        ["FUNCTION", "FLUSH"],
        ["FUNCTION", "LIST"],
    ]

    @Test func functionRepliesMatchRedis() async throws {
        let servers = try await RedisAndNode()
        defer { servers.stop() }
        _ = try NodeBitmapTests.compare(Self.functionCommands, servers.redis.client(), servers.node.client(), context: "FUNCTION")
    }

    /// FUNCTION DUMP payloads go both ways between redis-server and the node.
    @Test func functionDumpsMoveBetweenRedisAndTheNode() async throws {
        let servers = try await RedisAndNode()
        defer { servers.stop() }
        let redis = try servers.redis.client()
        let node = try servers.node.client()
        #expect(try node.command("FUNCTION", "LOAD", Self.library) == .bulk("mylib"))
        guard case .bulk(let payload?) = try node.command("FUNCTION", "DUMP") else {
            Issue.record("FUNCTION DUMP gave no payload")
            return
        }
        #expect(try redis.command([Array("FUNCTION".utf8), Array("RESTORE".utf8), payload]) == .status("OK"))
        #expect(try redis.command("FCALL", "setget", "1", "k", "from-node") == .bulk("from-node"))
        #expect(try redis.command("FUNCTION", "LOAD", "#!lua name=second\nredis.register_function('seven', function() return 7 end)")
            == .bulk("second"))
        guard case .bulk(let back?) = try redis.command("FUNCTION", "DUMP") else {
            Issue.record("redis-server's FUNCTION DUMP gave no payload")
            return
        }
        #expect(try node.command([Array("FUNCTION".utf8), Array("RESTORE".utf8), back]).isError, "APPEND refuses mylib again")
        #expect(try node.command([Array("FUNCTION".utf8), Array("RESTORE".utf8), back, Array("REPLACE".utf8)]) == .status("OK"))
        #expect(try node.command("FCALL", "seven", "0") == .integer(7))
        #expect(try node.command([Array("FUNCTION".utf8), Array("RESTORE".utf8), Array("garbage".utf8)])
            == .error("ERR payload version or checksum are wrong"))
    }

    /// A script's writes reach the AOF as the commands it ran (two or more inside MULTI/EXEC), as
    /// redis-server writes them; a failing script's writes before the error too; FUNCTION LOAD as
    /// itself.
    @Test func scriptsPropagateTheirEffects() async throws {
        let servers = try await NodeBitmapTests.servers()
        defer { servers.stop() }
        let commands: [[String]] = [
            ["EVAL", "redis.call('set', KEYS[1], ARGV[1])", "1", "a", "1"],
            ["EVAL", "redis.call('set', 'b', 2); redis.call('incr', 'b'); redis.call('rpush', 'l', 'x', 'y')", "0"],
            ["EVAL", "return redis.call('get', 'a')", "0"],
            ["EVAL", "redis.call('set', 'c', 1); redis.call('lpush', 'c', 1)", "0"],
            ["EVAL", "redis.call('select', 3); redis.call('set', 'in3', 'x'); return 1", "0"],
            ["SET", "after", "script"],
            ["EVAL", "redis.call('set', 'e', 1, 'EX', 100); redis.call('spop', 'noset'); return 1", "0"],
            ["MULTI"], ["EVAL", "redis.call('incr', 'm'); redis.call('incr', 'm')", "0"], ["SET", "m2", "x"], ["EXEC"],
            ["FUNCTION", "LOAD", Self.library],
            ["FCALL", "setget", "1", "fk", "fv"],
            ["FUNCTION", "DELETE", "mylib"],
        ]
        guard try NodeBitmapTests.compare(commands, servers.redis.client(), servers.node.client(), context: "script writes") else {
            return
        }
        try await NodePropagationTests.expectSameAOF(servers, context: "script writes")
    }

    /// WATCH sees a script's writes; a client blocked on a key a script pushes to is served.
    @Test func scriptWritesTouchWatchersAndServeBlockedClients() async throws {
        let node = try await startNode()
        defer { node.stop() }
        let watcher = try node.client()
        #expect(try watcher.command("WATCH", "w") == .status("OK"))
        #expect(try node.client().command("EVAL", "return redis.call('set', 'w', 1)", "0") == .status("OK"))
        #expect(try watcher.command("MULTI") == .status("OK"))
        #expect(try watcher.command("GET", "w") == .status("QUEUED"))
        #expect(try watcher.command("EXEC") == .array(nil))
        let blocked = try node.client()
        try blocked.sendRaw(RedisTestClient.encode(["BLPOP", "q", "5"].map { Array($0.utf8) }))
        try await waitUntil("the client blocks") {
            try node.client().command("INFO", "clients").string?.contains("blocked_clients:1") == true
        }
        #expect(try node.client().command("EVAL", "redis.call('rpush', 'q', 'a', 'b'); return redis.call('llen', 'q')", "0")
            == .integer(2), "the script sees both elements: the waiter is served after it")
        #expect(try blocked.readReply() == .array([.bulk("q"), .bulk("a")]))
    }

    /// Functions survive a restart through the RDB, and redis-server loads the node's dump.
    @Test func functionsPersistInTheRDB() async throws {
        let directory = try TemporaryDirectory()
        let node = try await startNode(directory: directory)
        #expect(try node.client().command("FUNCTION", "LOAD", Self.library) == .bulk("mylib"))
        #expect(try node.client().command("SAVE") == .status("OK"))
        node.stop()
        let again = try await startNode(directory: directory)
        #expect(try again.client().command("FCALL", "setget", "1", "k", "restarted") == .bulk("restarted"))
        again.stop()
        let redis = try await RedisServer([], directory: directory)
        defer { redis.stop() }
        #expect(try redis.client().command("FCALL", "setget", "1", "k", "in-redis") == .bulk("in-redis"))
    }

    /// A redis-server replica of a node master, and a node replica of a redis-server master, end
    /// with the master's data after a workload of scripts and functions.
    @Test(arguments: [true, false])
    func replicasOfTheOtherServerFollowScriptEffects(nodeIsMaster: Bool) async throws {
        let node = try await startNode(["--repl-diskless-sync-delay", "0"])
        defer { node.stop() }
        let redis = try await RedisServer(["--repl-diskless-sync-delay", "0"])
        defer { redis.stop() }
        let (masterPort, replicaPort) = nodeIsMaster ? (node.port, redis.port) : (redis.port, node.port)
        let master = try RedisTestClient(port: masterPort)
        _ = try master.command("FUNCTION", "LOAD", Self.library)
        _ = try RedisTestClient(port: replicaPort).command("REPLICAOF", "127.0.0.1", "\(masterPort)")
        try await NodeReplicationTests.waitForLink(replicaPort)
        var commands: [[String]] = []
        for index in 0..<100 {
            commands.append(["EVAL", "redis.call('incr', KEYS[1]); redis.call('rpush', KEYS[2], ARGV[1]); return redis.call('hset', KEYS[3], ARGV[1], ARGV[1])",
                             "3", "counter", "list", "hash", "\(index)"])
            commands.append(["FCALL", "setget", "1", "f\(index % 7)", "\(index)"])
        }
        commands.append(["EVAL", "redis.call('select', 2); redis.call('set', 'db2', 'x'); redis.call('spop', 'noset')", "0"])
        for reply in try master.pipeline(commands) { #expect(!reply.isError, "\(reply)") }
        try await waitUntil("the replica caught up") {
            try NodeReplicationTests.dataset(replicaPort) == NodeReplicationTests.dataset(masterPort)
        }
        let replica = try RedisTestClient(port: replicaPort)
        #expect(try replica.command("GET", "counter") == .bulk("100"))
        #expect(try replica.command("FCALL_RO", "ro", "1", "f1") == .bulk("99"), "the library reached the replica")
    }

    /// A script past busy-reply-threshold: connected clients get -BUSY while it runs, SCRIPT KILL
    /// stops it (its client gets the kill error), a script that wrote cannot be killed, and
    /// SHUTDOWN NOSAVE stops it and the node. The scripts end by themselves after 10 seconds, so a
    /// failure cannot hang the test.
    @Test func busyScriptsAnswerOtherClientsAndCanBeKilled() async throws {
        let node = try await startNode()
        defer { node.stop() }
        let other = try node.client()
        #expect(try other.command("CONFIG", "SET", "lua-time-limit", "50") == .status("OK"))
        #expect(try other.command("CONFIG", "GET", "busy-reply-threshold") == .array([.bulk("busy-reply-threshold"), .bulk("50")]))
        let loop = "local t = redis.call('time')[1] + 10 while tonumber(redis.call('time')[1]) < t do end return 'ended'"
        let runner = try node.client()
        try runner.sendRaw(RedisTestClient.encode(["EVAL", loop, "0"].map { Array($0.utf8) }))
        try await waitUntil("the script is busy") { try other.command("PING").isError }
        #expect(try other.command("PING")
            == .error("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."))
        #expect(try other.command("FUNCTION", "KILL")
            == .error("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."))
        #expect(try other.command("SCRIPT", "KILL") == .status("OK"))
        guard case .error(let killed) = try runner.readReply() else {
            Issue.record("the killed script did not fail")
            return
        }
        #expect(killed.hasPrefix("ERR Script killed by user with SCRIPT KILL..."), "\(killed)")
        #expect(try other.command("PING") == .status("PONG"))
        #expect(try other.command("SCRIPT", "KILL") == .error("NOTBUSY No scripts in execution right now."))

        try runner.sendRaw(RedisTestClient.encode(["EVAL", "redis.call('set', 'x', 1) " + loop, "0"].map { Array($0.utf8) }))
        try await waitUntil("the writing script is busy") { try other.command("PING").isError }
        guard case .error(let unkillable) = try other.command("SCRIPT", "KILL") else {
            Issue.record("SCRIPT KILL stopped a script that wrote")
            return
        }
        #expect(unkillable.hasPrefix("UNKILLABLE "))
        _ = try? other.command("SHUTDOWN", "NOSAVE")
        try await waitUntil("the node exits", seconds: 5) { (try? node.client()) == nil }
    }

    /// redis-py's register_script (EVALSHA, then EVAL after NOSCRIPT) and its Lock (Lua release
    /// and extend) on the node.
    @Test(.enabled(if: TestEnvironment.hasRedisPy)) func redisPyScriptsAndLock() async throws {
        let node = try await startNode()
        defer { node.stop() }
        let python = try #require(TestEnvironment.python)
        let program = """
            import redis, sys
            r = redis.Redis(port=int(sys.argv[1]))
            incr = r.register_script("return redis.call('incrby', KEYS[1], ARGV[1])")
            assert incr(keys=['n'], args=[5]) == 5
            r.script_flush()
            assert incr(keys=['n'], args=[2]) == 7
            lock = r.lock('resource', timeout=10)
            assert lock.acquire(blocking=False)
            assert not r.lock('resource', timeout=10).acquire(blocking=False)
            lock.extend(5)
            assert r.pttl('resource') > 10000
            lock.release()
            assert r.get('resource') is None
            try:
                lock.release()
                raise SystemExit('released twice')
            except redis.exceptions.LockError:
                pass
            print('ok')
            """
        let result = try run(python, ["-c", program, "\(node.port)"], seconds: 30)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("ok"))
    }
}
