// MessagePack for scripts: the `cmsgpack` table Redis gives Lua (pack, unpack, unpack_one,
// unpack_limit), written for the node. Numbers with an integral value pack as the smallest
// integer encoding, others as float32 when that is exact, else float64; a table whose keys are
// exactly 1..n packs as an array, any other as a map; nesting deeper than 16 packs as nil.
#include "CLuaShim.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NESTING 16

typedef struct {
    unsigned char *bytes;
    size_t length;
    size_t capacity;
} buffer_t;

static void append(lua_State *L, buffer_t *buffer, const void *bytes, size_t count) {
    if (buffer->length + count > buffer->capacity) {
        size_t capacity = buffer->capacity ? buffer->capacity : 64;
        while (capacity < buffer->length + count) capacity *= 2;
        unsigned char *grown = realloc(buffer->bytes, capacity);
        if (grown == NULL) {
            free(buffer->bytes);
            buffer->bytes = NULL;
            luaL_error(L, "cmsgpack: out of memory");
            return;
        }
        buffer->bytes = grown;
        buffer->capacity = capacity;
    }
    memcpy(buffer->bytes + buffer->length, bytes, count);
    buffer->length += count;
}

static void append_byte(lua_State *L, buffer_t *buffer, unsigned char byte) { append(L, buffer, &byte, 1); }

static void append_big_endian(lua_State *L, buffer_t *buffer, unsigned char type, uint64_t value, int size) {
    unsigned char bytes[9];
    bytes[0] = type;
    for (int i = 0; i < size; i++) bytes[1 + i] = (unsigned char)(value >> (8 * (size - 1 - i)));
    append(L, buffer, bytes, (size_t)size + 1);
}

static void pack_integer(lua_State *L, buffer_t *buffer, int64_t n) {
    if (n >= 0) {
        if (n < 128) append_byte(L, buffer, (unsigned char)n);
        else if (n <= 0xff) append_big_endian(L, buffer, 0xcc, (uint64_t)n, 1);
        else if (n <= 0xffff) append_big_endian(L, buffer, 0xcd, (uint64_t)n, 2);
        else if (n <= 0xffffffffLL) append_big_endian(L, buffer, 0xce, (uint64_t)n, 4);
        else append_big_endian(L, buffer, 0xcf, (uint64_t)n, 8);
    } else {
        if (n >= -32) append_byte(L, buffer, (unsigned char)(int8_t)n);
        else if (n >= -128) append_big_endian(L, buffer, 0xd0, (uint64_t)n, 1);
        else if (n >= -32768) append_big_endian(L, buffer, 0xd1, (uint64_t)n, 2);
        else if (n >= -2147483648LL) append_big_endian(L, buffer, 0xd2, (uint64_t)n, 4);
        else append_big_endian(L, buffer, 0xd3, (uint64_t)n, 8);
    }
}

static void pack_number(lua_State *L, buffer_t *buffer, lua_Number n) {
    if (isfinite(n) && floor(n) == n && n >= -9223372036854775808.0 && n < 9223372036854775808.0) {
        pack_integer(L, buffer, (int64_t)n);
        return;
    }
    float single = (float)n;
    if ((lua_Number)single == n || isnan(n)) {
        uint32_t bits;
        memcpy(&bits, &single, 4);
        append_big_endian(L, buffer, 0xca, bits, 4);
    } else {
        uint64_t bits;
        memcpy(&bits, &n, 8);
        append_big_endian(L, buffer, 0xcb, bits, 8);
    }
}

static void pack_string(lua_State *L, buffer_t *buffer, int index) {
    size_t length;
    const char *text = lua_tolstring(L, index, &length);
    if (length < 32) append_byte(L, buffer, (unsigned char)(0xa0 | length));
    else if (length <= 0xff) append_big_endian(L, buffer, 0xd9, length, 1);
    else if (length <= 0xffff) append_big_endian(L, buffer, 0xda, length, 2);
    else append_big_endian(L, buffer, 0xdb, length, 4);
    append(L, buffer, text, length);
}

// The array length of the table at `index` when its keys are exactly 1..n; -1 otherwise.
static long array_length(lua_State *L, int index) {
    long count = 0;
    lua_Number max = 0;
    lua_pushnil(L);
    while (lua_next(L, index) != 0) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TNUMBER) {
            lua_pop(L, 1);
            return -1;
        }
        lua_Number key = lua_tonumber(L, -1);
        if (key <= 0 || floor(key) != key) {
            lua_pop(L, 1);
            return -1;
        }
        if (key > max) max = key;
        count++;
    }
    return max == (lua_Number)count ? count : -1;
}

static void pack_value(lua_State *L, buffer_t *buffer, int level);

static void pack_table(lua_State *L, buffer_t *buffer, int level) {
    int index = lua_gettop(L);
    luaL_checkstack(L, 4, "cmsgpack: too deep");
    long length = array_length(L, index);
    if (length >= 0) {
        if (length < 16) append_byte(L, buffer, (unsigned char)(0x90 | length));
        else if (length <= 0xffff) append_big_endian(L, buffer, 0xdc, (uint64_t)length, 2);
        else append_big_endian(L, buffer, 0xdd, (uint64_t)length, 4);
        for (long i = 1; i <= length; i++) {
            lua_rawgeti(L, index, (int)i);
            pack_value(L, buffer, level + 1);
        }
        return;
    }
    long pairs = 0;
    lua_pushnil(L);
    while (lua_next(L, index) != 0) {
        lua_pop(L, 1);
        pairs++;
    }
    if (pairs < 16) append_byte(L, buffer, (unsigned char)(0x80 | pairs));
    else if (pairs <= 0xffff) append_big_endian(L, buffer, 0xde, (uint64_t)pairs, 2);
    else append_big_endian(L, buffer, 0xdf, (uint64_t)pairs, 4);
    lua_pushnil(L);
    while (lua_next(L, index) != 0) {
        lua_pushvalue(L, -2);
        pack_value(L, buffer, level + 1);  // the key (popped)
        pack_value(L, buffer, level + 1);  // the value (popped)
    }
}

// Packs the value on top of the stack and pops it.
static void pack_value(lua_State *L, buffer_t *buffer, int level) {
    switch (lua_type(L, -1)) {
    case LUA_TSTRING: pack_string(L, buffer, -1); break;
    case LUA_TBOOLEAN: append_byte(L, buffer, lua_toboolean(L, -1) ? 0xc3 : 0xc2); break;
    case LUA_TNUMBER: pack_number(L, buffer, lua_tonumber(L, -1)); break;
    case LUA_TTABLE:
        if (level >= MAX_NESTING) append_byte(L, buffer, 0xc0);
        else pack_table(L, buffer, level);
        break;
    default: append_byte(L, buffer, 0xc0); break;
    }
    lua_pop(L, 1);
}

static int pack(lua_State *L) {
    int count = lua_gettop(L);
    if (count == 0) return luaL_argerror(L, 0, "MessagePack pack needs input.");
    buffer_t buffer = {NULL, 0, 0};
    for (int i = 1; i <= count; i++) {
        lua_pushvalue(L, i);
        pack_value(L, &buffer, 0);
    }
    lua_pushlstring(L, buffer.bytes ? (const char *)buffer.bytes : "", buffer.length);
    free(buffer.bytes);
    return 1;
}

typedef struct {
    const unsigned char *bytes;
    size_t length;
    size_t offset;
    int failed;
} cursor_t;

static uint64_t read_big_endian(cursor_t *cursor, int size) {
    if (cursor->offset + (size_t)size > cursor->length) {
        cursor->failed = 1;
        return 0;
    }
    uint64_t value = 0;
    for (int i = 0; i < size; i++) value = value << 8 | cursor->bytes[cursor->offset + i];
    cursor->offset += (size_t)size;
    return value;
}

static void unpack_value(lua_State *L, cursor_t *cursor);

static void unpack_string(lua_State *L, cursor_t *cursor, size_t length) {
    if (cursor->offset + length > cursor->length) {
        cursor->failed = 1;
        lua_pushnil(L);
        return;
    }
    lua_pushlstring(L, (const char *)cursor->bytes + cursor->offset, length);
    cursor->offset += length;
}

static void unpack_array(lua_State *L, cursor_t *cursor, size_t count) {
    luaL_checkstack(L, 4, "cmsgpack: too deep");
    lua_newtable(L);
    for (size_t i = 1; i <= count && !cursor->failed; i++) {
        unpack_value(L, cursor);
        lua_rawseti(L, -2, (int)i);
    }
}

static void unpack_map(lua_State *L, cursor_t *cursor, size_t count) {
    luaL_checkstack(L, 4, "cmsgpack: too deep");
    lua_newtable(L);
    for (size_t i = 0; i < count && !cursor->failed; i++) {
        unpack_value(L, cursor);
        unpack_value(L, cursor);
        if (lua_isnil(L, -2)) {
            lua_pop(L, 2);
        } else {
            lua_rawset(L, -3);
        }
    }
}

static void unpack_value(lua_State *L, cursor_t *cursor) {
    if (cursor->offset >= cursor->length) {
        cursor->failed = 1;
        lua_pushnil(L);
        return;
    }
    unsigned char type = cursor->bytes[cursor->offset++];
    if (type < 0x80) { lua_pushnumber(L, type); return; }
    if (type >= 0xe0) { lua_pushnumber(L, (int8_t)type); return; }
    if ((type & 0xf0) == 0x80) { unpack_map(L, cursor, type & 0x0f); return; }
    if ((type & 0xf0) == 0x90) { unpack_array(L, cursor, type & 0x0f); return; }
    if ((type & 0xe0) == 0xa0) { unpack_string(L, cursor, type & 0x1f); return; }
    switch (type) {
    case 0xc0: lua_pushnil(L); return;
    case 0xc2: lua_pushboolean(L, 0); return;
    case 0xc3: lua_pushboolean(L, 1); return;
    case 0xca: {
        uint32_t bits = (uint32_t)read_big_endian(cursor, 4);
        float value;
        memcpy(&value, &bits, 4);
        lua_pushnumber(L, value);
        return;
    }
    case 0xcb: {
        uint64_t bits = read_big_endian(cursor, 8);
        double value;
        memcpy(&value, &bits, 8);
        lua_pushnumber(L, value);
        return;
    }
    case 0xcc: lua_pushnumber(L, (lua_Number)read_big_endian(cursor, 1)); return;
    case 0xcd: lua_pushnumber(L, (lua_Number)read_big_endian(cursor, 2)); return;
    case 0xce: lua_pushnumber(L, (lua_Number)read_big_endian(cursor, 4)); return;
    case 0xcf: lua_pushnumber(L, (lua_Number)read_big_endian(cursor, 8)); return;
    case 0xd0: lua_pushnumber(L, (int8_t)read_big_endian(cursor, 1)); return;
    case 0xd1: lua_pushnumber(L, (int16_t)read_big_endian(cursor, 2)); return;
    case 0xd2: lua_pushnumber(L, (int32_t)read_big_endian(cursor, 4)); return;
    case 0xd3: lua_pushnumber(L, (lua_Number)(int64_t)read_big_endian(cursor, 8)); return;
    case 0xc4: case 0xd9: unpack_string(L, cursor, (size_t)read_big_endian(cursor, 1)); return;
    case 0xc5: case 0xda: unpack_string(L, cursor, (size_t)read_big_endian(cursor, 2)); return;
    case 0xc6: case 0xdb: unpack_string(L, cursor, (size_t)read_big_endian(cursor, 4)); return;
    case 0xdc: unpack_array(L, cursor, (size_t)read_big_endian(cursor, 2)); return;
    case 0xdd: unpack_array(L, cursor, (size_t)read_big_endian(cursor, 4)); return;
    case 0xde: unpack_map(L, cursor, (size_t)read_big_endian(cursor, 2)); return;
    case 0xdf: unpack_map(L, cursor, (size_t)read_big_endian(cursor, 4)); return;
    default:
        cursor->failed = 1;
        lua_pushnil(L);
    }
}

// Unpacks up to `limit` objects (0: all) from `offset`; with `with_offset`, first returns where
// the next object starts (-1 at the end).
static int unpack_from(lua_State *L, int limit, size_t offset, int with_offset) {
    size_t length;
    const char *text = luaL_checklstring(L, 1, &length);
    cursor_t cursor = {(const unsigned char *)text, length, offset, 0};
    int base = lua_gettop(L);
    if (with_offset) lua_pushnil(L);
    int count = 0;
    while (cursor.offset < cursor.length && (limit == 0 || count < limit)) {
        luaL_checkstack(L, 2, "cmsgpack: too many objects");
        unpack_value(L, &cursor);
        if (cursor.failed) {
            lua_settop(L, base);
            return luaL_error(L, "Bad data format in input.");
        }
        count++;
    }
    if (with_offset) {
        lua_pushnumber(L, cursor.offset >= cursor.length ? -1 : (lua_Number)cursor.offset);
        lua_replace(L, base + 1);
    }
    return count + (with_offset ? 1 : 0);
}

static int unpack(lua_State *L) { return unpack_from(L, 0, 0, 0); }

static int unpack_one(lua_State *L) {
    lua_Number offset = luaL_optnumber(L, 2, 0);
    if (offset < 0) return luaL_error(L, "Offset can't be negative");
    lua_settop(L, 1);
    return unpack_from(L, 1, (size_t)offset, 1);
}

static int unpack_limit(lua_State *L) {
    int limit = luaL_checkint(L, 2);
    lua_Number offset = luaL_optnumber(L, 3, 0);
    if (offset < 0 || limit < 0) return luaL_error(L, "Invalid request to unpack with offset of %d and limit of %d.", (int)offset, limit);
    lua_settop(L, 1);
    return unpack_from(L, limit, (size_t)offset, 1);
}

int sg_luaopen_cmsgpack(lua_State *L) {
    static const luaL_Reg functions[] = {
        {"pack", pack}, {"unpack", unpack}, {"unpack_one", unpack_one}, {"unpack_limit", unpack_limit}, {NULL, NULL},
    };
    luaL_register(L, "cmsgpack", functions);
    lua_pushliteral(L, "cmsgpack");
    lua_setfield(L, -2, "_NAME");
    return 1;
}
