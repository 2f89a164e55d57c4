#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import CFuzzerDriver

// libFuzzer runs LLVMFuzzerTestOneInput, defined (@_cdecl) next to this file.
exit(shardgate_fuzz_main(CommandLine.argc, CommandLine.unsafeArgv))
