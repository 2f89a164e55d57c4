#ifndef SHARDGATE_CFORKCHILD_H
#define SHARDGATE_CFORKCHILD_H

#include <sys/types.h>

/// In a freshly forked child: ask the kernel to SIGKILL this process when its parent dies (Linux
/// `PR_SET_PDEATHSIG`; a no-op elsewhere), and exit at once if the parent `parent` is already gone.
/// A snapshot child must never outlive the node that forked it. (`prctl` is variadic, which Swift
/// cannot call, hence this shim.)
void shardgate_die_with_parent(pid_t parent);

#endif
