/// Lua run once in every new scripting state, with the real globals table as its environment,
/// after the node put its C functions in the `redis` table. It builds the sandbox scripts run in
/// and returns the table that becomes their globals, then the error handler every script call
/// runs under.
///
/// - Globals: scripts see a proxy whose reads of a missing name fail ("Script attempted to access
///   nonexistent global variable") and whose writes fail ("Attempt to modify a readonly table");
///   the node sets KEYS and ARGV in the real table behind it.
/// - Libraries (`redis`, `string`, `table`, `math`, `cjson`, `bit`, ...) are read-only proxies too;
///   `setmetatable` and `rawset` refuse them, and so does a write through `getmetatable`.
/// - No `loadfile`, `dofile`, `print`, `debug`, `getfenv`, `setfenv` or `newproxy`; `loadstring`
///   refuses precompiled chunks.
/// - The error handler turns whatever a script raised into a table with `err` (a string error
///   gets `ERR ` in front), plus `source` and `line` of the script's line that raised it.
enum LuaPrelude {
    static let sandbox = #"""
    local G = _G
    local rawget, rawset, error, type, tostring = rawget, rawset, error, type, tostring
    local setmetatable, getinfo, loadstring, sub = setmetatable, debug.getinfo, loadstring, string.sub
    local protected = setmetatable({}, { __mode = 'k' })

    local function refuse() error('Attempt to modify a readonly table', 2) end

    local function seal(meta)
        local view = setmetatable({}, { __index = meta, __newindex = refuse, __metatable = false })
        protected[view] = true
        meta.__metatable = view
        return meta
    end

    local function readonly(library)
        local proxy = setmetatable({}, seal({ __index = library, __newindex = refuse }))
        protected[proxy] = true
        return proxy
    end

    local redis = G.redis
    function redis.error_reply(message)
        if type(message) ~= 'string' then error('wrong number or type of arguments', 2) end
        if sub(message, 1, 1) == '-' then message = sub(message, 2) end
        if not message:find(' ', 1, true) then message = 'ERR ' .. message end
        return { err = message }
    end
    function redis.status_reply(message)
        if type(message) ~= 'string' then error('wrong number or type of arguments', 2) end
        return { ok = message }
    end
    function redis.replicate_commands() return true end
    function redis.breakpoint() return false end
    function redis.debug() end

    G.loadfile = nil
    G.dofile = nil
    G.print = nil
    G.loadstring = function(chunk, name)
        if type(chunk) == 'string' and sub(chunk, 1, 1) == '\27' then return nil, 'binary code not allowed' end
        return loadstring(chunk, name)
    end
    -- (Refused as Redis's C functions refuse: without a position.)
    G.setmetatable = function(t, meta)
        if protected[t] then error('Attempt to modify a readonly table', 0) end
        return setmetatable(t, meta)
    end
    G.rawset = function(t, k, v)
        if protected[t] then error('Attempt to modify a readonly table', 0) end
        return rawset(t, k, v)
    end
    for _, name in ipairs({ 'redis', 'string', 'table', 'math', 'cjson', 'bit', 'cmsgpack', 'struct', 'coroutine' }) do
        if rawget(G, name) ~= nil then G[name] = readonly(rawget(G, name)) end
    end
    -- No `debug` for scripts (Redis drops it once its error handler took what it needs, as the
    -- handler below keeps `getinfo`): its sethook would remove the busy-script hook and its
    -- getregistry reach the node's internals. Nor the environment and proxy functions, which
    -- redis-server 7.0.15 as Debian ships it does not have either.
    G.debug = nil
    G.getfenv = nil
    G.setfenv = nil
    G.newproxy = nil

    -- Reads go through C, not a Lua function, to the real table: a proxy's __index chain ends at
    -- the real globals, whose own metatable is reached only when a name is missing.
    local function missing(_, name)
        error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
    end
    local globals = setmetatable({}, seal({ __index = G, __newindex = refuse }))
    protected[globals] = true
    G._G = globals

    local function handler(failure)
        -- Where it happened: the first frame of the script's own code (not C, not this prelude).
        local info
        for level = 2, 12 do
            local frame = getinfo(level, 'Sl')
            if not frame then break end
            if frame.what ~= 'C' and frame.source ~= '=shardgate' then
                info = frame
                break
            end
        end
        local result
        if type(failure) == 'table' and type(rawget(failure, 'err')) == 'string' then
            -- (Keeps the mark of an error already counted where a command failed.)
            result = { err = rawget(failure, 'err'), ignore_error_stats_update = rawget(failure, 'ignore_error_stats_update') }
        else
            result = { err = 'ERR ' .. tostring(failure) }
        end
        if info and info.currentline and info.currentline >= 0 then
            result.source = info.source
            result.line = info.currentline
        end
        return result
    end
    -- What a library's code sees while FUNCTION LOAD runs it: only `redis`, with
    -- register_function, log and the constants.
    local loadRedis = rawget(G, '__load_redis')
    G.__load_redis = nil
    local function strict(names)
        local view = setmetatable({}, seal({
            __index = function(_, name)
                local value = rawget(names, name)
                if value == nil then
                    error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
                end
                return value
            end,
            __newindex = refuse,
        }))
        protected[view] = true
        return view
    end
    local loadNames = { redis = strict(loadRedis) }

    -- The globals of one library's code: while FUNCTION LOAD runs it, only `redis` with
    -- register_function; afterwards (the functions it registered, and the local helpers they call,
    -- share this table) the scripts' globals. Returns the table and the function that switches it.
    local function libraryGlobals()
        local meta = seal({
            __index = function(_, name)
                local value = rawget(loadNames, name)
                if value == nil then
                    error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
                end
                return value
            end,
            __newindex = refuse,
        })
        local view = setmetatable({}, meta)
        protected[view] = true
        return view, function() meta.__index = G end
    end
    setmetatable(G, { __index = missing })
    return globals, handler, libraryGlobals
    """#
}
