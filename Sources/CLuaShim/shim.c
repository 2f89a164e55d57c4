#include "CLuaShim.h"
#include <math.h>

static sg_lua_callback swift_callback;

void sg_lua_set_callback(sg_lua_callback callback) { swift_callback = callback; }

static int trampoline(lua_State *L) {
    int function = (int)lua_tointeger(L, lua_upvalueindex(1));
    int results = swift_callback(L, function);
    if (results < 0) return lua_error(L);
    return results;
}

void sg_lua_pushfunction(lua_State *L, int function) {
    lua_pushinteger(L, function);
    lua_pushcclosure(L, trampoline, 1);
}

// A 48-bit linear congruential generator (the drand48 family's constants), so that a script's
// random numbers are the same on every node and replica for the same seed.
// The drand48 family's state before any seeding, as a process that never called srand48 has it.
// Per thread: each node runs its scripts on its own event loop thread.
static _Thread_local uint64_t generator_state = 0x1234ABCD330EULL;

void sg_lua_srand(int32_t seed) {
    generator_state = (((uint64_t)(uint32_t)seed) << 16) | 0x330E;
}

static int32_t next_random(void) {
    generator_state = (generator_state * 0x5DEECE66DULL + 0xB) & ((1ULL << 48) - 1);
    return (int32_t)(generator_state >> 17);
}

static int math_random(lua_State *L) {
    lua_Number r = (lua_Number)(next_random() % INT32_MAX) / (lua_Number)INT32_MAX;
    switch (lua_gettop(L)) {
    case 0:
        lua_pushnumber(L, r);
        break;
    case 1: {
        int upper = luaL_checkint(L, 1);
        luaL_argcheck(L, 1 <= upper, 1, "interval is empty");
        lua_pushnumber(L, floor(r * upper) + 1);
        break;
    }
    case 2: {
        int lower = luaL_checkint(L, 1);
        int upper = luaL_checkint(L, 2);
        luaL_argcheck(L, lower <= upper, 2, "interval is empty");
        lua_pushnumber(L, floor(r * (upper - lower + 1)) + lower);
        break;
    }
    default:
        return luaL_error(L, "wrong number of arguments");
    }
    return 1;
}

static int math_randomseed(lua_State *L) {
    sg_lua_srand((int32_t)luaL_checkint(L, 1));
    return 0;
}

static void open_library(lua_State *L, const char *name, lua_CFunction open) {
    lua_pushcfunction(L, open);
    lua_pushstring(L, name);
    lua_call(L, 1, 1);
    // Some libraries only return their table: make it the global of that name.
    if (name[0] != '\0' && lua_istable(L, -1)) {
        lua_setglobal(L, name);
    } else {
        lua_pop(L, 1);
    }
}

lua_State *sg_lua_open(void) {
    lua_State *L = sg_lua_newstate();
    if (L == NULL) return NULL;
    open_library(L, "", luaopen_base);
    open_library(L, LUA_TABLIBNAME, luaopen_table);
    open_library(L, LUA_STRLIBNAME, luaopen_string);
    open_library(L, LUA_MATHLIBNAME, luaopen_math);
    open_library(L, LUA_DBLIBNAME, luaopen_debug);
    open_library(L, "cjson", luaopen_cjson);
    open_library(L, "bit", luaopen_bit);
    open_library(L, "cmsgpack", sg_luaopen_cmsgpack);
    open_library(L, "struct", sg_luaopen_struct);
    lua_getglobal(L, LUA_MATHLIBNAME);
    lua_pushcfunction(L, math_random);
    lua_setfield(L, -2, "random");
    lua_pushcfunction(L, math_randomseed);
    lua_setfield(L, -2, "randomseed");
    lua_pop(L, 1);
    return L;
}

static sg_lua_hook swift_hook;

static void hook_trampoline(lua_State *L, lua_Debug *ar) {
    (void)ar;
    if (swift_hook != NULL && swift_hook(L)) lua_error(L);
}

void sg_lua_sethook(lua_State *L, sg_lua_hook hook, int count) {
    swift_hook = hook;
    if (count > 0) {
        lua_sethook(L, hook_trampoline, LUA_MASKCOUNT, count);
    } else {
        lua_sethook(L, NULL, 0, 0);
    }
}
