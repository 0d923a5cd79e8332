// ResidentBytes: how much of a process's memory is resident, as /proc/PID/statm tells it,
// for tests that hold the engine to a memory bound.
//
// Thread-safety: safe from any thread; each call reads the kernel's figure afresh.
#ifndef RINGSIDE_TESTS_PROCESS_MEMORY_H_
#define RINGSIDE_TESTS_PROCESS_MEMORY_H_

#include <sys/types.h>

#include <cstdint>

namespace ringside {

// Resident bytes of `pid` (0: this process); -1 if the process is gone.
int64_t ResidentBytes(pid_t pid = 0);

}  // namespace ringside

#endif  // RINGSIDE_TESTS_PROCESS_MEMORY_H_
