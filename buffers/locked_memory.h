// locked_memory.h: what io_uring memory costs in locked memory, and the error that says so.
//
// Unless the process has CAP_IPC_LOCK, the kernel charges every page of an io_uring's
// SQ/CQ rings and SQE array, and of every provided-buffer ring, to the user's
// RLIMIT_MEMLOCK, and refuses with ENOMEM past it. A buffer ring costs the same whether the
// application maps it or the kernel allocates it (IOU_PBUF_RING_MMAP: both go through the
// same io_uring memory-region code), and the page is the unit, so a ring of 8 descriptors
// costs 4 KiB. The limit is per process but the count is per user: every io_uring of every
// process of the user draws on the same amount. Measured on 6.18 (x86-64, 4 KiB pages) as
// an unprivileged user: an io_uring of 4096 SQ / 16384 CQ entries is charged 133 pages, of
// 1024 / 4096 entries 34, of 8 / 16 entries 2; a buffer ring of up to 256 entries 1 page
// (user-mapped or IOU_PBUF_RING_MMAP alike), of 1024 entries 4. Debian's default of 8 MiB
// is 2048 pages.
//
//   if (err == -ENOMEM) {
//     return LockedMemoryError("io_uring_queue_init", IoUringLockedBytes(4096, 16384));
//   }
//
// Thread-safe.
#ifndef RINGSIDE_BUFFERS_LOCKED_MEMORY_H_
#define RINGSIDE_BUFFERS_LOCKED_MEMORY_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"

namespace ringside {

// Locked memory an io_uring of these sizes is charged (entries rounded up to powers of two
// as the kernel does; SQ/CQ rings and SQE array, each rounded up to whole pages; the ring
// header counted at its largest).
size_t IoUringLockedBytes(unsigned sq_entries, unsigned cq_entries);

// ResourceExhausted for `what`, refused with ENOMEM although it needed only `bytes` of
// locked memory. When RLIMIT_MEMLOCK is finite the message names it, its value, and the
// fixes: raise it (`ulimit -l`, LimitMEMLOCK= in a systemd unit), or use fewer or smaller
// rings.
absl::Status LockedMemoryError(const std::string& what, size_t bytes);

}  // namespace ringside

#endif  // RINGSIDE_BUFFERS_LOCKED_MEMORY_H_
