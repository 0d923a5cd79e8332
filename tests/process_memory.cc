#include "ringside/tests/process_memory.h"

#include <unistd.h>

#include <fstream>

#include "absl/strings/str_cat.h"

namespace ringside {

int64_t ResidentBytes(pid_t pid) {
  std::ifstream statm(pid == 0 ? std::string("/proc/self/statm")
                               : absl::StrCat("/proc/", pid, "/statm"));
  int64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return -1;
  return resident * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace ringside
