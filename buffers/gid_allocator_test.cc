#include "ringside/buffers/gid_allocator.h"

#include <gtest/gtest.h>

#include <set>

namespace ringside {
namespace {

TEST(GidAllocatorTest, ExhaustionReturnsNoneThenReuseAfterRelease) {
  GidAllocator gids(10, 12);
  ASSERT_EQ(gids.Acquire(), 10);
  ASSERT_EQ(gids.Acquire(), 11);
  ASSERT_EQ(gids.Acquire(), 12);
  EXPECT_EQ(gids.Acquire(), std::nullopt);
  EXPECT_TRUE(gids.Release(11).ok());
  EXPECT_EQ(gids.Acquire(), 11) << "the most recently released id comes back first";
  EXPECT_EQ(gids.Acquire(), std::nullopt);
}

TEST(GidAllocatorTest, ReservedIdsNeverHandedOut) {
  GidAllocator gids(0, 5);
  EXPECT_EQ(gids.capacity(), 4u);
  std::set<uint16_t> got;
  while (std::optional<uint16_t> gid = gids.Acquire()) got.insert(*gid);
  EXPECT_EQ(got, (std::set<uint16_t>{2, 3, 4, 5}));
  // Inside the configured range, yet still not this allocator's to take back.
  EXPECT_TRUE(absl::IsInvalidArgument(gids.Release(0)));
  EXPECT_TRUE(absl::IsInvalidArgument(gids.Release(1)));
  EXPECT_EQ(gids.in_use(), 4u);
}

TEST(GidAllocatorTest, DoubleReleaseIsRejectedAndStateConsistent) {
  GidAllocator gids(2, 3);
  const uint16_t gid = *gids.Acquire();
  ASSERT_TRUE(gids.Release(gid).ok());
  const absl::Status again = gids.Release(gid);
  EXPECT_TRUE(absl::IsFailedPrecondition(again)) << again;
  EXPECT_EQ(gids.in_use(), 0u);
  // The id was not pushed twice: exactly two distinct ids come out, then none.
  std::set<uint16_t> got{*gids.Acquire(), *gids.Acquire()};
  EXPECT_EQ(got.size(), 2u);
  EXPECT_EQ(gids.Acquire(), std::nullopt);
}

TEST(GidAllocatorTest, ForeignReleaseIsRejected) {
  GidAllocator gids(100, 200);
  EXPECT_TRUE(absl::IsInvalidArgument(gids.Release(99)));
  EXPECT_TRUE(absl::IsInvalidArgument(gids.Release(201)));
  EXPECT_TRUE(absl::IsInvalidArgument(gids.Release(0)));
  EXPECT_TRUE(absl::IsFailedPrecondition(gids.Release(150))) << "in range, never acquired";
  EXPECT_EQ(gids.in_use(), 0u);
}

TEST(GidAllocatorTest, FullRangeOf65534Ids) {
  GidAllocator gids;
  EXPECT_EQ(gids.capacity(), 65534u);
  std::vector<bool> seen(65536, false);
  for (size_t i = 0; i < 65534; ++i) {
    std::optional<uint16_t> gid = gids.Acquire();
    ASSERT_TRUE(gid.has_value()) << i;
    ASSERT_GE(*gid, 2);
    ASSERT_FALSE(seen[*gid]);
    seen[*gid] = true;
  }
  EXPECT_EQ(gids.Acquire(), std::nullopt);
  EXPECT_EQ(gids.in_use(), 65534u);
  for (uint32_t gid = 2; gid <= 65535; ++gid) ASSERT_TRUE(gids.Release(gid).ok());
  for (size_t i = 0; i < 65534; ++i) ASSERT_TRUE(gids.Acquire().has_value());
}

TEST(GidAllocatorTest, HighWaterMark) {
  GidAllocator gids(2, 20);
  std::vector<uint16_t> held;
  for (int i = 0; i < 7; ++i) held.push_back(*gids.Acquire());
  for (uint16_t gid : held) ASSERT_TRUE(gids.Release(gid).ok());
  gids.Acquire();
  EXPECT_EQ(gids.high_water(), 7u);
  EXPECT_EQ(gids.in_use(), 1u);
}

TEST(GidAllocatorTest, CapacityOfSingleIdRange) {
  GidAllocator gids(7, 7);
  EXPECT_EQ(gids.capacity(), 1u);
  EXPECT_EQ(gids.Acquire(), 7);
  EXPECT_EQ(gids.Acquire(), std::nullopt);
}

TEST(GidAllocatorTest, EmptyRangeHandsOutNothing) {
  GidAllocator gids(0, 1);
  EXPECT_EQ(gids.capacity(), 0u);
  EXPECT_EQ(gids.Acquire(), std::nullopt);
  EXPECT_TRUE(absl::IsInvalidArgument(gids.Release(1)));
}

}  // namespace
}  // namespace ringside
