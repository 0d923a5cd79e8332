#include "ringside/reactor/output_chain.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ringside/buffers/counting_sink.h"
#include "ringside/buffers/release_word.h"
#include "ringside/reactor/block_pool.h"

namespace ringside {
namespace {


uint64_t Word(uint16_t bid) { return ReleaseWord{bid, 1, 1}.Pack(); }

// The chain's unsent bytes as FillIovecs describes them, without consuming.
std::string Gather(const OutputChain& chain, int max_iov = 1024) {
  std::vector<iovec> iov(max_iov);
  const int n = chain.FillIovecs(iov.data(), max_iov);
  std::string out;
  for (int i = 0; i < n; ++i) {
    EXPECT_GT(iov[i].iov_len, 0u);
    out.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
  }
  return out;
}

// Sends everything as a writev loop with at most max_iov iovecs and max_bytes per call
// would, consuming what each call "sent".
std::string Drain(OutputChain& chain, int max_iov, size_t max_bytes = SIZE_MAX) {
  std::string out;
  std::vector<iovec> iov(max_iov);
  while (!chain.empty()) {
    const int n = chain.FillIovecs(iov.data(), max_iov, max_bytes);
    EXPECT_GT(n, 0);
    EXPECT_LE(n, max_iov);
    size_t bytes = 0;
    for (int i = 0; i < n; ++i) {
      out.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
      bytes += iov[i].iov_len;
    }
    EXPECT_LE(bytes, max_bytes);
    if (n == 0) break;
    chain.Consume(bytes);
  }
  return out;
}

std::string Pattern(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i % 23);
  return s;
}

TEST(OutputChainLayoutTest, Sizes) {
  // The header's memory figures.
  EXPECT_EQ(sizeof(OutputChain), 72u);
}

TEST(BlockPoolTest, AcquireUpToTheCapThenNullAndCountsFailures) {
  BlockPool pool(100, 3, 8);
  char* a = pool.Acquire();
  char* b = pool.Acquire();
  char* c = pool.Acquire();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_NE(c, nullptr);
  std::memset(a, 1, 100);  // writable over block_size (ASan checks the bounds)
  EXPECT_EQ(pool.Acquire(), nullptr);
  EXPECT_EQ(pool.Acquire(), nullptr);
  BlockPool::Stats s = pool.stats();
  EXPECT_EQ(s.blocks_in_use, 3u);
  EXPECT_EQ(s.max_blocks, 3u);
  EXPECT_EQ(s.acquire_failures, 2u);
  EXPECT_EQ(s.bytes_in_use, 300u);
  EXPECT_EQ(s.peak_blocks_in_use, 3u);
  pool.Release(b);
  EXPECT_EQ(pool.blocks_cached(), 1u);
  EXPECT_EQ(pool.Acquire(), b) << "a cached block is reused";
  pool.Release(a);
  pool.Release(b);
  pool.Release(c);
  s = pool.stats();
  EXPECT_EQ(s.blocks_in_use, 0u);
  EXPECT_EQ(s.blocks_cached, 3u);
  EXPECT_EQ(s.bytes_cached, 300u);
}

TEST(BlockPoolTest, AcquireNIsAllOrNothing) {
  BlockPool pool(16, 4, 4);
  std::vector<char*> got;
  EXPECT_FALSE(pool.AcquireN(5, [&](char* b) { got.push_back(b); }));
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(pool.blocks_in_use(), 0u);
  EXPECT_EQ(pool.acquire_failures(), 1u);
  EXPECT_TRUE(pool.AcquireN(4, [&](char* b) { got.push_back(b); }));
  EXPECT_EQ(got.size(), 4u);
  EXPECT_EQ(pool.available(), 0u);
  for (char* b : got) pool.Release(b);
}

TEST(BlockPoolTest, DecayFreesOnlyWhatAWholeIntervalDidNotNeed) {
  BlockPool pool(1024, 100, 2);
  std::vector<char*> blocks;
  for (int i = 0; i < 10; ++i) blocks.push_back(pool.Acquire());
  for (char* b : blocks) pool.Release(b);
  EXPECT_EQ(pool.blocks_cached(), 10u) << "released blocks wait for Decay";
  EXPECT_TRUE(pool.Decay()) << "the 10 were in use this interval: none is freed";
  EXPECT_EQ(pool.blocks_cached(), 10u);

  // A steady load of 4 reuses the top of the cache; the 6 below it go unneeded.
  for (int round = 0; round < 3; ++round) {
    std::vector<char*> taken;
    for (int i = 0; i < 4; ++i) taken.push_back(pool.Acquire());
    for (char* b : taken) {
      EXPECT_NE(std::find(blocks.begin(), blocks.end(), b), blocks.end()) << "not from the heap";
      pool.Release(b);
    }
  }
  EXPECT_TRUE(pool.Decay());
  EXPECT_EQ(pool.blocks_cached(), 6u) << "of the 6 unneeded ones, the 2 retained are kept";
  EXPECT_EQ(pool.stats().bytes_cached, 6144u);

  // A quiet interval: down to retain_blocks, and nothing left to decay.
  EXPECT_FALSE(pool.Decay());
  EXPECT_EQ(pool.blocks_cached(), 2u);
  EXPECT_FALSE(pool.Decay());
  EXPECT_EQ(pool.blocks_cached(), 2u) << "retain_blocks are kept however long they idle";
  pool.Trim();
  EXPECT_EQ(pool.blocks_cached(), 0u);

  BlockPool none(1024, 100, 0);
  none.Release(none.Acquire());
  EXPECT_TRUE(none.Decay());
  EXPECT_FALSE(none.Decay());
  EXPECT_EQ(none.blocks_cached(), 0u);
}

TEST(BlockPoolTest, CachedAndInUseTogetherNeverExceedTheCap) {
  BlockPool pool(64, 8, 0);
  std::vector<char*> all;
  ASSERT_TRUE(pool.AcquireN(8, [&](char* b) { all.push_back(b); }));
  for (int i = 0; i < 5; ++i) pool.Release(all[i]);
  all.erase(all.begin(), all.begin() + 5);
  // 3 in use and 5 cached: acquiring 5 more takes the cached ones, allocates none.
  for (int i = 0; i < 5; ++i) all.push_back(pool.Acquire());
  EXPECT_EQ(pool.Acquire(), nullptr);
  EXPECT_EQ(pool.blocks_in_use() + pool.blocks_cached(), 8u);
  for (char* b : all) pool.Release(b);
  EXPECT_EQ(pool.blocks_cached(), 8u);
}

TEST(BlockPoolTest, ZeroCapRefusesEverything) {
  BlockPool pool(16, 0);
  EXPECT_EQ(pool.Acquire(), nullptr);
  OutputChain chain(&pool);
  EXPECT_FALSE(chain.Append("x"));
  EXPECT_TRUE(chain.Append(""));
  chain.AppendStatic("static works without blocks");
  EXPECT_EQ(Gather(chain), "static works without blocks");
  EXPECT_EQ(pool.acquire_failures(), 2u);
}

TEST(OutputChainTest, ManySmallAppendsCrossBlockBoundaries) {
  BlockPool pool(7, 1000);
  OutputChain chain(&pool);
  std::string expected;
  for (size_t n = 1; n <= 30; ++n) {
    const std::string piece = Pattern(n, static_cast<char>('a' + n % 5));
    ASSERT_TRUE(chain.Append(piece));
    expected += piece;
    ASSERT_EQ(chain.size(), expected.size());
    ASSERT_EQ(Gather(chain), expected);
  }
  EXPECT_EQ(chain.blocks(), (expected.size() + 6) / 7) << "blocks are filled before new ones";
  EXPECT_EQ(pool.blocks_in_use(), chain.blocks());
  // Blocks are separate allocations: one iovec each.
  iovec iov[1024];
  EXPECT_EQ(chain.FillIovecs(iov, 1024), static_cast<int>(chain.blocks()));
  EXPECT_EQ(Drain(chain, 3), expected);
  EXPECT_TRUE(chain.empty());
  EXPECT_EQ(chain.blocks(), 0u);
  EXPECT_EQ(pool.blocks_in_use(), 0u);
  EXPECT_EQ(chain.memory_bytes(), 0u);
}

TEST(OutputChainTest, OneLargeAppendFillsWholeBlocks) {
  BlockPool pool(16 * 1024, 1000);
  OutputChain chain(&pool);
  const std::string big = Pattern(1 << 20, 'A');
  ASSERT_TRUE(chain.Append("HTTP/1.1 200 OK\r\n\r\n"));
  ASSERT_TRUE(chain.Append(big));
  EXPECT_EQ(chain.blocks(), (big.size() + 19 + 16 * 1024 - 1) / (16 * 1024));
  EXPECT_EQ(Drain(chain, OutputChain::kRecommendedIovecs), "HTTP/1.1 200 OK\r\n\r\n" + big);
  EXPECT_EQ(pool.blocks_in_use(), 0u);
}

TEST(OutputChainTest, LargeLeaseIsSentInPlaceAndReleasedAfterItsLastByte) {
  CountingSink sink;
  BlockPool pool(64, 100);
  const std::string body = Pattern(4 << 20, 'x');
  OutputChain chain(&pool);
  ASSERT_TRUE(chain.Append("head"));
  chain.AppendLease(BufferLease(&sink, Word(7), body.data(), body.size()));
  ASSERT_TRUE(chain.Append("tail"));
  EXPECT_EQ(chain.size(), body.size() + 8);
  EXPECT_EQ(chain.blocks(), 1u) << "the lease takes no block; head and tail share one";

  iovec iov[8];
  ASSERT_EQ(chain.FillIovecs(iov, 8), 3);
  EXPECT_EQ(iov[1].iov_base, body.data()) << "zero copy: the lease's own bytes";
  EXPECT_EQ(iov[1].iov_len, body.size());

  chain.Consume(4 + body.size() - 1);
  EXPECT_EQ(sink.Count(Word(7)), 0) << "one byte of the lease is unsent";
  ASSERT_EQ(chain.FillIovecs(iov, 8), 2);
  EXPECT_EQ(iov[0].iov_base, body.data() + body.size() - 1);
  EXPECT_EQ(iov[0].iov_len, 1u);
  chain.Consume(1);
  EXPECT_EQ(sink.Count(Word(7)), 1);
  EXPECT_EQ(Gather(chain), "tail");
  chain.Consume(4);
  EXPECT_EQ(sink.Count(Word(7)), 1);
  EXPECT_TRUE(chain.empty());
}

TEST(OutputChainTest, EmptyFragmentsAreDroppedAndEmptyLeasesReleasedAtOnce) {
  CountingSink sink;
  BlockPool pool(16, 10);
  OutputChain chain(&pool);
  char buf[4] = "abc";
  chain.AppendLease(BufferLease(&sink, Word(1), buf, 0));
  EXPECT_EQ(sink.Count(Word(1)), 1);
  chain.AppendStatic("");
  chain.AppendShared(std::make_shared<const std::string>());
  chain.AppendShared(std::shared_ptr<const std::string>());
  EXPECT_TRUE(chain.Append(""));
  EXPECT_TRUE(chain.empty());
  EXPECT_EQ(chain.fragments(), 0u);
  EXPECT_EQ(chain.memory_bytes(), 0u);
  iovec iov[2];
  EXPECT_EQ(chain.FillIovecs(iov, 2), 0);
  chain.Consume(0);
}

// A chain of every kind, block boundaries inside and between appends, and leases that
// are adjacent in memory (which FillIovecs merges).
struct MixedChain {
  explicit MixedChain(BlockPool* pool) : chain(pool) {
    shared = std::make_shared<const std::string>("SHARED-bytes");
    std::memcpy(buffer, "0123456789abcdefghij", 20);
    auto add = [&](std::string_view s) {
      EXPECT_TRUE(chain.Append(s));
      expected += s;
    };
    add("GET");       // 3 bytes into a 5-byte block
    add("-header-");  // crosses into two more blocks
    chain.AppendLease(BufferLease(&sink, Word(1), buffer, 6));
    expected += std::string_view(buffer, 6);
    chain.AppendLease(BufferLease(&sink, Word(2), buffer + 6, 5));  // contiguous
    expected += std::string_view(buffer + 6, 5);
    chain.AppendStatic("<static>");
    expected += "<static>";
    add("ab");
    chain.AppendShared(shared);
    expected += *shared;
    chain.AppendLease(BufferLease(&sink, Word(3), buffer + 15, 5));
    expected += std::string_view(buffer + 15, 5);
    std::span<char> buf = chain.AppendBuffer(1);  // blocks may be 1 byte
    EXPECT_GE(buf.size(), 1u);
    std::memcpy(buf.data(), "fmt", std::min<size_t>(3, buf.size()));
    chain.Commit(std::min<size_t>(3, buf.size()));
    expected += std::string_view("fmt", std::min<size_t>(3, buf.size()));
    add("z");
  }
  void ExpectAllReleasedOnce() const {
    EXPECT_EQ(sink.Count(Word(1)), 1);
    EXPECT_EQ(sink.Count(Word(2)), 1);
    EXPECT_EQ(sink.Count(Word(3)), 1);
    EXPECT_EQ(sink.released.size(), 3u);
  }

  CountingSink sink;
  char buffer[20];
  std::shared_ptr<const std::string> shared;
  std::string expected;
  OutputChain chain;
};

TEST(OutputChainTest, MixedKindsGatherInOrder) {
  BlockPool pool(5, 100);
  MixedChain m(&pool);
  EXPECT_EQ(m.chain.size(), m.expected.size());
  EXPECT_EQ(Gather(m.chain), m.expected);
  EXPECT_EQ(m.shared.use_count(), 2);
  EXPECT_EQ(Drain(m.chain, 1), m.expected);
  m.ExpectAllReleasedOnce();
  EXPECT_EQ(m.shared.use_count(), 1) << "the chain dropped its reference once sent";
  EXPECT_EQ(pool.blocks_in_use(), 0u);
}

// Chunked framing around leases (a streamed chunked echo): the small appends between the
// leases share the open block instead of taking a block each, and the block goes back to
// the pool exactly once, with its last byte sent, whether sent or cleared.
TEST(OutputChainTest, AppendsBetweenLeasesShareTheOpenBlock) {
  for (const bool clear_midway : {false, true}) {
    BlockPool pool(32, 100);
    CountingSink sink;
    char buffer[32] = "abcdefghijklmnopqrstuvwxyz";
    OutputChain chain(&pool);
    std::string expected;
    for (uint16_t i = 0; i < 10; ++i) {
      const std::string framing = "\r\n" + std::to_string(i) + "\r\n";
      ASSERT_TRUE(chain.Append(framing));
      chain.AppendLease(BufferLease(&sink, Word(i), buffer + i, 3));
      expected += framing + std::string(buffer + i, 3);
    }
    ASSERT_TRUE(chain.Append("END"));
    expected += "END";
    EXPECT_EQ(chain.blocks(), 2u) << "50 framing bytes: a block of 32, then the next";
    EXPECT_EQ(pool.blocks_in_use(), 2u);
    EXPECT_EQ(chain.fragments(), 22u);
    EXPECT_EQ(Gather(chain), expected);
    if (clear_midway) {
      chain.Consume(9);
      EXPECT_EQ(pool.blocks_in_use(), 2u) << "the first block still holds unsent framing";
      chain.Clear();
    } else {
      EXPECT_EQ(Drain(chain, 3, 5), expected);
    }
    EXPECT_EQ(pool.blocks_in_use(), 0u);
    for (uint16_t i = 0; i < 10; ++i) EXPECT_EQ(sink.Count(Word(i)), 1) << i;
    // A block emptied with its chain is not reused as the open block.
    ASSERT_TRUE(chain.Append("x"));
    EXPECT_EQ(Gather(chain), "x");
    EXPECT_EQ(pool.blocks_in_use(), 1u);
  }
}

TEST(OutputChainTest, PartialSendsResumeAtEveryByte) {
  for (size_t block_size : {1, 2, 5, 64}) {
    BlockPool pool(block_size, 1000);
    const size_t total = MixedChain(&pool).expected.size();
    for (size_t k1 = 0; k1 <= total; ++k1) {
      for (size_t k2 = 0; k1 + k2 <= total; ++k2) {
        SCOPED_TRACE(testing::Message() << "block " << block_size << " k1 " << k1 << " k2 " << k2);
        MixedChain m(&pool);
        m.chain.Consume(k1);
        ASSERT_EQ(m.chain.size(), total - k1);
        ASSERT_EQ(Gather(m.chain), m.expected.substr(k1));
        m.chain.Consume(k2);
        ASSERT_EQ(Gather(m.chain), m.expected.substr(k1 + k2));
        ASSERT_EQ(Gather(m.chain, 2).size() <= total - k1 - k2, true);
        if (k2 % 3 == 0) {
          m.chain.Clear();  // the rest dropped unsent
        } else {
          ASSERT_EQ(Drain(m.chain, 1 + static_cast<int>(k1 % 3), 1 + k2 % 7),
                    m.expected.substr(k1 + k2));
        }
        m.ExpectAllReleasedOnce();
        EXPECT_EQ(m.shared.use_count(), 1);
        EXPECT_EQ(pool.blocks_in_use(), 0u);
        EXPECT_EQ(m.chain.memory_bytes(), 0u);
      }
    }
  }
}

TEST(OutputChainTest, LeasesAndBlocksReleasedExactlyOnceOnClearAndDestruction) {
  BlockPool pool(5, 100);
  {
    MixedChain m(&pool);
    m.chain.Consume(12);  // mid-way: "GET-header-" sent and one byte of lease 1
    EXPECT_EQ(m.sink.released.size(), 0u);
    m.chain.Clear();
    m.ExpectAllReleasedOnce();
    EXPECT_EQ(pool.blocks_in_use(), 0u);
    m.chain.Clear();  // idempotent
    m.ExpectAllReleasedOnce();
  }
  CountingSink sink;
  char buffer[8] = "abcdefg";
  {
    OutputChain chain(&pool);
    ASSERT_TRUE(chain.Append("0123456789"));
    chain.AppendLease(BufferLease(&sink, Word(9), buffer, 7));
    chain.Consume(3);
  }
  EXPECT_EQ(sink.Count(Word(9)), 1) << "released by the destructor";
  EXPECT_EQ(pool.blocks_in_use(), 0u);
}

TEST(OutputChainTest, MoveTransfersFragments) {
  CountingSink sink;
  BlockPool pool(5, 100);
  char buffer[8] = "abcdefg";
  OutputChain a(&pool);
  ASSERT_TRUE(a.Append("hello world"));
  a.AppendLease(BufferLease(&sink, Word(4), buffer, 7));
  OutputChain b(std::move(a));
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(a.memory_bytes(), 0u);
  EXPECT_EQ(Gather(b), "hello worldabcdefg");
  OutputChain c(&pool);
  ASSERT_TRUE(c.Append("x"));
  c = std::move(b);
  EXPECT_EQ(Gather(c), "hello worldabcdefg");
  EXPECT_EQ(sink.Count(Word(4)), 0);
  c.Clear();
  EXPECT_EQ(sink.Count(Word(4)), 1);
  EXPECT_EQ(pool.blocks_in_use(), 0u);
}

TEST(OutputChainTest, PoolExhaustionRefusesWholeAppendsUntilBlocksComeBack) {
  BlockPool pool(8, 3);
  OutputChain chain(&pool);
  ASSERT_TRUE(chain.Append(std::string(20, 'a')));  // 3 blocks, 4 bytes of room left
  EXPECT_EQ(chain.blocks(), 3u);
  ASSERT_TRUE(chain.Append("bbb"));  // fits in the room: no new block
  EXPECT_EQ(pool.acquire_failures(), 0u);

  const std::string before = Gather(chain);
  const size_t fragments = chain.fragments();
  EXPECT_FALSE(chain.Append("cc")) << "one byte of room left, a block needed";
  EXPECT_EQ(pool.acquire_failures(), 1u);
  EXPECT_EQ(Gather(chain), before) << "all or nothing: not even the room was filled";
  EXPECT_EQ(chain.size(), 23u);
  EXPECT_EQ(chain.fragments(), fragments);
  EXPECT_EQ(chain.blocks(), 3u);
  EXPECT_TRUE(chain.AppendBuffer(2).empty());
  EXPECT_EQ(pool.acquire_failures(), 2u);
  chain.Commit(0);
  EXPECT_EQ(Gather(chain), before);

  // A fresh chain refused by an exhausted pool stays empty and holds nothing.
  OutputChain other(&pool);
  EXPECT_FALSE(other.Append("x"));
  EXPECT_TRUE(other.AppendBuffer(1).empty());
  other.Commit(0);
  EXPECT_EQ(other.memory_bytes(), 0u);

  chain.Consume(10);  // the first block is fully sent and goes back
  EXPECT_EQ(pool.blocks_in_use(), 2u);
  EXPECT_TRUE(chain.Append("cc"));
  EXPECT_EQ(Gather(chain), before.substr(10) + "cc");
  EXPECT_EQ(pool.blocks_in_use(), 3u);
  EXPECT_FALSE(chain.Append(std::string(100, 'x'))) << "bigger than the whole pool";
}

TEST(OutputChainTest, FillIovecsRespectsMaxIovAndMaxBytes) {
  BlockPool pool(4, 100);
  OutputChain chain(&pool);
  const std::string data = Pattern(40, 'a');
  ASSERT_TRUE(chain.Append(data));  // 10 separate blocks
  iovec iov[16];
  std::memset(iov, 0xAB, sizeof(iov));
  EXPECT_EQ(chain.FillIovecs(iov, 0), 0);
  EXPECT_EQ(chain.FillIovecs(iov, 3), 3);
  EXPECT_EQ(iov[3].iov_len, static_cast<size_t>(0xABABABABABABABABull)) << "untouched";
  EXPECT_EQ(iov[0].iov_len + iov[1].iov_len + iov[2].iov_len, 12u);
  EXPECT_EQ(chain.FillIovecs(iov, 16), 10);
  chain.Consume(2);
  EXPECT_EQ(chain.FillIovecs(iov, 16, 5), 2);
  EXPECT_EQ(iov[0].iov_len, 2u);
  EXPECT_EQ(iov[1].iov_len, 3u);
  EXPECT_EQ(std::string(static_cast<char*>(iov[0].iov_base), 2), data.substr(2, 2));
  EXPECT_EQ(chain.FillIovecs(iov, 16, 0), 0);
}

TEST(OutputChainTest, ContiguousFragmentsShareAnIovec) {
  CountingSink sink;
  BlockPool pool(16, 10);
  OutputChain chain(&pool);
  static constexpr char kText[] = "HTTP/1.1 200 OK\r\n";
  const std::string_view text(kText);
  chain.AppendStatic(text.substr(0, 9));
  chain.AppendStatic(text.substr(9));
  char buffer[12] = "abcdefghijk";
  for (int i = 0; i < 11; ++i) chain.AppendLease(BufferLease(&sink, Word(1), buffer + i, 1));
  iovec iov[4];
  ASSERT_EQ(chain.FillIovecs(iov, 1), 1);
  EXPECT_EQ(iov[0].iov_len, text.size()) << "merged even at max_iov";
  ASSERT_EQ(chain.FillIovecs(iov, 4), 2);
  EXPECT_EQ(iov[1].iov_base, buffer);
  EXPECT_EQ(iov[1].iov_len, 11u);
  chain.Consume(text.size() + 5);
  EXPECT_EQ(sink.Count(Word(1)), 5);
  chain.Clear();
  EXPECT_EQ(sink.Count(Word(1)), 11);
}

TEST(OutputChainTest, AppendBufferFormatsInPlace) {
  BlockPool pool(16, 10);
  OutputChain chain(&pool);
  std::span<char> buf = chain.AppendBuffer(4);
  ASSERT_EQ(buf.size(), 16u) << "a whole new block";
  std::memcpy(buf.data(), "12345", 5);
  chain.Commit(5);
  buf = chain.AppendBuffer(4);
  ASSERT_EQ(buf.size(), 11u) << "the rest of the tail block";
  std::memcpy(buf.data(), "678", 3);
  chain.Commit(3);
  buf = chain.AppendBuffer(9);
  ASSERT_EQ(buf.size(), 16u) << "8 bytes of room are not enough: a new block";
  chain.Commit(0);  // given back
  EXPECT_EQ(chain.blocks(), 1u);
  EXPECT_EQ(pool.blocks_in_use(), 1u);
  EXPECT_TRUE(chain.AppendBuffer(17).empty()) << "more than a block";
  chain.Commit(0);
  ASSERT_TRUE(chain.Append("9abcdefgh"));  // one byte crosses into a new block
  EXPECT_EQ(Gather(chain), "123456789abcdefgh");
  EXPECT_EQ(chain.blocks(), 2u);
  chain.AppendStatic("!");
  buf = chain.AppendBuffer(1);
  ASSERT_EQ(buf.size(), 16u) << "a block after a static fragment is not the tail block";
  buf[0] = '?';
  chain.Commit(1);
  EXPECT_EQ(Gather(chain), "123456789abcdefgh!?");
  // An open reservation is given back by Clear.
  buf = chain.AppendBuffer(1);
  chain.Clear();
  EXPECT_EQ(pool.blocks_in_use(), 0u);
  EXPECT_EQ(chain.memory_bytes(), 0u);
}

TEST(OutputChainTest, AnIdleChainHoldsNoMemory) {
  CountingSink sink;
  BlockPool pool(16 * 1024, 1000, 0);
  OutputChain chain(&pool);
  EXPECT_EQ(chain.memory_bytes(), 0u);
  std::string body = Pattern(8 << 20, 'b');
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(chain.Append("HTTP/1.1 200 OK\r\nContent-Length: 8388608\r\n\r\n"));
    ASSERT_TRUE(chain.Append(body));  // 8 MiB copied: 513 blocks, a ring of 1024
    chain.AppendLease(BufferLease(&sink, Word(1), body.data(), 100));
    EXPECT_GT(chain.memory_bytes(), body.size());
    if (round == 1) {
      chain.Clear();
    } else {
      Drain(chain, OutputChain::kRecommendedIovecs);
    }
    EXPECT_EQ(chain.memory_bytes(), 0u);
    EXPECT_EQ(chain.blocks(), 0u);
    EXPECT_EQ(chain.fragments(), 0u);
    EXPECT_EQ(pool.blocks_in_use(), 0u);
    EXPECT_EQ(pool.blocks_cached(), 513u) << "until two quiet intervals have passed";
    pool.Decay();
    pool.Decay();
    EXPECT_EQ(pool.blocks_cached(), 0u);
  }
  EXPECT_EQ(sink.Count(Word(1)), 3);
  // The process-wide proof (live heap bytes) is in output_chain_memory_test.
}

// A real socket with a small send buffer: writev takes part of what it is offered, and
// the chain must resume at the exact byte.
TEST(OutputChainSocketTest, WritevLoopWithPartialWritesIsByteExact) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  const int writer = fds[0];
  const int reader = fds[1];
  const int sndbuf = 4096;
  ASSERT_EQ(setsockopt(writer, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
  ASSERT_EQ(fcntl(writer, F_SETFL, fcntl(writer, F_GETFL) | O_NONBLOCK), 0);
  ASSERT_EQ(fcntl(reader, F_SETFL, fcntl(reader, F_GETFL) | O_NONBLOCK), 0);

  CountingSink sink;
  BlockPool pool(1000, 1000);  // not a power of two
  OutputChain chain(&pool);
  std::string expected;
  const std::string body = Pattern(300000, 'B');
  auto shared = std::make_shared<const std::string>(Pattern(77777, 'S'));
  for (int i = 0; i < 40; ++i) {
    const std::string head = "HTTP/1.1 200 OK\r\nX-N: " + std::to_string(i) + "\r\n\r\n";
    ASSERT_TRUE(chain.Append(head));
    expected += head;
    const size_t off = static_cast<size_t>(i) * 7000;
    chain.AppendLease(BufferLease(&sink, Word(static_cast<uint16_t>(i)), body.data() + off,
                                  static_cast<uint32_t>(5000 + i)));
    expected += body.substr(off, 5000 + i);
    chain.AppendStatic("\r\n");
    expected += "\r\n";
    if (i % 10 == 0) {
      chain.AppendShared(shared);
      expected += *shared;
    }
    ASSERT_TRUE(chain.Append(Pattern(static_cast<size_t>(i) * 97, 'p')));
    expected += Pattern(static_cast<size_t>(i) * 97, 'p');
  }
  ASSERT_EQ(chain.size(), expected.size());

  std::string received;
  int partial_writes = 0;
  int eagains = 0;
  iovec iov[OutputChain::kRecommendedIovecs];
  char rbuf[3000];
  while (!chain.empty() || received.size() < expected.size()) {
    if (!chain.empty()) {
      const int n = chain.FillIovecs(iov, OutputChain::kRecommendedIovecs);
      size_t offered = 0;
      for (int i = 0; i < n; ++i) offered += iov[i].iov_len;
      const ssize_t w = writev(writer, iov, n);
      if (w < 0) {
        ASSERT_EQ(errno, EAGAIN) << strerror(errno);
        ++eagains;
      } else {
        if (static_cast<size_t>(w) < offered) ++partial_writes;
        chain.Consume(static_cast<size_t>(w));
      }
    }
    // Read a little at a time so the writer keeps meeting a full buffer.
    const ssize_t r = read(reader, rbuf, sizeof(rbuf));
    if (r > 0) {
      received.append(rbuf, static_cast<size_t>(r));
    } else {
      ASSERT_TRUE(r < 0 && errno == EAGAIN) << r << " " << strerror(errno);
    }
  }
  close(writer);
  close(reader);
  EXPECT_GT(partial_writes, 10);
  ASSERT_EQ(received.size(), expected.size());
  EXPECT_TRUE(received == expected) << "byte-exact";
  for (int i = 0; i < 40; ++i) EXPECT_EQ(sink.Count(Word(static_cast<uint16_t>(i))), 1);
  EXPECT_EQ(shared.use_count(), 1);
  EXPECT_EQ(pool.blocks_in_use(), 0u);
  EXPECT_EQ(chain.memory_bytes(), 0u);
  RecordProperty("partial_writes", partial_writes);
  RecordProperty("eagains", eagains);
}

TEST(OutputChainTest, AppendsToAPartlySentBlockAndAfterTheChainEmptied) {
  BlockPool pool(16, 10);
  OutputChain chain(&pool);
  ASSERT_TRUE(chain.Append("abcdef"));
  chain.Consume(4);
  ASSERT_TRUE(chain.Append("ghij"));  // same block: the front is at offset 4
  EXPECT_EQ(chain.blocks(), 1u);
  EXPECT_EQ(Gather(chain), "efghij");
  chain.Consume(6);
  EXPECT_EQ(chain.memory_bytes(), 0u);
  EXPECT_EQ(pool.blocks_in_use(), 0u);
  EXPECT_EQ(pool.blocks_cached(), 1u);
  ASSERT_TRUE(chain.Append("again"));  // a new ring and the cached block
  EXPECT_EQ(Gather(chain), "again");
  EXPECT_EQ(pool.blocks_cached(), 0u);
}

TEST(OutputChainTest, KernelIovecLimit) {
  // The limit the header cites; kRecommendedIovecs is far below it.
  EXPECT_EQ(IOV_MAX, 1024);
  EXPECT_LE(OutputChain::kRecommendedIovecs, IOV_MAX);
}

}  // namespace
}  // namespace ringside
