// The consumer has a queue/ package of its own; ringside's headers still find theirs.
#include "queue/mpsc_queue.h"  // the consumer's

#include <cstdint>

#include "ringside/queue/mailbox.h"  // ringside's, which includes ringside/queue/mpsc_queue.h

int main() {
  ringside::MpscUlongQueue queue(16);
  const bool pushed = queue.TryPush(uint64_t{consumer::kOwnQueue});
  uint64_t item = 0;
  return pushed && queue.TryPop(&item) && item == 1 ? 0 : 1;
}
