#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "ringside/queue/mpsc_queue.h"

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

// The CPUs this process may run on (a test runner may allow fewer than the machine has).
std::vector<int> AllowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

void PinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  ASSERT_EQ(pthread_setaffinity_np(pthread_self(), sizeof(set), &set), 0) << "cpu " << cpu;
}

// Like RunProducersAndCheckDelivery, but the consumer runs on a thread of its own, alone
// on the first allowed CPU, and the producers are spread over the others, so every item,
// tail, head and credit crosses between cores; with one CPU nothing is pinned. The
// consumer asks for a different number of items each time (1 to 300), which moves where
// a Drain stops against the tails it knows of and against the producers' credit batches.
void RunPinnedProducersAndCheckDelivery(MpscUlongQueue& q, int producers,
                                        uint32_t per_producer) {
  const std::vector<int> cpus = AllowedCpus();
  const bool pin = cpus.size() >= 2;
  std::atomic<bool> start{false};
  std::vector<uint32_t> next(producers, 0);
  uint64_t misordered = 0;
  std::thread consumer([&] {
    if (pin) PinTo(cpus[0]);
    start.store(true, std::memory_order_release);
    const uint64_t total = static_cast<uint64_t>(producers) * per_producer;
    uint64_t received = 0;
    while (received < total) {
      const size_t n = q.Drain(
          [&](uint64_t&& item) {
            const uint64_t producer = item >> 32;
            if (producer >= next.size() || next[producer] != static_cast<uint32_t>(item)) {
              ++misordered;
            } else {
              ++next[producer];
            }
          },
          1 + received % 300);
      received += n;
      if (n == 0) std::this_thread::yield();
    }
  });
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      if (pin) PinTo(cpus[1 + p % (cpus.size() - 1)]);
      while (!start.load(std::memory_order_acquire)) std::this_thread::yield();
      for (uint32_t i = 0; i < per_producer; ++i) {
        while (!q.TryPush(Encode(p, i))) std::this_thread::yield();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  consumer.join();

  EXPECT_EQ(misordered, 0u);
  for (int p = 0; p < producers; ++p) EXPECT_EQ(next[p], per_producer) << "producer " << p;
  uint64_t extra = 0;
  EXPECT_FALSE(q.TryPop(&extra)) << "unexpected item " << extra;
  EXPECT_EQ(q.ApproxSize(), 0u);
  EXPECT_LE(q.HighWater(), q.capacity());
}

TEST(MpscQueueConcurrencyTest, ProducersPinnedAwayFromTheConsumerExactlyOnceInProducerOrder) {
  // A roomy queue (rings grow, the consumer mostly trails the producers' prefetches) and
  // a small one (every producer keeps running out of credits and ring).
  for (size_t capacity : {4096, 64}) {
    SCOPED_TRACE(capacity);
    MpscUlongQueue q(capacity);
    RunPinnedProducersAndCheckDelivery(q, 3, 200'000);
  }
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

TEST(MpscQueueConcurrencyTest, ProducerThreadsComingAndGoingLoseNothing) {
  // Waves of short-lived producers: each exit leaves a lane behind, and later threads take
  // those lanes over (with any credits the exited ones had not spent).
  constexpr int kWaves = 40;
  constexpr int kThreadsPerWave = 4;
  constexpr uint32_t kPerProducer = 2'000;
  MpscUlongQueue q(64);
  std::atomic<bool> producing{true};
  std::vector<uint32_t> next(kWaves * kThreadsPerWave, 0);
  uint64_t misordered = 0;
  std::thread consumer([&] {
    auto check = [&](uint64_t&& item) {
      const uint64_t producer = item >> 32;
      if (producer >= next.size() || next[producer] != static_cast<uint32_t>(item)) {
        ++misordered;
      } else {
        ++next[producer];
      }
    };
    while (producing.load(std::memory_order_acquire)) {
      if (q.Drain(check) == 0) std::this_thread::yield();
    }
    q.Drain(check);
  });
  for (int wave = 0; wave < kWaves; ++wave) {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreadsPerWave; ++t) {
      const uint64_t producer = wave * kThreadsPerWave + t;
      threads.emplace_back([&q, producer] {
        for (uint32_t i = 0; i < kPerProducer; ++i) {
          while (!q.TryPush(Encode(producer, i))) std::this_thread::yield();
        }
      });
    }
    for (std::thread& t : threads) t.join();
  }
  producing.store(false, std::memory_order_release);
  consumer.join();
  EXPECT_EQ(misordered, 0u);
  for (size_t p = 0; p < next.size(); ++p) EXPECT_EQ(next[p], kPerProducer) << "producer " << p;
  EXPECT_EQ(q.ApproxSize(), 0u);
}

TEST(MpscQueueConcurrencyTest, ExitedProducersCreditsComeBackToTheQueue) {
  // A producer holds room in batches; when its thread exits, the room it did not use must
  // go back, so that the queue still takes capacity() items.
  MpscUlongQueue q(1024);
  std::thread([&q] { ASSERT_TRUE(q.TryPush(Encode(1, 0))); }).join();
  size_t pushed = 1;
  while (q.TryPush(Encode(0, pushed))) ++pushed;
  EXPECT_EQ(pushed, q.capacity());
  EXPECT_EQ(q.ApproxSize(), q.capacity());
  EXPECT_EQ(q.Drain([](uint64_t&&) {}), q.capacity());
}

TEST(MpscQueueConcurrencyTest, ManyMoreProducersThanCapacity) {
  // 48 threads at once on 8 items of room: most lanes hold nothing most of the time.
  MpscUlongQueue q(8);
  RunProducersAndCheckDelivery(q, 48, 5'000);
}

TEST(MpscQueueConcurrencyTest, ProducerOutlivesQueue) {
  // The thread's table still names the first queue when it is destroyed; the second queue
  // (often at the same address) must get a lane of its own, and the thread's exit must
  // not touch the first one.
  auto first = std::make_unique<MpscQueue<std::shared_ptr<int>>>(16);
  std::unique_ptr<MpscQueue<std::shared_ptr<int>>> second;
  auto item = std::make_shared<int>(7);
  std::atomic<int> step{0};
  std::thread producer([&] {
    ASSERT_TRUE(first->TryPush(item));
    step.store(1, std::memory_order_release);
    while (step.load(std::memory_order_acquire) != 2) std::this_thread::yield();
    ASSERT_TRUE(second->TryPush(item));
  });
  while (step.load(std::memory_order_acquire) != 1) std::this_thread::yield();
  first.reset();  // destroys the item left in it
  EXPECT_EQ(item.use_count(), 1);
  second = std::make_unique<MpscQueue<std::shared_ptr<int>>>(16);
  step.store(2, std::memory_order_release);
  producer.join();
  std::shared_ptr<int> out;
  ASSERT_TRUE(second->TryPop(&out));
  EXPECT_EQ(out, item);
  EXPECT_FALSE(second->TryPop(&out));
}

}  // namespace
}  // namespace ringside
