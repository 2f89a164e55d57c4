#ifndef SHARDGATE_C_FUZZER_DRIVER_H
#define SHARDGATE_C_FUZZER_DRIVER_H

#include <stddef.h>
#include <stdint.h>

/// Runs libFuzzer's driver (LLVMFuzzerRunDriver, in the libFuzzer runtime `-sanitize=fuzzer`
/// links) with `test` as the target. SwiftPM gives every executable its own `main`, so the targets
/// call this from main.swift instead of relying on libFuzzer's `main`.
int shardgate_fuzz_main(int argc, char *_Nullable *_Nonnull argv,
                        int (*_Nonnull test)(const uint8_t *_Nonnull data, size_t size));

#endif
