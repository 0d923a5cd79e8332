#include "ringside/services/heap_trimmer.h"

#include <malloc.h>

namespace ringside {

HeapTrimmer::HeapTrimmer(HeapTrimmerConfig config) : config_(config) {
  // Setting it at all turns off glibc's dynamic threshold, which is the point.
  mallopt(M_MMAP_THRESHOLD, static_cast<int>(config_.mmap_threshold));
}

size_t HeapTrimmer::FreeBytes() { return mallinfo2().fordblks; }

bool HeapTrimmer::MaybeTrim() {
  if (FreeBytes() <= config_.trim_above) return false;
  malloc_trim(0);
  ++trims_;
  return true;
}

}  // namespace ringside
