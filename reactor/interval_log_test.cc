#include "ringside/reactor/interval_log.h"

#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace ringside {
namespace {

TEST(IntervalLog, WritesTheFirstLineAndHoldsBackRepeatsWithinTheInterval) {
  IntervalLog log(std::chrono::hours(1));
  EXPECT_TRUE(log.Write([] { return std::string("first"); }));
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(log.Write([] { return std::string("again"); }));
  EXPECT_EQ(log.lines_written(), 1u);
  EXPECT_EQ(log.lines_held_back(), 1000u);
}

TEST(IntervalLog, WritesAgainOnceTheIntervalHasPassed) {
  IntervalLog log(std::chrono::milliseconds(20));
  ASSERT_TRUE(log.Write([] { return std::string("first"); }));
  EXPECT_FALSE(log.Write([] { return std::string("held back"); }));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!log.Write([] { return std::string("second"); }) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(log.lines_written(), 2u);
}

TEST(IntervalLog, MakesTheLineOnlyWhenItIsWritten) {
  IntervalLog log(std::chrono::hours(1));
  int made = 0;
  for (int i = 0; i < 100; ++i) {
    log.Write([&] {
      ++made;
      return std::string("made");
    });
  }
  EXPECT_EQ(made, 1);
}

TEST(IntervalLog, ConcurrentWritersWriteOneLinePerInterval) {
  IntervalLog log(std::chrono::hours(1));
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) log.Write([] { return std::string("contended"); });
    });
  }
  for (auto& w : writers) w.join();
  EXPECT_EQ(log.lines_written(), 1u);
  EXPECT_EQ(log.lines_held_back(), 39999u);
}

}  // namespace
}  // namespace ringside
