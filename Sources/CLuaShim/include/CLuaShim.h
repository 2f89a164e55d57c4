#ifndef SHARDGATE_CLUASHIM_H
#define SHARDGATE_CLUASHIM_H

#include <lua.h>
#include <lualib.h>
#include <lauxlib.h>
#include <lua-cjson.h>
#include <lua-bitop.h>
#include <stdint.h>

/// The Swift side of every C function the node gives Lua (redis.call, redis.sha1hex, ...):
/// `function` says which one. It returns how many results it pushed, or -1 after pushing an error
/// value, which the trampoline then raises with `lua_error`: the long jump never crosses a Swift
/// frame.
typedef int (*sg_lua_callback)(lua_State *L, int function);
void sg_lua_set_callback(sg_lua_callback callback);

/// Pushes a C function that calls the callback with `function`.
void sg_lua_pushfunction(lua_State *L, int function);

/// A new state with the libraries scripts get (base, table, string, math, debug, cjson, bit,
/// cmsgpack, struct),
/// `math.random`/`math.randomseed` replaced by the node's reproducible generator.
lua_State *sg_lua_open(void);

/// A bare state whose small blocks come from free lists by size (allocator.c), and its closing,
/// which also frees those lists. (`sg_lua_open` uses the first.)
lua_State *sg_lua_newstate(void);
void sg_lua_close(lua_State *L);

/// The `cmsgpack` library (cmsgpack.c).
int sg_luaopen_cmsgpack(lua_State *L);

/// The `struct` library (struct.c).
int sg_luaopen_struct(lua_State *L);

/// Reseeds the generator `math.random` reads (before each script, as Redis does).
void sg_lua_srand(int32_t seed);

/// Called every `count` instructions while set; returning nonzero raises the value it pushed as
/// an error (a killed script). `count` 0 removes the hook.
typedef int (*sg_lua_hook)(lua_State *L);
void sg_lua_sethook(lua_State *L, sg_lua_hook hook, int count);

// Macros of lua.h, as functions Swift can call.
static inline void sg_lua_pop(lua_State *L, int n) { lua_pop(L, n); }
static inline void sg_lua_newtable(lua_State *L) { lua_newtable(L); }
static inline int sg_lua_isnil(lua_State *L, int index) { return lua_isnil(L, index); }
static inline const char *sg_lua_tostring(lua_State *L, int index, size_t *length) {
    return lua_tolstring(L, index, length);
}
static inline int sg_lua_loadbuffer(lua_State *L, const char *buffer, size_t size, const char *name) {
    return luaL_loadbuffer(L, buffer, size, name);
}
static inline int sg_lua_loadstring(lua_State *L, const char *text) { return luaL_loadstring(L, text); }
static inline int sg_lua_registry(void) { return LUA_REGISTRYINDEX; }
static inline int sg_lua_globals(void) { return LUA_GLOBALSINDEX; }

#endif
