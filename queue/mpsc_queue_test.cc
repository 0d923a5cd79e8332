#include "ringside/queue/mpsc_queue.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace ringside {
namespace {

TEST(MpscQueueTest, FifoOnOneThread) {
  MpscQueue<int> q(8);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(q.TryPush(i));
  for (int i = 0; i < 5; ++i) {
    int out = -1;
    ASSERT_TRUE(q.TryPop(&out));
    EXPECT_EQ(out, i);
  }
}

TEST(MpscQueueTest, FullAndEmptyEdges) {
  MpscQueue<int> q(4);
  int out = -1;
  EXPECT_FALSE(q.TryPop(&out));
  EXPECT_EQ(out, -1);
  EXPECT_EQ(q.ApproxSize(), 0u);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(q.TryPush(i));
  EXPECT_EQ(q.ApproxSize(), 4u);
  EXPECT_FALSE(q.TryPush(99));
  ASSERT_TRUE(q.TryPop(&out));
  EXPECT_EQ(out, 0);
  // One pop frees exactly one cell.
  EXPECT_TRUE(q.TryPush(4));
  EXPECT_FALSE(q.TryPush(5));
  for (int i = 1; i <= 4; ++i) {
    ASSERT_TRUE(q.TryPop(&out));
    EXPECT_EQ(out, i);
  }
  EXPECT_FALSE(q.TryPop(&out));
  EXPECT_EQ(q.ApproxSize(), 0u);
}

TEST(MpscQueueTest, ManyWrapArounds) {
  MpscQueue<uint64_t> q(4);
  uint64_t next_push = 0;
  uint64_t next_pop = 0;
  constexpr uint64_t kItems = 1'000'000;
  while (next_pop < kItems) {
    // Push a varying number per round so the positions drift across cell boundaries.
    const uint64_t burst = 1 + next_push % 4;
    for (uint64_t i = 0; i < burst && next_push < kItems; ++i) {
      ASSERT_TRUE(q.TryPush(next_push));
      ++next_push;
    }
    uint64_t out = 0;
    while (q.TryPop(&out)) {
      ASSERT_EQ(out, next_pop);
      ++next_pop;
    }
  }
  EXPECT_EQ(next_push, kItems);
  EXPECT_EQ(q.ApproxSize(), 0u);
}

TEST(MpscQueueTest, LaneRingGrowsWhileItemsWaitAndKeepsOrder) {
  // A lane's ring starts small and doubles as the backlog grows; the consumer follows the
  // items from each outgrown ring into the next, wherever it is in them.
  MpscQueue<uint64_t> q(4096);
  uint64_t next_push = 0;
  uint64_t next_pop = 0;
  auto check = [&](uint64_t&& v) { EXPECT_EQ(v, next_pop++); };
  for (uint64_t backlog : {10, 100, 1000, 4096}) {
    while (next_push - next_pop < backlog) ASSERT_TRUE(q.TryPush(next_push++));
    EXPECT_EQ(q.ApproxSize(), backlog);
    // Leave a few to straddle the next growth.
    EXPECT_EQ(q.Drain(check, backlog - 3), backlog - 3);
  }
  while (q.TryPush(next_push)) ++next_push;
  EXPECT_EQ(next_push - next_pop, q.capacity());
  q.Drain(check);
  EXPECT_EQ(next_pop, next_push);
  EXPECT_EQ(q.ApproxSize(), 0u);
  EXPECT_EQ(q.HighWater(), 4096u);
}

TEST(MpscQueueTest, FailedPushChangesNothing) {
  MpscQueue<int> q(4);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(q.TryPush(i));
  const size_t size_before = q.ApproxSize();
  for (int attempt = 0; attempt < 10; ++attempt) EXPECT_FALSE(q.TryPush(100 + attempt));
  EXPECT_EQ(q.ApproxSize(), size_before);

  int out = -1;
  ASSERT_TRUE(q.TryPop(&out));
  EXPECT_EQ(out, 0);
  // A burned ticket would make this push land beyond the cell the consumer waits on.
  ASSERT_TRUE(q.TryPush(4));
  for (int i = 1; i <= 4; ++i) {
    ASSERT_TRUE(q.TryPop(&out));
    EXPECT_EQ(out, i);
  }
  EXPECT_FALSE(q.TryPop(&out));
}

TEST(MpscQueueTest, CapacityRoundsUpToPowerOfTwo) {
  EXPECT_EQ(MpscQueue<int>(0).capacity(), 2u);
  EXPECT_EQ(MpscQueue<int>(1).capacity(), 2u);
  EXPECT_EQ(MpscQueue<int>(2).capacity(), 2u);
  EXPECT_EQ(MpscQueue<int>(3).capacity(), 4u);
  EXPECT_EQ(MpscQueue<int>(1000).capacity(), 1024u);
  EXPECT_EQ(MpscQueue<int>(1024).capacity(), 1024u);

  MpscQueue<int> q(5);
  int pushed = 0;
  while (q.TryPush(pushed)) ++pushed;
  EXPECT_EQ(pushed, 8);
}

TEST(MpscQueueTest, HighWaterTracksPeak) {
  MpscQueue<int> q(16);
  EXPECT_EQ(q.HighWater(), 0u);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(q.TryPush(i));
  EXPECT_EQ(q.HighWater(), 5u);
  EXPECT_EQ(q.Drain([](int&&) {}), 5u);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(q.TryPush(i));
  EXPECT_EQ(q.HighWater(), 5u);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(q.TryPush(i));
  EXPECT_EQ(q.HighWater(), 7u);
  // A failed push on a full queue is not a push.
  while (q.TryPush(0)) {
  }
  EXPECT_EQ(q.HighWater(), 16u);
}

TEST(MpscQueueTest, DrainDeliversBatchInOrder) {
  MpscQueue<int> q(16);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(q.TryPush(i));
  std::vector<int> seen;
  EXPECT_EQ(q.Drain([&](int&& v) { seen.push_back(v); }), 10u);
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(q.ApproxSize(), 0u);
  EXPECT_EQ(q.Drain([&](int&&) { ADD_FAILURE() << "empty queue delivered an item"; }), 0u);
}

TEST(MpscQueueTest, DrainRespectsMax) {
  MpscQueue<int> q(16);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(q.TryPush(i));
  std::vector<int> seen;
  EXPECT_EQ(q.Drain([&](int&& v) { seen.push_back(v); }, 3), 3u);
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(q.ApproxSize(), 7u);
  EXPECT_EQ(q.Drain([&](int&&) {}, 0), 0u);
  EXPECT_EQ(q.Drain([&](int&& v) { seen.push_back(v); }, 100), 7u);
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(MpscQueueTest, LongDrainHandsCellsBackEveryQuarterOfCapacity) {
  MpscQueue<int> q(8);
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(q.TryPush(i));
  std::vector<bool> push_succeeded;
  // Two items are a quarter of 8: from the second item on, producers can reuse cells
  // although the batch has not ended.
  auto push_while_draining = [&](int&& v) {
    if (v < 3) push_succeeded.push_back(q.TryPush(100 + v));
  };
  EXPECT_EQ(q.Drain(push_while_draining, 8), 8u);
  EXPECT_EQ(push_succeeded, (std::vector<bool>{false, true, true}));
  int out = -1;
  ASSERT_TRUE(q.TryPop(&out));
  EXPECT_EQ(out, 101);
  ASSERT_TRUE(q.TryPop(&out));
  EXPECT_EQ(out, 102);
  EXPECT_FALSE(q.TryPop(&out));
}

TEST(MpscQueueTest, DrainDeliversWhatTheCallbackPushes) {
  // The reactor posts tasks to itself from a task and wakes nobody for them. The first
  // item comes from another thread, so the callback's pushes open a lane during the Drain.
  MpscQueue<int> q(4);
  std::thread([&q] { ASSERT_TRUE(q.TryPush(0)); }).join();
  std::vector<int> seen;
  const size_t delivered = q.Drain([&](int&& v) {
    seen.push_back(v);
    if (v < 5) {
      EXPECT_TRUE(q.TryPush(v + 1));
    }
  });
  EXPECT_EQ(delivered, 6u);
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3, 4, 5}));
}

TEST(MpscQueueTest, DrainPublishesPositionWhenCallbackThrows) {
  MpscQueue<int> q(8);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(q.TryPush(i));
  auto fail_on_second = [](int&& v) {
    if (v == 1) throw std::runtime_error("handler failed");
  };
  EXPECT_THROW(q.Drain(fail_on_second), std::runtime_error);
  // Items 0 and 1 were delivered; the next pop resumes at 2.
  EXPECT_EQ(q.ApproxSize(), 2u);
  int out = -1;
  ASSERT_TRUE(q.TryPop(&out));
  EXPECT_EQ(out, 2);
}

TEST(MpscQueueTest, LeftoverItemsAreDestroyedWithTheQueue) {
  auto counter = std::make_shared<int>(0);
  {
    MpscQueue<std::shared_ptr<int>> q(4);
    ASSERT_TRUE(q.TryPush(counter));
    ASSERT_TRUE(q.TryPush(counter));
    EXPECT_EQ(counter.use_count(), 3);
    std::shared_ptr<int> out;
    ASSERT_TRUE(q.TryPop(&out));
    EXPECT_EQ(out, counter);
  }
  EXPECT_EQ(counter.use_count(), 1);
}

TEST(MpscQueueTest, MoveOnlyItemsPassThrough) {
  MpscQueue<std::unique_ptr<std::string>> q(2);
  ASSERT_TRUE(q.TryPush(std::make_unique<std::string>("moved")));
  std::unique_ptr<std::string> out;
  ASSERT_TRUE(q.TryPop(&out));
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(*out, "moved");
}

}  // namespace
}  // namespace ringside
