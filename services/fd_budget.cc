#include "ringside/services/fd_budget.h"

#include <dirent.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace ringside {
namespace {

// Open descriptors, from /proc/self/fd (less the one the listing itself holds).
uint64_t OpenDescriptors() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  uint64_t n = 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n > 0 ? n - 1 : 0;
}

}  // namespace

absl::StatusOr<FdBudget> RaiseFdLimit(uint64_t reserved) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return absl::InternalError(absl::StrCat("getrlimit(RLIMIT_NOFILE): ", std::strerror(errno)));
  }
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  FdBudget budget;
  budget.soft_limit = limit.rlim_cur;
  budget.hard_limit = limit.rlim_max;
  budget.open_at_start = OpenDescriptors();
  budget.reserved = reserved;
  const uint64_t taken = budget.open_at_start + reserved;
  if (budget.soft_limit <= taken) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "RLIMIT_NOFILE is ", budget.soft_limit, " (hard limit ", budget.hard_limit, "), ",
        budget.open_at_start, " descriptors are open and ", reserved,
        " are needed besides connections: no room for any connection; raise it (ulimit -n, "
        "or LimitNOFILE= in a systemd unit)"));
  }
  budget.connections = budget.soft_limit - taken;
  return budget;
}

}  // namespace ringside
