// gid_allocator.h: hands out 16-bit buffer group ids (bgids) for per-connection rings.
//
// Ids come from an inclusive range, [2, 65535] by default: bgid 0 and 1 are reserved for
// shared rings and are never handed out, even when the range includes them. Acquire and
// Release are O(1). Released ids are reused last-in first-out, so a busy server keeps
// reusing a small, warm set of ids (and of kernel buffer-list entries).
//
//   GidAllocator gids;                       // [2, 65535]
//   std::optional<uint16_t> bgid = gids.Acquire();
//   if (!bgid) { /* none left: refuse the connection */ }
//   absl::Status s = gids.Release(*bgid);    // errors on double or foreign release
//
// Thread-safety: single-threaded by contract; each reactor owns its own allocator.
#ifndef RINGSIDE_BUFFERS_GID_ALLOCATOR_H_
#define RINGSIDE_BUFFERS_GID_ALLOCATOR_H_

#include "ringside/base/cxx20.h"  // first: below C++20, one clear error

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"

namespace ringside {

class GidAllocator {
 public:
  static constexpr uint16_t kReservedBelow = 2;  // 0 and 1 belong to shared rings

  explicit GidAllocator(uint16_t first = kReservedBelow, uint16_t last = 65535);

  // An unused id, or nullopt when every id of the range is in use.
  std::optional<uint16_t> Acquire();
  // Returns `gid` to the allocator. FailedPrecondition if it is not in use (double release),
  // InvalidArgument if this allocator never hands it out; either way nothing changes.
  absl::Status Release(uint16_t gid);

  size_t in_use() const { return in_use_count_; }
  size_t capacity() const { return capacity_; }
  size_t high_water() const { return high_water_; }

 private:
  bool InRange(uint16_t gid) const { return gid >= first_ && gid <= last_; }

  uint16_t first_;
  uint16_t last_;
  size_t capacity_;
  std::vector<uint16_t> free_;     // stack: the next id to hand out is at the back
  std::vector<bool> in_use_;       // indexed by gid - first_
  size_t in_use_count_ = 0;
  size_t high_water_ = 0;
};

}  // namespace ringside

#endif  // RINGSIDE_BUFFERS_GID_ALLOCATOR_H_
