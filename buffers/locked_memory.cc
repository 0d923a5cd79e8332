#include "ringside/buffers/locked_memory.h"

#include <linux/io_uring.h>
#include <sys/resource.h>
#include <unistd.h>

#include <bit>

#include "absl/strings/str_cat.h"

namespace ringside {
namespace {

// The kernel's struct io_rings before its CQE array: heads, tails, masks, flags, each
// group on its own cache line. An upper bound; it only ever moves the figure by a page.
constexpr size_t kRingHeaderBytes = 256;

size_t Pages(size_t bytes) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return (bytes + page - 1) / page * page;
}

}  // namespace

size_t IoUringLockedBytes(unsigned sq_entries, unsigned cq_entries) {
  sq_entries = std::bit_ceil(sq_entries);  // as the kernel rounds them
  cq_entries = std::bit_ceil(cq_entries);
  const size_t rings = kRingHeaderBytes + size_t{cq_entries} * sizeof(io_uring_cqe) +
                       size_t{sq_entries} * sizeof(uint32_t);  // the SQ index array
  return Pages(rings) + Pages(size_t{sq_entries} * sizeof(io_uring_sqe));
}

absl::Status LockedMemoryError(const std::string& what, size_t bytes) {
  const std::string refused = absl::StrCat(what, ": Cannot allocate memory: it needs ",
                                           bytes / 1024, " KiB of locked memory");
  rlimit limit{};
  if (getrlimit(RLIMIT_MEMLOCK, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return absl::ResourceExhaustedError(refused);
  }
  return absl::ResourceExhaustedError(absl::StrCat(
      refused, ", and RLIMIT_MEMLOCK (", limit.rlim_cur / 1024,
      " KiB; every io_uring and buffer ring of this user's processes counts against it) has "
      "less left. Raise it (`ulimit -l`, LimitMEMLOCK= in a systemd unit, memlock in "
      "/etc/security/limits.conf) or use fewer or smaller rings"));
}

}  // namespace ringside
