#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "queue/mpsc_queue.h"

namespace ringside {
namespace {

// Items carry their producer in the high 32 bits and that producer's sequence number in
// the low 32, so the consumer can check per-producer order and exactly-once delivery.
uint64_t Encode(uint64_t producer, uint64_t sequence) { return producer << 32 | sequence; }

// Runs `producers` threads that each push `per_producer` items (spinning with yield on a
// full queue) while this thread drains, and checks every item arrives once, in its
// producer's order.
void RunProducersAndCheckDelivery(MpscUlongQueue& q, int producers, uint32_t per_producer) {
  std::atomic<bool> start{false};
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&q, &start, p, per_producer] {
      while (!start.load(std::memory_order_acquire)) std::this_thread::yield();
      for (uint32_t i = 0; i < per_producer; ++i) {
        while (!q.TryPush(Encode(p, i))) std::this_thread::yield();
      }
    });
  }
  start.store(true, std::memory_order_release);

  std::vector<uint32_t> next(producers, 0);
  const uint64_t total = static_cast<uint64_t>(producers) * per_producer;
  uint64_t received = 0;
  uint64_t misordered = 0;
  while (received < total) {
    const size_t n = q.Drain([&](uint64_t&& item) {
      const uint64_t producer = item >> 32;
      const uint32_t sequence = static_cast<uint32_t>(item);
      if (producer >= next.size() || next[producer] != sequence) {
        ++misordered;
      } else {
        ++next[producer];
      }
    });
    received += n;
    if (n == 0) std::this_thread::yield();
  }
  for (std::thread& t : threads) t.join();

  EXPECT_EQ(misordered, 0u);
  for (int p = 0; p < producers; ++p) EXPECT_EQ(next[p], per_producer) << "producer " << p;
  uint64_t extra = 0;
  EXPECT_FALSE(q.TryPop(&extra)) << "unexpected item " << extra;
  EXPECT_LE(q.HighWater(), q.capacity());
}

TEST(MpscQueueConcurrencyTest, FourProducersMillionItemsEachExactlyOnceInProducerOrder) {
  constexpr uint32_t kPerProducer = 1'000'000;
  MpscUlongQueue q(1024);
  RunProducersAndCheckDelivery(q, 4, kPerProducer);
}

TEST(MpscQueueConcurrencyTest, TinyQueueUnderContentionLosesAndDuplicatesNothing) {
  // With two cells nearly every push races a full queue, so a failed push that burned a
  // ticket or a cell would show up as a lost, duplicated or reordered item, or a hang.
  MpscUlongQueue q(2);
  RunProducersAndCheckDelivery(q, 3, 50'000);
}

}  // namespace
}  // namespace ringside
