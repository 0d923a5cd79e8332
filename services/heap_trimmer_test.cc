#include "ringside/services/heap_trimmer.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "ringside/tests/process_memory.h"

namespace ringside {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitizerAllocator = true;
#else
constexpr bool kSanitizerAllocator = false;
#endif

constexpr size_t kMiB = size_t{1} << 20;

// Touches every page, so the block is resident.
void* Touched(size_t bytes) {
  void* block = std::malloc(bytes);
  std::memset(block, 0x5a, bytes);
  return block;
}

TEST(HeapTrimmerTest, LargeBlockIsUnmappedWhenFreedEvenAfterALargerOne) {
  if (kSanitizerAllocator) GTEST_SKIP() << "the sanitizer's allocator has its own policy";
  HeapTrimmer trimmer({});
  // With glibc's dynamic threshold, freeing this raises the threshold to 8 MiB, so the next
  // block would come from the heap and stay resident after it is freed.
  std::free(Touched(8 * kMiB));
  const int64_t before = ResidentBytes();
  void* block = Touched(4 * kMiB);
  ASSERT_GE(ResidentBytes(), before + static_cast<int64_t>(3 * kMiB));
  std::free(block);
  EXPECT_LT(ResidentBytes(), before + static_cast<int64_t>(kMiB));
}

TEST(HeapTrimmerTest, TrimReturnsFreePagesFromTheMiddleOfTheHeap) {
  if (kSanitizerAllocator) GTEST_SKIP() << "the sanitizer's allocator has its own policy";
  HeapTrimmer trimmer({});
  constexpr size_t kBlock = 4096;
  constexpr size_t kBlocks = 64 * kMiB / kBlock;
  std::vector<void*> blocks(kBlocks);
  for (void*& b : blocks) b = Touched(kBlock);
  // Every 64th block stays, so no free run reaches the top of the heap and only a trim can
  // give the pages between them back.
  for (size_t i = 0; i < kBlocks; ++i) {
    if (i % 64 != 0) std::free(blocks[i]);
  }
  const int64_t before_trim = ResidentBytes();
  EXPECT_GT(HeapTrimmer::FreeBytes(), 32 * kMiB);
  EXPECT_TRUE(trimmer.MaybeTrim());
  EXPECT_EQ(trimmer.trims(), 1u);
  EXPECT_LT(ResidentBytes(), before_trim - static_cast<int64_t>(32 * kMiB));
  for (size_t i = 0; i < kBlocks; i += 64) std::free(blocks[i]);
}

TEST(HeapTrimmerTest, NoTrimWhileFreeBytesStayUnderTheMark) {
  HeapTrimmer trimmer({.trim_above = size_t{1} << 40});
  std::free(Touched(kMiB));
  EXPECT_FALSE(trimmer.MaybeTrim());
  EXPECT_EQ(trimmer.trims(), 0u);
}

}  // namespace
}  // namespace ringside
