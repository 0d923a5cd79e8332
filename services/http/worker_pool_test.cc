#include "ringside/services/http/worker_pool.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace ringside::http {
namespace {

// Waits until `done` holds or 10 s passed.
bool Eventually(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

TEST(WorkerPool, TasksPostedToOneWorkerRunInOrder) {
  std::vector<int> order;
  std::mutex mu;
  {
    WorkerPool pool(2);
    for (int i = 0; i < 1000; ++i) {
      pool.Post(1, [&, i] {
        std::lock_guard<std::mutex> lock(mu);
        order.push_back(i);
      });
    }
  }  // the destructor drains
  ASSERT_EQ(order.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(order[i], i);
}

TEST(WorkerPool, AtBatchEndRunsAfterTheDrainsTasksOnTheWorker) {
  WorkerPool pool(1);
  std::mutex mu;
  std::vector<std::string> events;
  std::atomic<bool> holding{false};
  std::atomic<bool> release{false};
  // Holds the worker inside a drain that has already read the queue's tail, so the next
  // tasks queue up behind it and run as one drain of their own. Posting them before the
  // worker is inside the holding task would let the first drain take some of them.
  pool.Post(0, [&] {
    holding = true;
    while (!release.load()) std::this_thread::yield();
  });
  ASSERT_TRUE(Eventually([&] { return holding.load(); }));
  std::thread::id worker;
  for (int i = 0; i < 3; ++i) {
    pool.Post(0, [&, i] {
      std::lock_guard<std::mutex> lock(mu);
      events.push_back("task " + std::to_string(i));
      worker = std::this_thread::get_id();
      WorkerPool::AtBatchEnd([&, i] {
        std::lock_guard<std::mutex> lock(mu);
        events.push_back("end " + std::to_string(i));
        EXPECT_EQ(std::this_thread::get_id(), worker);
      });
    });
  }
  release = true;
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard<std::mutex> lock(mu);
    return events.size() == 6;
  }));
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(events, (std::vector<std::string>{"task 0", "task 1", "task 2", "end 0", "end 1",
                                              "end 2"}));
}

TEST(WorkerPool, QuietlyPostedTasksRunInOrderOnceTheWorkerIsWoken) {
  WorkerPool pool(1);
  std::mutex mu;
  std::vector<int> order;
  for (int i = 0; i < 100; ++i) {
    pool.PostQuietly(0, [&, i] {
      std::lock_guard<std::mutex> lock(mu);
      order.push_back(i);
    });
  }
  pool.Wake(0);
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard<std::mutex> lock(mu);
    return order.size() == 100;
  }));
  std::lock_guard<std::mutex> lock(mu);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
}

// Posting quietly into a full queue wakes the worker, which alone can make room: without
// that, the poster would wait for a sleeping worker forever.
TEST(WorkerPool, PostingQuietlyIntoAFullQueueWakesTheWorker) {
  WorkerPool pool(1, /*queue_capacity=*/16);
  std::atomic<int> ran{0};
  for (int i = 0; i < 1000; ++i) pool.PostQuietly(0, [&] { ran.fetch_add(1); });
  pool.Wake(0);
  EXPECT_TRUE(Eventually([&] { return ran.load() == 1000; }));
}

// Producers on several threads against a worker that keeps going to sleep: no post is
// left in the queue while the worker sleeps (each would be a lost wake-up).
TEST(WorkerPool, NoWakeUpIsLostBetweenPostsFromManyThreads) {
  WorkerPool pool(1);
  std::atomic<int> ran{0};
  constexpr int kThreads = 4;
  constexpr int kPosts = 20000;
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&] {
      for (int i = 0; i < kPosts; ++i) {
        pool.Post(0, [&] { ran.fetch_add(1); });
        if (i % 64 == 0) std::this_thread::yield();  // let the worker drain and sleep
      }
    });
  }
  for (std::thread& producer : producers) producer.join();
  EXPECT_TRUE(Eventually([&] { return ran.load() == kThreads * kPosts; }));
}

TEST(WorkerPool, AtBatchEndMayDeferMoreWhileTheDeferredRun) {
  WorkerPool pool(1);
  std::atomic<int> ran{0};
  pool.Post(0, [&] {
    WorkerPool::AtBatchEnd([&] {
      // Appending to the list being run: each needs its own room, so the list grows.
      for (int i = 0; i < 64; ++i) WorkerPool::AtBatchEnd([&] { ran.fetch_add(1); });
    });
  });
  EXPECT_TRUE(Eventually([&] { return ran.load() == 64; }));
}

TEST(WorkerPool, AtBatchEndOutsideAWorkerRunsAtOnce) {
  bool ran = false;
  WorkerPool::AtBatchEnd([&] { ran = true; });
  EXPECT_TRUE(ran);
}

}  // namespace
}  // namespace ringside::http
