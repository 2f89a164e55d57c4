#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import CFuzzerDriver

exit(shardgate_fuzz_main(CommandLine.argc, CommandLine.unsafeArgv, fuzzRDB))
