#ifndef SHARDGATE_CMALLOCINFO_H
#define SHARDGATE_CMALLOCINFO_H

#include <stddef.h>

/// Bytes the C allocator has handed out and not taken back: glibc's `mallinfo2()` `uordblks`
/// (in-use chunks of every arena) plus `hblkhd` (chunks served by mmap). Elsewhere, the resident
/// set size when the platform reports it cheaply, otherwise 0.
///
/// Cost: glibc walks the free lists of every arena under its lock, so a call costs from about a
/// microsecond (few free chunks) to milliseconds (hundreds of thousands); callers rate-limit it.
size_t shardgate_heap_in_use(void);

/// Gives memory the C allocator holds free back to the system (glibc `malloc_trim(0)`; nothing
/// elsewhere). glibc keeps freed chunks below its mmap threshold in its arenas, so the memory of a
/// large reply backlog would otherwise stay resident after the client is gone. Costs up to
/// milliseconds: for rare events only.
void shardgate_release_free_memory(void);

/// Lets the C allocator keep freed memory for reuse (glibc: buffers up to 4 MB from the arenas
/// rather than mmap, and up to 32 MB free at an arena's top before it is given back; nothing
/// elsewhere). With glibc's defaults, a proxy relaying large values gives the memory of each
/// burst of buffers back and faults it in again for the next: measured with 16 KB SETs through the
/// proxy, page faults were a tenth of its CPU, which spent 1.3 to 1.7 times as much per request. The memory stays
/// reusable, and `shardgate_release_free_memory` still gives it back.
void shardgate_keep_freed_memory(void);

#endif
