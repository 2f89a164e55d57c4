// Binary packing for scripts: the `struct` table Redis gives Lua (pack, unpack, size), written for
// the node with the format language of Roberto Ierusalimschy's struct library that Redis bundles:
//   >  <     big / little endian (little is the default here, as on the machines Redis runs on)
//   !n       largest alignment n (a power of 2; `!` alone: the platform's); no alignment by default
//   x        a zero byte
//   b B      signed / unsigned char      h H   short      l L   long      T   size_t
//   i[n] I[n] signed / unsigned integer of n bytes (default sizeof(int), at most 32)
//   f d      float, double
//   c[n]     n bytes (pack: `c0` takes the whole string; unpack: `c0` takes the length read just
//            before); s   a zero-terminated string;   ' '  ignored
// Integers are handled as 64-bit values, and numbers are Lua's doubles, as in Redis.
#include "CLuaShim.h"
#include <ctype.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define MAX_INT_SIZE 32
#define BIG_ENDIAN_ORDER 0
#define LITTLE_ENDIAN_ORDER 1

struct alignment_probe {
    char c;
    union {
        double d;
        void *p;
        lua_Number n;
    } u;
};
#define MAX_ALIGN (offsetof(struct alignment_probe, u))

typedef struct {
    int endian;
    int align;
} header_t;

static int native_endian(void) {
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1 ? LITTLE_ENDIAN_ORDER : BIG_ENDIAN_ORDER;
}

static void default_header(header_t *h) {
    h->endian = native_endian();
    h->align = 1;
}

/// Digits at `*format` as a number (advancing past them), or `otherwise` when there are none.
static int read_number(lua_State *L, const char **format, int otherwise) {
    if (!isdigit((unsigned char)**format)) return otherwise;
    int value = 0;
    do {
        int digit = **format - '0';
        if (value > (INT_MAX / 10) || value * 10 > (INT_MAX - digit)) luaL_error(L, "integral size overflow");
        value = value * 10 + digit;
        (*format)++;
    } while (isdigit((unsigned char)**format));
    return value;
}

/// The size of option `option` (reading its count, if it takes one); 0 for options without a size.
static size_t option_size(lua_State *L, int option, const char **format) {
    switch (option) {
    case 'B': case 'b': return sizeof(char);
    case 'H': case 'h': return sizeof(short);
    case 'L': case 'l': return sizeof(long);
    case 'T': return sizeof(size_t);
    case 'f': return sizeof(float);
    case 'd': return sizeof(double);
    case 'x': return 1;
    case 'c': return (size_t)read_number(L, format, 1);
    case 'i': case 'I': {
        int size = read_number(L, format, sizeof(int));
        if (size > MAX_INT_SIZE) luaL_error(L, "integral size %d is larger than limit of %d", size, MAX_INT_SIZE);
        return (size_t)size;
    }
    default: return 0;
    }
}

/// Padding bytes before an item of `size` at offset `offset`.
static size_t padding(size_t offset, const header_t *h, int option, size_t size) {
    if (size == 0 || option == 'c') return 0;
    if (size > (size_t)h->align) size = (size_t)h->align;
    return (size - (offset & (size - 1))) & (size - 1);
}

/// Endianness, alignment and spaces; anything else is an invalid option.
static void control_option(lua_State *L, int option, const char **format, header_t *h) {
    switch (option) {
    case ' ': return;
    case '>': h->endian = BIG_ENDIAN_ORDER; return;
    case '<': h->endian = LITTLE_ENDIAN_ORDER; return;
    case '!': {
        int align = read_number(L, format, (int)MAX_ALIGN);
        if (align <= 0 || (align & (align - 1)) != 0) luaL_error(L, "alignment %d is not a power of 2", align);
        h->align = align;
        return;
    }
    default: {
        const char *message = lua_pushfstring(L, "invalid format option '%c'", option);
        luaL_argerror(L, 1, message);
    }
    }
}

static void put_integer(lua_State *L, luaL_Buffer *buffer, int argument, int endian, size_t size) {
    lua_Number number = luaL_checknumber(L, argument);
    uint64_t value = number < 0 ? (uint64_t)(int64_t)number : (uint64_t)number;
    char bytes[MAX_INT_SIZE];
    for (size_t i = 0; i < size; i++) {
        size_t at = endian == LITTLE_ENDIAN_ORDER ? i : size - 1 - i;
        bytes[at] = (char)(i < 8 ? (value >> (8 * i)) & 0xff : 0);
    }
    luaL_addlstring(buffer, bytes, size);
}

static lua_Number get_integer(const char *bytes, int endian, int is_signed, size_t size) {
    uint64_t value = 0;
    for (size_t i = 0; i < size; i++) {
        size_t at = endian == BIG_ENDIAN_ORDER ? i : size - 1 - i;
        value = (value << 8) | (unsigned char)bytes[at];
    }
    if (!is_signed) return (lua_Number)value;
    size_t bits = size * 8 > 64 ? 64 : size * 8;
    uint64_t mask = ~(uint64_t)0 << (bits - 1);
    if (value & mask) value |= mask;
    return (lua_Number)(int64_t)value;
}

/// Reverses `bytes` when `endian` is not the machine's (floats and doubles).
static void to_order(char *bytes, size_t size, int endian) {
    if (endian == native_endian()) return;
    for (size_t i = 0, j = size - 1; i < j; i++, j--) {
        char swap = bytes[i];
        bytes[i] = bytes[j];
        bytes[j] = swap;
    }
}

/// A float (`size` 4) or a double (8) in `endian` order.
static void put_float(lua_State *L, luaL_Buffer *buffer, int argument, int endian, size_t size) {
    lua_Number number = luaL_checknumber(L, argument);
    char bytes[sizeof(double)];
    if (size == sizeof(float)) {
        float value = (float)number;
        memcpy(bytes, &value, size);
    } else {
        double value = number;
        memcpy(bytes, &value, size);
    }
    to_order(bytes, size, endian);
    luaL_addlstring(buffer, bytes, size);
}

static lua_Number get_float(const char *data, int endian, size_t size) {
    char bytes[sizeof(double)];
    memcpy(bytes, data, size);
    to_order(bytes, size, endian);
    if (size == sizeof(float)) {
        float value;
        memcpy(&value, bytes, size);
        return value;
    }
    double value;
    memcpy(&value, bytes, size);
    return value;
}

static int struct_pack(lua_State *L) {
    header_t h;
    const char *format = luaL_checkstring(L, 1);
    int argument = 2;
    size_t total = 0;
    luaL_Buffer buffer;
    default_header(&h);
    lua_pushnil(L); // keeps the arguments apart from the buffer's stack slots
    luaL_buffinit(L, &buffer);
    while (*format != '\0') {
        int option = *format++;
        size_t size = option_size(L, option, &format);
        size_t pad = padding(total, &h, option, size);
        total += pad;
        while (pad-- > 0) luaL_addchar(&buffer, '\0');
        switch (option) {
        case 'b': case 'B': case 'h': case 'H': case 'l': case 'L': case 'T': case 'i': case 'I':
            put_integer(L, &buffer, argument++, h.endian, size);
            break;
        case 'x':
            luaL_addchar(&buffer, '\0');
            break;
        case 'f': case 'd':
            put_float(L, &buffer, argument++, h.endian, size);
            break;
        case 'c': case 's': {
            size_t length;
            const char *text = luaL_checklstring(L, argument++, &length);
            if (size == 0) size = length;
            luaL_argcheck(L, length >= size, argument, "string too short");
            luaL_addlstring(&buffer, text, size);
            if (option == 's') {
                luaL_addchar(&buffer, '\0');
                size++;
            }
            break;
        }
        default:
            control_option(L, option, &format, &h);
        }
        total += size;
    }
    luaL_pushresult(&buffer);
    return 1;
}

static int struct_unpack(lua_State *L) {
    header_t h;
    const char *format = luaL_checkstring(L, 1);
    size_t length;
    const char *data = luaL_checklstring(L, 2, &length);
    lua_Integer start = luaL_optinteger(L, 3, 1);
    luaL_argcheck(L, start > 0, 3, "offset must be 1 or greater");
    size_t position = (size_t)start - 1;
    int results = 0;
    default_header(&h);
    while (*format != '\0') {
        int option = *format++;
        size_t size = option_size(L, option, &format);
        position += padding(position, &h, option, size);
        luaL_argcheck(L, size <= length && position <= length - size, 2, "data string too short");
        luaL_checkstack(L, 2, "too many results");
        switch (option) {
        case 'b': case 'B': case 'h': case 'H': case 'l': case 'L': case 'T': case 'i': case 'I':
            lua_pushnumber(L, get_integer(data + position, h.endian, islower(option), size));
            results++;
            break;
        case 'x':
            break;
        case 'f': case 'd':
            lua_pushnumber(L, get_float(data + position, h.endian, size));
            results++;
            break;
        case 'c':
            if (size == 0) {
                if (results == 0 || !lua_isnumber(L, -1)) luaL_error(L, "format 'c0' needs a previous size");
                size = (size_t)lua_tonumber(L, -1);
                lua_pop(L, 1);
                results--;
                luaL_argcheck(L, size <= length && position <= length - size, 2, "data string too short");
            }
            lua_pushlstring(L, data + position, size);
            results++;
            break;
        case 's': {
            const char *end = memchr(data + position, '\0', length - position);
            if (end == NULL) luaL_error(L, "unfinished string in data");
            size = (size_t)(end - (data + position)) + 1;
            lua_pushlstring(L, data + position, size - 1);
            results++;
            break;
        }
        default:
            control_option(L, option, &format, &h);
        }
        position += size;
    }
    lua_pushinteger(L, (lua_Integer)position + 1);
    return results + 1;
}

static int struct_size(lua_State *L) {
    header_t h;
    const char *format = luaL_checkstring(L, 1);
    size_t position = 0;
    default_header(&h);
    while (*format != '\0') {
        int option = *format++;
        size_t size = option_size(L, option, &format);
        position += padding(position, &h, option, size);
        if (option == 's') {
            luaL_argerror(L, 1, "option 's' has no fixed size");
        } else if (option == 'c' && size == 0) {
            luaL_argerror(L, 1, "option 'c0' has no fixed size");
        }
        if (!isalnum(option)) control_option(L, option, &format, &h);
        position += size;
    }
    lua_pushinteger(L, (lua_Integer)position);
    return 1;
}

int sg_luaopen_struct(lua_State *L) {
    static const luaL_Reg functions[] = {
        {"pack", struct_pack},
        {"unpack", struct_unpack},
        {"size", struct_size},
        {NULL, NULL},
    };
    luaL_register(L, "struct", functions);
    return 1;
}
