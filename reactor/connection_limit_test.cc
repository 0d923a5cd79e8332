#include "ringside/reactor/connection_limit.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace ringside {
namespace {

TEST(ConnectionLimitTest, RefusesOnceFullAndAcceptsAgainAfterARelease) {
  ConnectionLimit limit(2);
  EXPECT_TRUE(limit.TryAcquire());
  EXPECT_TRUE(limit.TryAcquire());
  EXPECT_FALSE(limit.TryAcquire());
  EXPECT_EQ(limit.open(), 2u);
  limit.Release();
  EXPECT_TRUE(limit.TryAcquire());
}

TEST(ConnectionLimitTest, ConcurrentAcquiresNeverExceedTheMaximum) {
  ConnectionLimit limit(1000);
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) granted += limit.TryAcquire();
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(granted.load(), 1000);
  EXPECT_EQ(limit.open(), 1000u);
}

}  // namespace
}  // namespace ringside
