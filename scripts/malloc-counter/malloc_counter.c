// LD_PRELOAD shim for scripts/alloc-budget: counts calls to the malloc family in the process it is
// loaded into and writes the total to stderr as "malloc_calls=N" on SIGUSR2. Not part of the product.
#define _GNU_SOURCE
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static atomic_ulong calls;

void *malloc(size_t size) { atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed); return __libc_malloc(size); }
void *calloc(size_t n, size_t size) { atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed); return __libc_calloc(n, size); }
void *realloc(void *p, size_t size) { atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed); return __libc_realloc(p, size); }
void free(void *p) { __libc_free(p); }
int posix_memalign(void **out, size_t alignment, size_t size) {
    atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
    *out = __libc_memalign(alignment, size);
    return *out ? 0 : 12;
}
void *aligned_alloc(size_t alignment, size_t size) {
    atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
    return __libc_memalign(alignment, size);
}
void *memalign(size_t alignment, size_t size) {
    atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
    return __libc_memalign(alignment, size);
}

static void report(int signal) {
    (void)signal;
    char text[48] = "malloc_calls=";
    char digits[24];
    unsigned long value = atomic_load(&calls);
    int n = 0;
    do { digits[n++] = (char)('0' + value % 10); value /= 10; } while (value);
    int at = 13;
    while (n) text[at++] = digits[--n];
    text[at++] = '\n';
    write(2, text, (size_t)at);
}

__attribute__((constructor)) static void install(void) { signal(SIGUSR2, report); }
