// The GID allocator alone: it needs libabsl-dev and nothing else of the system's.
#include <cstdint>
#include <optional>

#include "ringside/buffers/gid_allocator.h"

int main() {
  ringside::GidAllocator gids(2, 3);
  const std::optional<uint16_t> a = gids.Acquire();
  const std::optional<uint16_t> b = gids.Acquire();
  if (!a || !b || gids.Acquire().has_value()) return 1;  // only two ids in [2, 3]
  if (!gids.Release(*a).ok() || gids.Release(*a).ok()) return 1;  // double release refused
  return gids.Acquire() == a ? 0 : 1;
}
