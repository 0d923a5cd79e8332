#include "ringside/third_party/liburing/liburing_compat.h"

#include <gtest/gtest.h>

namespace ringside::uring_compat {
namespace {

TEST(LiburingCompatTest, RingBytesArePageMultiples) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  EXPECT_EQ(BufRingBytes(1), page);
  EXPECT_EQ(BufRingBytes(page / sizeof(io_uring_buf)), page);
  EXPECT_EQ(BufRingBytes(page / sizeof(io_uring_buf) + 1), 2 * page);
}

TEST(LiburingCompatTest, SetupRegistersIncrementalRingAndFreeUnregisters) {
  io_uring ring;
  ASSERT_EQ(io_uring_queue_init(8, &ring, 0), 0);
  int err = 1;
  io_uring_buf_ring* br = SetupBufRing(&ring, 8, 7, IOU_PBUF_RING_INC, &err);
  ASSERT_NE(br, nullptr) << "err=" << err;
  EXPECT_EQ(err, 0);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(br) % sysconf(_SC_PAGESIZE), 0u);
  // The same bgid cannot be registered twice while the first registration lives.
  int dup_err = 0;
  EXPECT_EQ(SetupBufRing(&ring, 8, 7, 0, &dup_err), nullptr);
  EXPECT_EQ(dup_err, -EEXIST);
  EXPECT_EQ(FreeBufRing(&ring, br, 8, 7), 0);
  // After freeing, the bgid is free again.
  br = SetupBufRing(&ring, 8, 7, 0, &err);
  ASSERT_NE(br, nullptr);
  EXPECT_EQ(FreeBufRing(&ring, br, 8, 7), 0);
  io_uring_queue_exit(&ring);
}

TEST(LiburingCompatTest, UnknownRegistrationFlagIsRefused) {
  io_uring ring;
  ASSERT_EQ(io_uring_queue_init(8, &ring, 0), 0);
  int err = 0;
  EXPECT_EQ(SetupBufRing(&ring, 8, 3, 0x8000, &err), nullptr);
  EXPECT_EQ(err, -EINVAL);
  io_uring_queue_exit(&ring);
}

}  // namespace
}  // namespace ringside::uring_compat
