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

TEST(WorkerPool, AtBatchEndOutsideAWorkerRunsAtOnce) {
  bool ran = false;
  WorkerPool::AtBatchEnd([&] { ran = true; });
  EXPECT_TRUE(ran);
}

}  // namespace
}  // namespace ringside::http
