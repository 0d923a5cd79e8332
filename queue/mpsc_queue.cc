#include "queue/mpsc_queue.h"

#include <algorithm>
#include <bit>
#include <cstdint>

namespace ringside::mpsc_queue_internal {

size_t RoundUpCapacity(size_t capacity) {
  // Capped so that std::bit_ceil stays defined; a request that large fails to allocate.
  constexpr size_t kLargestPowerOfTwo = (SIZE_MAX >> 1) + 1;
  return std::bit_ceil(std::clamp<size_t>(capacity, 2, kLargestPowerOfTwo));
}

}  // namespace ringside::mpsc_queue_internal
