#include "reactor/interval_log.h"

#include <gtest/gtest.h>

namespace ringside {
namespace {

TEST(IntervalLogTest, FirstEventLogsAtOnceThenOneLinePerIntervalWithTheCount) {
  IntervalLog log(1000);
  EXPECT_EQ(log.Count(5000), 1u);
  for (uint64_t ms = 5001; ms < 6000; ++ms) EXPECT_EQ(log.Count(ms), 0u) << ms;
  EXPECT_EQ(log.Count(6000), 1000u) << "999 held back and this one";
  EXPECT_EQ(log.Count(6999), 0u);
  EXPECT_EQ(log.Count(60000), 2u) << "a quiet spell: the next event logs at once";
}

}  // namespace
}  // namespace ringside
