#include "CLuaShim.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Lua's allocator for the node's scripting state.
//
// A script call allocates and frees dozens of small blocks (its KEYS and ARGV tables, the strings
// of its arguments and of every reply, closures), and glibc's malloc/free were about 5% of the
// node's CPU under EVALSHA and FCALL. Lua tells its allocator the size of every block it frees,
// so freed small blocks go to a free list per 16-byte size class, without a header, and the next
// allocation of that class pops one. The lists keep at most `POOL_LIMIT` bytes; beyond that, and
// for blocks over `LARGEST_POOLED` bytes, blocks go straight back to malloc.

#define CLASS_BYTES 16
#define LARGEST_POOLED 256
#define CLASSES (LARGEST_POOLED / CLASS_BYTES)
#define POOL_LIMIT (1 << 20)

typedef struct free_block {
    struct free_block *next;
} free_block;

typedef struct {
    free_block *lists[CLASSES];
    size_t pooled_bytes;
} block_pool;

/// The class of a block of `size` bytes (1...LARGEST_POOLED), and the bytes every block of it has.
static inline size_t class_of(size_t size) { return (size - 1) / CLASS_BYTES; }
static inline size_t class_bytes(size_t class) { return (class + 1) * CLASS_BYTES; }
static inline int is_pooled(size_t size) { return size > 0 && size <= LARGEST_POOLED; }

static void *pool_take(block_pool *pool, size_t size) {
    size_t class = class_of(size);
    free_block *block = pool->lists[class];
    if (block == NULL) return malloc(class_bytes(class));
    pool->lists[class] = block->next;
    pool->pooled_bytes -= class_bytes(class);
    return block;
}

/// Keeps a freed block for reuse (or frees it: a large block, or the lists are full).
static void pool_give(block_pool *pool, void *pointer, size_t size) {
    if (!is_pooled(size) || pool->pooled_bytes >= POOL_LIMIT) {
        free(pointer);
        return;
    }
    size_t class = class_of(size);
    free_block *block = pointer;
    block->next = pool->lists[class];
    pool->lists[class] = block;
    pool->pooled_bytes += class_bytes(class);
}

/// Lua's `lua_Alloc`: `old_size` is the exact size of `pointer`'s block (0 when `pointer` is NULL).
static void *pool_alloc(void *context, void *pointer, size_t old_size, size_t new_size) {
    block_pool *pool = context;
    if (new_size == 0) {
        if (pointer != NULL) pool_give(pool, pointer, old_size);
        return NULL;
    }
    if (pointer == NULL) return is_pooled(new_size) ? pool_take(pool, new_size) : malloc(new_size);
    if (!is_pooled(old_size) && !is_pooled(new_size)) return realloc(pointer, new_size);
    if (is_pooled(old_size) && is_pooled(new_size) && class_of(old_size) == class_of(new_size)) return pointer;
    void *block = is_pooled(new_size) ? pool_take(pool, new_size) : malloc(new_size);
    if (block == NULL) return NULL;
    memcpy(block, pointer, old_size < new_size ? old_size : new_size);
    pool_give(pool, pointer, old_size);
    return block;
}

static int panic(lua_State *L) {
    fprintf(stderr, "PANIC: unprotected error in call to Lua API (%s)\n", lua_tostring(L, -1));
    return 0;
}

lua_State *sg_lua_newstate(void) {
    block_pool *pool = calloc(1, sizeof(block_pool));
    if (pool == NULL) return NULL;
    lua_State *L = lua_newstate(pool_alloc, pool);
    if (L == NULL) {
        free(pool);
        return NULL;
    }
    lua_atpanic(L, panic);
    return L;
}

void sg_lua_close(lua_State *L) {
    void *context = NULL;
    lua_getallocf(L, &context);
    lua_close(L);
    block_pool *pool = context;
    for (size_t class = 0; class < CLASSES; class++) {
        free_block *block = pool->lists[class];
        while (block != NULL) {
            free_block *next = block->next;
            free(block);
            block = next;
        }
    }
    free(pool);
}
