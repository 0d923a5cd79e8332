// mpsc_queue: four threads hand numbers to one consumer through an MpscQueue.
//
// A push never blocks: TryPush returns false when the queue is full and the producer
// decides what to do (here: yield and retry). The consumer drains whatever is there.
// Exits 0 if every number arrived exactly once.
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <thread>
#include <vector>

#include "ringside/queue/mpsc_queue.h"

int main() {
  constexpr uint64_t kProducers = 4;
  constexpr uint64_t kPerProducer = 100000;
  ringside::MpscUlongQueue queue(1024);  // holds at most 1024 items at once

  std::vector<std::thread> producers;
  for (uint64_t p = 0; p < kProducers; ++p) {
    producers.emplace_back([&queue, p] {
      for (uint64_t i = 0; i < kPerProducer; ++i) {
        const uint64_t item = p * kPerProducer + i;
        while (!queue.TryPush(item)) std::this_thread::yield();  // full: wait for room
      }
    });
  }

  // The one consumer: this thread.
  std::vector<bool> seen(kProducers * kPerProducer, false);
  uint64_t received = 0;
  bool duplicate = false;
  while (received < kProducers * kPerProducer) {
    const size_t drained = queue.Drain([&](uint64_t&& item) {
      duplicate |= seen[item];
      seen[item] = true;
      ++received;
    });
    if (drained == 0) std::this_thread::yield();
  }
  for (std::thread& producer : producers) producer.join();

  std::printf("received %lu items from %lu producers%s\n", static_cast<unsigned long>(received),
              static_cast<unsigned long>(kProducers), duplicate ? ", some twice" : "");
  return duplicate ? 1 : 0;
}
