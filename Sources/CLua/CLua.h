// The system's Lua 5.1 (Debian liblua5.1-0-dev) with the cjson and bit libraries Debian builds for
// it (lua-cjson-dev, lua-bitop-dev).
#include <lua.h>
#include <lualib.h>
#include <lauxlib.h>
#include <lua-cjson.h>
#include <lua-bitop.h>
