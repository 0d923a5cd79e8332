#include "ringside/buffers/release_word.h"

#include <gtest/gtest.h>

namespace ringside {
namespace {

TEST(ReleaseWordTest, PackUnpackRoundTripsEveryFieldAtItsLimits) {
  const ReleaseWord word{0xffff, ReleaseWord::kMaxSlots - 1, ReleaseWord::kGenerationMask};
  EXPECT_EQ(ReleaseWord::Unpack(word.Pack()), word);
  EXPECT_EQ(word.Pack(), ~uint64_t{0});
  const ReleaseWord small{3, 5, 7};
  EXPECT_EQ(small.Pack(), 3u | (5ull << 16) | (7ull << 40));
  EXPECT_EQ(ReleaseWord::Unpack(small.Pack()), small);
}

TEST(ReleaseWordTest, GenerationWrapsWithoutTouchingSlotOrBid) {
  const ReleaseWord word{1, 2, ReleaseWord::kGenerationMask + 1};
  EXPECT_EQ(ReleaseWord::Unpack(word.Pack()), (ReleaseWord{1, 2, 0}));
}

}  // namespace
}  // namespace ringside
