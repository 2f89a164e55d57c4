#include "CFuzzerDriver.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
/// The target, defined in Swift with @_cdecl.
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/// The Swift side takes a non-null pointer; give it one for an empty input.
static int trampoline(const uint8_t *data, size_t size) {
    static const uint8_t empty = 0;
    return LLVMFuzzerTestOneInput(data ? data : &empty, size);
}

int shardgate_fuzz_main(int argc, char *_Nullable *_Nonnull argv) {
    return LLVMFuzzerRunDriver(&argc, (char ***)&argv, trampoline);
}
