#include "ringside/buffers/gid_allocator.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace ringside {

GidAllocator::GidAllocator(uint16_t first, uint16_t last)
    : first_(std::max(first, kReservedBelow)), last_(last) {
  capacity_ = last_ >= first_ ? size_t{last_} - first_ + 1 : 0;
  in_use_.assign(capacity_, false);
  free_.reserve(capacity_);
  // Lowest ids first out: push them last.
  for (size_t i = capacity_; i > 0; --i) free_.push_back(static_cast<uint16_t>(first_ + i - 1));
}

std::optional<uint16_t> GidAllocator::Acquire() {
  if (free_.empty()) return std::nullopt;
  const uint16_t gid = free_.back();
  free_.pop_back();
  in_use_[gid - first_] = true;
  high_water_ = std::max(high_water_, ++in_use_count_);
  return gid;
}

absl::Status GidAllocator::Release(uint16_t gid) {
  if (capacity_ == 0 || !InRange(gid)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bgid ", gid, " was never handed out by this allocator (range ", first_,
                     "..", last_, ")"));
  }
  if (!in_use_[gid - first_]) {
    return absl::FailedPreconditionError(absl::StrCat("bgid ", gid, " is not in use"));
  }
  in_use_[gid - first_] = false;
  --in_use_count_;
  free_.push_back(gid);
  return absl::OkStatus();
}

}  // namespace ringside
