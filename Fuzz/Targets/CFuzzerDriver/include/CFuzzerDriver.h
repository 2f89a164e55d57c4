#ifndef SHARDGATE_C_FUZZER_DRIVER_H
#define SHARDGATE_C_FUZZER_DRIVER_H

/// Runs libFuzzer's driver (LLVMFuzzerRunDriver, in the libFuzzer runtime `-sanitize=fuzzer` links)
/// on the target's `LLVMFuzzerTestOneInput`. SwiftPM gives every executable its own `main`, so
/// each target's main.swift calls this.
int shardgate_fuzz_main(int argc, char *_Nullable *_Nonnull argv);

#endif
