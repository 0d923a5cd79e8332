#include "ringside/buffers/shared_bytes.h"

#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace ringside {
namespace {

TEST(SharedBytesTest, CopyOwnsItsBytes) {
  std::string source = "hello, world";
  BufferLease lease = SharedBytes::Copy(source);
  source.assign(source.size(), 'x');
  EXPECT_EQ(lease.view(), "hello, world");
  EXPECT_TRUE(lease.holds_buffer());
}

TEST(SharedBytesTest, EmptyBytesGiveAnEmptyLease) {
  BufferLease lease = SharedBytes::Copy("");
  EXPECT_FALSE(lease.holds_buffer());
  EXPECT_EQ(lease.size(), 0u);
}

TEST(SharedBytesTest, ShareOutlivesTheOriginal) {
  BufferLease part;
  {
    BufferLease lease = SharedBytes::Copy("head:body");
    part = lease.Share(5, 4);
  }
  EXPECT_EQ(part.view(), "body");  // ASan reports a use after free if the copy went early
}

// References dropped on many threads at once: exactly one frees (ASan/TSan check it).
TEST(SharedBytesTest, ReleasedFromManyThreads) {
  for (int round = 0; round < 50; ++round) {
    BufferLease lease = SharedBytes::Copy("shared across threads");
    std::vector<BufferLease> shares;
    for (int i = 0; i < 8; ++i) shares.push_back(lease.Share(0, lease.size()));
    lease.Reset();
    std::vector<std::thread> threads;
    for (auto& share : shares) {
      threads.emplace_back([s = std::move(share)]() mutable {
        EXPECT_EQ(s.view(), "shared across threads");
        s.Reset();
      });
    }
    for (auto& t : threads) t.join();
  }
}

}  // namespace
}  // namespace ringside
