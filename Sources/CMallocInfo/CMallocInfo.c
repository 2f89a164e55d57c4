#include "CMallocInfo.h"

#include <stdlib.h> // defines __GLIBC__ on glibc

#if defined(__GLIBC__)
#include <malloc.h>

void shardgate_release_free_memory(void) {
    malloc_trim(0);
}

void shardgate_keep_freed_memory(void) {
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    mallopt(M_TRIM_THRESHOLD, 32 << 20);
}

size_t shardgate_heap_in_use(void) {
#if __GLIBC_PREREQ(2, 33)
    struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
#else
    // The old interface's int fields wrap past 2 GB; good enough where mallinfo2 is missing.
    struct mallinfo info = mallinfo();
    return (size_t)(unsigned int)info.uordblks + (size_t)(unsigned int)info.hblkhd;
#endif
}

#elif defined(__APPLE__)
#include <malloc/malloc.h>

size_t shardgate_heap_in_use(void) {
    malloc_statistics_t stats;
    malloc_zone_statistics(NULL, &stats);
    return stats.size_in_use;
}

#else

// No cheap allocator statistics (musl, ...): the caller falls back to the resident set size.
size_t shardgate_heap_in_use(void) {
    return 0;
}

#endif

#if !defined(__GLIBC__)
void shardgate_release_free_memory(void) {}
void shardgate_keep_freed_memory(void) {}
#endif
