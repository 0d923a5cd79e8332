#include "ringside/net/date_cache.h"

#include <gtest/gtest.h>

#include <string>

namespace ringside::net {
namespace {

TEST(DateCacheTest, FormatsImfFixdate) {
  DateCache date([] { return int64_t{784111777}; });
  EXPECT_EQ(date.Now(), "Sun, 06 Nov 1994 08:49:37 GMT");
}

TEST(DateCacheTest, FormatsDatesAcrossCenturiesAndMonths) {
  DateCache epoch([] { return int64_t{0}; });
  EXPECT_EQ(epoch.Now(), "Thu, 01 Jan 1970 00:00:00 GMT");
  DateCache leap_day([] { return int64_t{951868799}; });
  EXPECT_EQ(leap_day.Now(), "Tue, 29 Feb 2000 23:59:59 GMT");
  DateCache end_of_year([] { return int64_t{4102444799}; });
  EXPECT_EQ(end_of_year.Now(), "Thu, 31 Dec 2099 23:59:59 GMT");
}

TEST(DateCacheTest, ChangesWhenTheSecondChanges) {
  int64_t now = 784111777;
  DateCache date([&now] { return now; });
  const std::string first(date.Now());
  EXPECT_EQ(date.Now(), first);
  ++now;
  EXPECT_EQ(date.Now(), "Sun, 06 Nov 1994 08:49:38 GMT");
}

TEST(DateCacheTest, DefaultClockGivesTheCurrentDate) {
  DateCache date;
  const std::string_view text = date.Now();
  ASSERT_EQ(text.size(), DateCache::kSize);
  EXPECT_EQ(text.substr(3, 2), ", ");
  EXPECT_EQ(text.substr(26), "GMT");
  const time_t now = time(nullptr);
  tm utc;
  gmtime_r(&now, &utc);
  EXPECT_EQ(std::stoi(std::string(text.substr(12, 4))), utc.tm_year + 1900);
}

}  // namespace
}  // namespace ringside::net
