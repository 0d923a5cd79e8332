// fd_budget.h: how many connections the process's file-descriptor limit lets it hold, so
// the server can say so at start and refuse connections beyond it cleanly instead of
// running into EMFILE at accept.
//
//   absl::StatusOr<FdBudget> budget = RaiseFdLimit(/*reserved=*/64 + 4 * reactors);
//   if (!budget.ok()) ...;                     // no room for a single connection
//   max_total = std::min(max_total, budget->connections);
//
// Thread-safety: RaiseFdLimit changes a process-wide limit; call it once, before threads
// that open files start.
#ifndef RINGSIDE_SERVICES_FD_BUDGET_H_
#define RINGSIDE_SERVICES_FD_BUDGET_H_

#include <cstdint>

#include "absl/status/statusor.h"

namespace ringside {

struct FdBudget {
  uint64_t soft_limit = 0;   // RLIMIT_NOFILE's soft limit, after raising it
  uint64_t hard_limit = 0;
  uint64_t open_at_start = 0;  // descriptors already open (stdio, inherited ones)
  uint64_t reserved = 0;     // kept for everything but connections
  uint64_t connections = 0;  // what is left: one descriptor per connection
};

// Raises the soft RLIMIT_NOFILE to the hard limit (the soft default, often 1024, is a
// compatibility limit for select(); the hard one is the administrator's) and works out how
// many connections fit beside what is open and `reserved`. ResourceExhausted, naming
// RLIMIT_NOFILE and the figures, when not even one does.
absl::StatusOr<FdBudget> RaiseFdLimit(uint64_t reserved);

}  // namespace ringside

#endif  // RINGSIDE_SERVICES_FD_BUDGET_H_
