#include "ringside/queue/mailbox.h"

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace ringside {
namespace {

TEST(MailboxTest, WakesOncePerBatch) {
  int wakes = 0;
  Mailbox<uint64_t> box(64, [&] { ++wakes; });
  box.Push(1);
  box.Push(2);
  box.Push(3);
  EXPECT_EQ(wakes, 1);
  std::vector<uint64_t> got;
  EXPECT_EQ(box.Drain([&](uint64_t&& v) { got.push_back(v); }), 3u);
  EXPECT_EQ(got, (std::vector<uint64_t>{1, 2, 3}));
  box.Push(4);  // after a drain, the next push wakes again
  EXPECT_EQ(wakes, 2);
}

TEST(MailboxTest, WhenAsleepAnAwakeConsumerIsNeverWoken) {
  int wakes = 0;
  Mailbox<uint64_t> box(64, [&] { ++wakes; }, WakePolicy::kWhenAsleep);
  box.Push(1);  // a consumer that has not said it sleeps counts as asleep
  EXPECT_EQ(wakes, 1);
  EXPECT_EQ(box.Drain([](uint64_t&&) {}), 1u);
  box.Push(4);  // the consumer is awake and looks again before it sleeps
  EXPECT_EQ(wakes, 1);
  EXPECT_FALSE(box.ReadyToSleep());  // item 4 is waiting
  box.Push(5);  // still awake
  EXPECT_EQ(wakes, 1);
  EXPECT_EQ(box.Drain([](uint64_t&&) {}), 2u);
  EXPECT_TRUE(box.ReadyToSleep());
  box.Push(6);  // asleep: woken
  box.Push(7);
  EXPECT_EQ(wakes, 2);
}

TEST(MailboxTest, QuietPushesWaitForTheWake) {
  int wakes = 0;
  Mailbox<uint64_t> box(64, [&] { ++wakes; }, WakePolicy::kWhenAsleep);
  EXPECT_TRUE(box.ReadyToSleep());
  box.PushQuietly(1);
  box.PushQuietly(2);
  EXPECT_EQ(wakes, 0);
  box.Wake();
  box.Wake();
  EXPECT_EQ(wakes, 1);
  EXPECT_EQ(box.Drain([](uint64_t&&) {}), 2u);
}

TEST(MailboxTest, TryPushOnAFullQueueChangesNothing) {
  int wakes = 0;
  Mailbox<uint64_t> box(2, [&] { ++wakes; });
  uint64_t a = 1, b = 2, c = 3;
  EXPECT_TRUE(box.TryPush(a));
  EXPECT_TRUE(box.TryPush(b));
  EXPECT_FALSE(box.TryPush(c));
  EXPECT_EQ(wakes, 1);
  EXPECT_EQ(box.Drain([](uint64_t&&) {}), 2u);
}

// The consumer pushing to itself from inside Drain: delivered by the same Drain.
TEST(MailboxTest, ItemsPushedWhileDrainingAreDelivered) {
  Mailbox<uint64_t> box(16, [] {});
  box.Push(1);
  std::vector<uint64_t> got;
  box.Drain([&](uint64_t&& v) {
    got.push_back(v);
    uint64_t next = v + 1;
    if (v < 5) box.TryPush(next);
  });
  EXPECT_EQ(got, (std::vector<uint64_t>{1, 2, 3, 4, 5}));
}

// Producers on other threads against a tiny queue and a consumer that sleeps until woken:
// every item arrives exactly once, none is stranded while the consumer sleeps, and a full
// queue is retried, not dropped.
class MailboxPolicyTest : public ::testing::TestWithParam<WakePolicy> {};

TEST_P(MailboxPolicyTest, NoItemIsLostOrStranded) {
  constexpr int kProducers = 3;
  constexpr uint64_t kPerProducer = 20000;
  std::atomic<uint32_t> wake_word{0};
  Mailbox<uint64_t> box(8, [&] {
    wake_word.fetch_add(1, std::memory_order_release);
    wake_word.notify_one();
  }, GetParam());
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&box, p] {
      for (uint64_t i = 0; i < kPerProducer; ++i) box.Push((uint64_t{uint32_t(p)} << 32) | i);
    });
  }
  std::vector<uint64_t> next(kProducers, 0);
  uint64_t total = 0;
  while (total < kProducers * kPerProducer) {
    const uint32_t seen = wake_word.load(std::memory_order_acquire);
    const size_t n = box.Drain([&](uint64_t&& v) {
      const int p = static_cast<int>(v >> 32);
      ASSERT_EQ(v & 0xffffffff, next[p]) << "producer " << p << " out of order";
      ++next[p];
    });
    total += n;
    // Sleep only when the drain found nothing and nothing came since: a lost wake-up
    // would hang the test here.
    if (n == 0 && box.ReadyToSleep()) wake_word.wait(seen, std::memory_order_acquire);
  }
  for (auto& t : producers) t.join();
  EXPECT_EQ(box.Drain([](uint64_t&&) {}), 0u);
  EXPECT_GT(box.full_retries(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Policies, MailboxPolicyTest,
                         ::testing::Values(WakePolicy::kAfterEachDrain, WakePolicy::kWhenAsleep),
                         [](const auto& info) {
                           return info.param == WakePolicy::kWhenAsleep ? "WhenAsleep"
                                                                        : "AfterEachDrain";
                         });

}  // namespace
}  // namespace ringside
