// ObjectSlab: objects packed in chunks, a chunk unmapped when its last object goes (one
// kept spare), reuse of freed objects, alignment, SlabAllocated and its slab per thread.
#include "ringside/reactor/object_slab.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace ringside {
namespace {

// Whether [p, p + n) is mapped: mincore fails with ENOMEM on unmapped pages.
bool Mapped(const void* p, size_t n) {
  const uintptr_t page = sysconf(_SC_PAGESIZE);
  const uintptr_t start = reinterpret_cast<uintptr_t>(p) & ~(page - 1);
  std::vector<unsigned char> vec((n + page - 1) / page + 1);
  return mincore(reinterpret_cast<void*>(start), n, vec.data()) == 0;
}

TEST(ObjectSlabTest, ObjectsArePackedAndDistinct) {
  ObjectSlab slab(368, 8);
  ASSERT_GT(slab.objects_per_chunk(), 170u);  // 64 KiB chunks, a small header
  std::vector<char*> objects;
  for (size_t i = 0; i < slab.objects_per_chunk(); ++i) {
    objects.push_back(static_cast<char*>(slab.Allocate()));
    std::memset(objects.back(), static_cast<int>(i), 368);
  }
  EXPECT_EQ(slab.stats().chunks, 1u);
  EXPECT_EQ(slab.stats().objects, slab.objects_per_chunk());
  std::vector<char*> sorted = objects;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 1; i < sorted.size(); ++i) EXPECT_EQ(sorted[i] - sorted[i - 1], 368);
  for (size_t i = 0; i < objects.size(); ++i) {
    EXPECT_EQ(objects[i][367], static_cast<char>(i));  // no object overwrote another
  }
  objects.push_back(static_cast<char*>(slab.Allocate()));  // the chunk is full: a second
  EXPECT_EQ(slab.stats().chunks, 2u);
  for (char* p : objects) slab.Free(p);
  EXPECT_EQ(slab.stats().objects, 0u);
}

TEST(ObjectSlabTest, EmptyChunkIsUnmappedButOneIsKeptSpare) {
  ObjectSlab slab(64, 16);
  const size_t per_chunk = slab.objects_per_chunk();
  std::vector<void*> objects;
  for (size_t i = 0; i < 3 * per_chunk; ++i) objects.push_back(slab.Allocate());
  ASSERT_EQ(slab.stats().chunks, 3u);
  ASSERT_TRUE(Mapped(objects[0], 64));
  // Empty the first chunk: it becomes the spare, still mapped.
  for (size_t i = 0; i < per_chunk; ++i) slab.Free(objects[i]);
  EXPECT_EQ(slab.stats().chunks, 3u);
  EXPECT_EQ(slab.stats().chunks_unmapped, 0u);
  // Empty the second: a spare exists, so it goes back to the kernel.
  void* second = objects[per_chunk];
  for (size_t i = per_chunk; i < 2 * per_chunk; ++i) slab.Free(objects[i]);
  EXPECT_EQ(slab.stats().chunks, 2u);
  EXPECT_EQ(slab.stats().chunks_unmapped, 1u);
  EXPECT_FALSE(Mapped(second, 64));
  // A chunk's worth of allocations is served by the spare, mapping nothing.
  const uint64_t mapped = slab.stats().chunks_mapped;
  std::vector<void*> again;
  for (size_t i = 0; i < per_chunk; ++i) again.push_back(slab.Allocate());
  EXPECT_EQ(slab.stats().chunks_mapped, mapped);
  for (void* p : again) slab.Free(p);
  for (size_t i = 2 * per_chunk; i < objects.size(); ++i) slab.Free(objects[i]);
  EXPECT_EQ(slab.stats().chunks, 1u);  // the spare only
  EXPECT_EQ(slab.stats().objects, 0u);
}

TEST(ObjectSlabTest, FreedObjectIsReusedBeforeFreshMemory) {
  ObjectSlab slab(32, 8);
  void* a = slab.Allocate();
  void* b = slab.Allocate();
  slab.Free(a);
  EXPECT_EQ(slab.Allocate(), a);
  slab.Free(a);
  slab.Free(b);
}

TEST(ObjectSlabTest, ObjectsAreAlignedAndSizeRoundsUpToIt) {
  ObjectSlab slab(40, 64);
  void* a = slab.Allocate();
  void* b = slab.Allocate();
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 64, 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b) % 64, 0u);
  slab.Free(a);
  slab.Free(b);
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(SLAB_TEST_ASAN)
// Under AddressSanitizer a freed object is poisoned: reading it is reported.
TEST(ObjectSlabDeathTest, UseAfterFreeIsReportedUnderAsan) {
  ObjectSlab slab(64, 8);
  auto* p = static_cast<volatile char*>(slab.Allocate());
  slab.Free(const_cast<char*>(p));
  EXPECT_DEATH((void)p[20], "use-after-poison");
}
#endif

struct Tracked final : SlabAllocated<Tracked> {
  explicit Tracked(int v) : value(v) {}
  int value;
  char payload[100] = {};
};

TEST(ObjectSlabTest, SlabAllocatedClassTakesItsMemoryFromItsSlab) {
  const size_t before = Tracked::SlabStats().objects;
  {
    auto t = std::make_unique<Tracked>(7);
    EXPECT_EQ(t->value, 7);
    EXPECT_EQ(Tracked::SlabStats().objects, before + 1);
  }
  EXPECT_EQ(Tracked::SlabStats().objects, before);
}

// SlabAllocated keeps a slab per thread: threads allocating at once share no chunk and no
// count (TSan would see a race otherwise), and each thread's objects stay intact.
TEST(ObjectSlabTest, EachThreadAllocatesFromItsOwnSlab) {
  constexpr int kThreads = 4;
  constexpr int kObjects = 5000;
  const size_t main_objects = Tracked::SlabStats().objects;
  std::vector<std::thread> threads;
  std::vector<size_t> counted(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &counted] {
      std::vector<std::unique_ptr<Tracked>> mine;
      for (int i = 0; i < kObjects; ++i) {
        mine.push_back(std::make_unique<Tracked>(t * kObjects + i));
      }
      counted[t] = Tracked::SlabStats().objects;
      for (int i = 0; i < kObjects; ++i) EXPECT_EQ(mine[i]->value, t * kObjects + i);
      mine.clear();
      EXPECT_EQ(Tracked::SlabStats().objects, 0u);
      EXPECT_EQ(Tracked::SlabStats().chunks, 1u);  // the spare
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(counted[t], static_cast<size_t>(kObjects));
  EXPECT_EQ(Tracked::SlabStats().objects, main_objects);
}

}  // namespace
}  // namespace ringside
