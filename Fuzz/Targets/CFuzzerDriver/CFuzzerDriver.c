#include "CFuzzerDriver.h"

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

static int (*target)(const uint8_t *_Nonnull data, size_t size);

/// libFuzzer may pass a null pointer with an empty input; the targets take a non-null one.
static int trampoline(const uint8_t *data, size_t size) {
    static const uint8_t empty = 0;
    return target(data ? data : &empty, size);
}

int shardgate_fuzz_main(int argc, char *_Nullable *_Nonnull argv,
                        int (*_Nonnull test)(const uint8_t *_Nonnull data, size_t size)) {
    target = test;
    return LLVMFuzzerRunDriver(&argc, (char ***)&argv, trampoline);
}
