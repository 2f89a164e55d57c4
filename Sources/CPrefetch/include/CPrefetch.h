#ifndef SHARDGATE_CPREFETCH_H
#define SHARDGATE_CPREFETCH_H

/// Asks the CPU to start loading the cache line at `address` without waiting for it. A hint only:
/// any address is allowed, nothing is read. Swift has no prefetch intrinsic; this inline function
/// compiles to the one instruction.
static inline void shardgate_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif
