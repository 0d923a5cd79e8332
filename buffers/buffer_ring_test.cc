#include "ringside/buffers/buffer_ring.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "ringside/buffers/test_sockets.h"
#include "ringside/tests/process_memory.h"

namespace ringside {
namespace {

using testing::Cqe;
using testing::SocketPair;
using testing::TestUring;
using testing::WriteAll;

constexpr uint64_t kRecv = 1;

std::unique_ptr<BufferRing> MakeRing(TestUring& uring, BufferRingConfig config) {
  absl::StatusOr<std::unique_ptr<BufferRing>> ring = BufferRing::Create(uring.get(), config);
  EXPECT_TRUE(ring.ok()) << ring.status();
  return ring.ok() ? *std::move(ring) : nullptr;
}

Cqe NextRecv(TestUring& uring) {
  std::optional<Cqe> cqe = uring.NextCqe();
  EXPECT_TRUE(cqe.has_value()) << "no completion before the deadline";
  return cqe.value_or(Cqe{0, -ETIME, 0});
}

TEST(BufferRingTest, IncrementalSmallSendsReassembleByteExactAtTrackedOffsets) {
  TestUring uring;
  auto ring = MakeRing(uring, {.bgid = 9, .entries = 4, .buffer_size = 4096});
  SocketPair sockets;
  uring.ArmRecv(sockets.server, 9, kRecv);

  std::string sent, received;
  uint32_t expected_bid = 0;
  uint32_t expected_offset = 0;
  uint64_t buf_more = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string message(1 + i % 97, static_cast<char>('a' + i % 26));
    sent += message;
    WriteAll(sockets.client, message);
    size_t got = 0;
    while (got < message.size()) {
      const Cqe cqe = NextRecv(uring);
      ASSERT_GT(cqe.res, 0);
      ASSERT_TRUE(cqe.flags & IORING_CQE_F_MORE) << "multishot recv ended";
      const RecvSlice slice = ring->OnRecv(cqe.res, cqe.flags);
      ASSERT_EQ(slice.bid, expected_bid);
      ASSERT_EQ(slice.data, ring->buffer_base(slice.bid) + expected_offset);
      received.append(slice.data, slice.len);
      got += slice.len;
      if (cqe.flags & IORING_CQE_F_BUF_MORE) {
        ++buf_more;
        expected_offset += slice.len;
        EXPECT_FALSE(ring->buffers()[slice.bid].kernel_done);
      } else {
        // Retired exactly at the end of the buffer; the next bytes land in the next bid.
        EXPECT_EQ(expected_offset + slice.len, 4096u);
        EXPECT_TRUE(ring->buffers()[slice.bid].kernel_done);
        expected_bid = (expected_bid + 1) % 4;
        expected_offset = 0;
      }
      ASSERT_TRUE(ring->Release(slice.bid));
      ring->Flush();
    }
  }
  EXPECT_EQ(received, sent);
  EXPECT_EQ(ring->stats().recv_bytes, sent.size());
  EXPECT_EQ(ring->stats().buf_more_completions, buf_more);
  EXPECT_EQ(ring->stats().buffers_recycled, sent.size() / 4096);
  EXPECT_EQ(ring->stats().retired_bytes, sent.size() / 4096 * 4096);
  EXPECT_GT(ring->stats().buffers_recycled, 4u) << "the ring did not wrap around";
}

TEST(BufferRingTest, SharedModeCqeRetiresWholeBufferAndReleaseRecycles) {
  TestUring uring;
  auto ring = MakeRing(uring, {.bgid = 0, .entries = 2, .buffer_size = 1024, .incremental = false});
  SocketPair sockets;
  uring.ArmRecv(sockets.server, 0, kRecv);
  for (int i = 0; i < 6; ++i) {
    WriteAll(sockets.client, "0123456789");
    const Cqe cqe = NextRecv(uring);
    ASSERT_EQ(cqe.res, 10);
    EXPECT_FALSE(cqe.flags & IORING_CQE_F_BUF_MORE);
    const RecvSlice slice = ring->OnRecv(cqe.res, cqe.flags);
    EXPECT_EQ(slice.bid, static_cast<uint32_t>(i % 2));
    EXPECT_EQ(slice.data, ring->buffer_base(slice.bid));
    EXPECT_EQ(std::string(slice.data, slice.len), "0123456789");
    EXPECT_TRUE(ring->buffers()[slice.bid].kernel_done);
    EXPECT_EQ(ring->buffers_with_kernel(), 1u);
    ASSERT_TRUE(ring->Release(slice.bid));
    EXPECT_EQ(ring->buffers_with_kernel(), 2u);
    EXPECT_TRUE(ring->Flush());
  }
  EXPECT_EQ(ring->stats().buffers_recycled, 6u);
  EXPECT_EQ(ring->stats().retired_bytes, 60u);
}

TEST(BufferRingTest, ExhaustionWithEveryBufferLeasedThenReleaseResumesLosingNothing) {
  TestUring uring;
  auto ring = MakeRing(uring, {.bgid = 4, .entries = 2, .buffer_size = 64});
  SocketPair sockets;
  uring.ArmRecv(sockets.server, 4, kRecv);
  std::string sent(200, 'x');
  for (size_t i = 0; i < sent.size(); ++i) sent[i] = static_cast<char>('A' + i % 50);
  WriteAll(sockets.client, sent);

  std::string received;
  std::vector<uint32_t> held;
  bool stalled = false;
  while (!stalled) {
    const Cqe cqe = NextRecv(uring);
    if (cqe.res == -ENOBUFS) {
      EXPECT_FALSE(cqe.flags & IORING_CQE_F_MORE);
      stalled = true;
      break;
    }
    ASSERT_GT(cqe.res, 0);
    const RecvSlice slice = ring->OnRecv(cqe.res, cqe.flags);
    received.append(slice.data, slice.len);
    held.push_back(slice.bid);
  }
  EXPECT_EQ(received.size(), 128u);
  EXPECT_EQ(ring->buffers_with_kernel(), 0u);
  for (uint32_t bid : held) ASSERT_TRUE(ring->Release(bid));
  EXPECT_TRUE(ring->Flush());
  EXPECT_EQ(ring->buffers_with_kernel(), 2u);

  uring.ArmRecv(sockets.server, 4, kRecv);
  while (received.size() < sent.size()) {
    const Cqe cqe = NextRecv(uring);
    ASSERT_GT(cqe.res, 0);
    const RecvSlice slice = ring->OnRecv(cqe.res, cqe.flags);
    received.append(slice.data, slice.len);
    ASSERT_TRUE(ring->Release(slice.bid));
    ring->Flush();
  }
  EXPECT_EQ(received, sent);
}

TEST(BufferRingTest, ReleaseOfBufferWithoutReaderIsCountedStale) {
  TestUring uring;
  auto ring = MakeRing(uring, {.bgid = 3, .entries = 2, .buffer_size = 64});
  EXPECT_FALSE(ring->Release(0));
  EXPECT_FALSE(ring->Release(7));
  EXPECT_EQ(ring->stats().stale_releases, 2u);
  EXPECT_EQ(ring->buffers_with_kernel(), 2u);
}

TEST(BufferRingTest, CqeWithoutBufferOrWithoutBytesDeliversNothing) {
  TestUring uring;
  auto inc = MakeRing(uring, {.bgid = 5, .entries = 2, .buffer_size = 64});
  EXPECT_FALSE(inc->OnRecv(0, 0).has_buffer());
  // An incremental buffer with no bytes consumed stays with the kernel.
  EXPECT_FALSE(inc->OnRecv(0, IORING_CQE_F_BUFFER).has_buffer());
  EXPECT_EQ(inc->buffers_with_kernel(), 2u);
  EXPECT_EQ(inc->stats().buffers_recycled, 0u);
  // A shared buffer handed out with no bytes goes straight back instead of leaking.
  auto shared = MakeRing(uring, {.bgid = 6, .entries = 2, .buffer_size = 64, .incremental = false});
  EXPECT_FALSE(shared->OnRecv(-ECONNRESET, IORING_CQE_F_BUFFER | (1u << IORING_CQE_BUFFER_SHIFT))
                   .has_buffer());
  EXPECT_EQ(shared->buffers_with_kernel(), 2u);
  EXPECT_EQ(shared->stats().buffers_recycled, 1u);
}

TEST(BufferRingTest, BadSizesAreInvalidArgument) {
  TestUring uring;
  EXPECT_TRUE(absl::IsInvalidArgument(
      BufferRing::Create(uring.get(), {.bgid = 2, .entries = 3}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      BufferRing::Create(uring.get(), {.bgid = 2, .entries = 65536}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      BufferRing::Create(uring.get(), {.bgid = 2, .entries = 8, .buffer_size = 0}).status()));
}

TEST(BufferRingTest, BgidAlreadyRegisteredIsAlreadyExists) {
  TestUring uring;
  auto first = MakeRing(uring, {.bgid = 2});
  absl::StatusOr<std::unique_ptr<BufferRing>> second = BufferRing::Create(uring.get(), {.bgid = 2});
  EXPECT_TRUE(absl::IsAlreadyExists(second.status())) << second.status();
}

TEST(BufferRingTest, IncrementalRefusedByKernelIsReportedUnsupported) {
  TestUring uring;
  absl::StatusOr<std::unique_ptr<BufferRing>> ring =
      BufferRing::Create(uring.get(), {.bgid = 2, .simulate_incremental_unsupported = true});
  ASSERT_TRUE(absl::IsUnimplemented(ring.status())) << ring.status();
  EXPECT_NE(ring.status().message().find("unsupported"), std::string::npos);
}

TEST(BufferRingTest, ThousandIdleRingsCostUnderEightKiBResidentEach) {
  TestUring uring;
  std::vector<std::unique_ptr<BufferRing>> rings;
  rings.reserve(1000);
  const int64_t before = ResidentBytes();
  for (uint16_t i = 0; i < 1000; ++i) {
    rings.push_back(MakeRing(uring, {.bgid = static_cast<uint16_t>(100 + i), .entries = 8,
                                     .buffer_size = 16384}));
    ASSERT_NE(rings.back(), nullptr);
  }
  const int64_t per_ring = (ResidentBytes() - before) / static_cast<int64_t>(rings.size());
  RecordProperty("resident_bytes_per_idle_ring", static_cast<int>(per_ring));
  std::printf("resident bytes per idle ring: %lld\n", static_cast<long long>(per_ring));
  EXPECT_LT(per_ring, 8192);
}

}  // namespace
}  // namespace ringside
