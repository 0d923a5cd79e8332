// Proves with the process's own heap accounting (not the chain's memory_bytes()) that an
// emptied OutputChain holds no heap memory, and that a BlockPool keeps at most
// retain_blocks blocks after a burst. The global operator new/delete are replaced to
// count live bytes (malloc_usable_size of every allocation), which is why this is a
// binary of its own.
#include <gtest/gtest.h>
#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "ringside/buffers/release_word.h"
#include "ringside/reactor/block_pool.h"
#include "ringside/reactor/output_chain.h"

namespace {
std::atomic<long long> live_bytes{0};

void* CountedAlloc(size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  live_bytes.fetch_add(static_cast<long long>(malloc_usable_size(p)), std::memory_order_relaxed);
  return p;
}
void CountedFree(void* p) {
  if (p == nullptr) return;
  live_bytes.fetch_sub(static_cast<long long>(malloc_usable_size(p)), std::memory_order_relaxed);
  std::free(p);
}
}  // namespace

void* operator new(size_t n) { return CountedAlloc(n); }
void* operator new[](size_t n) { return CountedAlloc(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  try {
    return CountedAlloc(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](size_t n, const std::nothrow_t&) noexcept {
  try {
    return CountedAlloc(n);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { CountedFree(p); }
void operator delete[](void* p) noexcept { CountedFree(p); }
void operator delete(void* p, size_t) noexcept { CountedFree(p); }
void operator delete[](void* p, size_t) noexcept { CountedFree(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { CountedFree(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { CountedFree(p); }

namespace ringside {
namespace {


// Counts releases without allocating (buffers/counting_sink.h's maps would show up in the
// live heap bytes this test measures).
class CountingSink : public ReleaseSink {
 public:
  void Release(uint64_t) override { ++releases; }
  void Retain(uint64_t) override {}
  int releases = 0;
};

long long Live() { return live_bytes.load(std::memory_order_relaxed); }

TEST(OutputChainMemoryTest, CountingAllocatorSeesAllocations) {
  const long long before = Live();
  auto p = std::make_unique<char[]>(1000);
  EXPECT_GE(Live() - before, 1000);
  p.reset();
  EXPECT_EQ(Live(), before);
}

TEST(OutputChainMemoryTest, AnEmptiedChainHoldsNoHeapMemory) {
  CountingSink sink;
  // retain_blocks 0: the pool caches nothing, so every block the chain took is freed.
  BlockPool pool(16 * 1024, 4096, /*retain_blocks=*/0);
  const std::string body(8 << 20, 'b');
  auto shared = std::make_shared<const std::string>(100000, 's');
  OutputChain chain(&pool);
  const long long idle = Live();

  for (int round = 0; round < 4; ++round) {
    ASSERT_TRUE(chain.Append("HTTP/1.1 200 OK\r\nContent-Length: 8388608\r\n\r\n"));
    ASSERT_TRUE(chain.Append(body));  // the 8 MiB echo that used to stick as capacity
    chain.AppendLease(BufferLease(&sink, ReleaseWord{1, 1, 1}.Pack(), body.data(), 1000));
    chain.AppendStatic("\r\n");
    chain.AppendShared(shared);
    for (int i = 0; i < 2000; ++i) chain.AppendStatic("x");  // a ring of 4096 fragments
    EXPECT_GT(Live() - idle, static_cast<long long>(body.size()));

    if (round % 2 == 0) {
      // Sent in partial writes.
      iovec iov[OutputChain::kRecommendedIovecs];
      while (!chain.empty()) {
        const int n = chain.FillIovecs(iov, OutputChain::kRecommendedIovecs);
        size_t bytes = 0;
        for (int i = 0; i < n; ++i) bytes += iov[i].iov_len;
        chain.Consume(bytes > 1 ? bytes - bytes / 3 : bytes);
      }
    } else {
      chain.Consume(12345);
      chain.Clear();  // the connection closed mid-send
    }
    EXPECT_EQ(chain.memory_bytes(), 0u);
    // The pool frees the blocks two quiet intervals later (the reactor calls Decay once a
    // second).
    pool.Decay();
    pool.Decay();
    // What is left is at most the thread's cache of one small fragment ring, reused by
    // the next burst; freed, nothing is.
    EXPECT_LE(Live() - idle, 256) << "round " << round;
    OutputChain::ReleaseCachedRings();
    EXPECT_EQ(Live(), idle) << "round " << round << ": an idle chain holds no heap bytes";
  }
  EXPECT_EQ(sink.releases, 4);
  EXPECT_EQ(shared.use_count(), 1);
}

TEST(OutputChainMemoryTest, APoolKeepsOnlyRetainBlocksTwoIntervalsAfterABurst) {
  BlockPool pool(16 * 1024, 4096, /*retain_blocks=*/8);
  const long long empty_pool = Live();
  {
    OutputChain chain(&pool);
    ASSERT_TRUE(chain.Append(std::string(4 << 20, 'a')));  // 256 blocks
    EXPECT_EQ(pool.blocks_in_use(), 256u);
  }
  EXPECT_EQ(pool.blocks_in_use(), 0u);
  EXPECT_EQ(pool.blocks_cached(), 256u) << "kept for the interval: the next burst may need them";
  EXPECT_TRUE(pool.Decay());
  EXPECT_EQ(pool.blocks_cached(), 256u) << "the burst was in this interval";
  EXPECT_FALSE(pool.Decay());
  EXPECT_EQ(pool.blocks_cached(), 8u);
  const long long kept = Live() - empty_pool;
  EXPECT_GE(kept, 8 * 16 * 1024);
  EXPECT_LT(kept, 8 * (16 * 1024 + 64)) << "only the 8 retained blocks remain";
  pool.Trim();
  EXPECT_EQ(Live(), empty_pool);
}

}  // namespace
}  // namespace ringside
