#include "ringside/buffers/locked_memory.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <string>

namespace ringside {
namespace {

// The figures measured on 6.18 as an unprivileged user (locked_memory.h).
TEST(LockedMemoryTest, IoUringSizesMatchWhatTheKernelCharged) {
  constexpr size_t kPage = 4096;
  ASSERT_EQ(sysconf(_SC_PAGESIZE), static_cast<long>(kPage));
  EXPECT_EQ(IoUringLockedBytes(4096, 16384), 133 * kPage);
  EXPECT_EQ(IoUringLockedBytes(1024, 4096), 34 * kPage);
  EXPECT_EQ(IoUringLockedBytes(8, 16), 2 * kPage);
}

// Restores the process's RLIMIT_MEMLOCK when the test ends.
class MemlockLimit {
 public:
  MemlockLimit() { getrlimit(RLIMIT_MEMLOCK, &saved_); }
  ~MemlockLimit() { setrlimit(RLIMIT_MEMLOCK, &saved_); }
  bool SetSoft(rlim_t bytes) {
    rlimit limit = saved_;
    limit.rlim_cur = bytes;
    return setrlimit(RLIMIT_MEMLOCK, &limit) == 0;
  }

 private:
  rlimit saved_{};
};

TEST(LockedMemoryTest, ErrorNamesTheLimitItsValueAndTheFixes) {
  MemlockLimit limit;
  ASSERT_TRUE(limit.SetSoft(1 << 20));
  const absl::Status error = LockedMemoryError("io_uring_queue_init", 544768);
  EXPECT_TRUE(absl::IsResourceExhausted(error));
  const std::string message(error.message());
  EXPECT_EQ(message.rfind("io_uring_queue_init: Cannot allocate memory: it needs 532 KiB", 0),
            0u)
      << message;
  for (const char* part : {"RLIMIT_MEMLOCK", "1024 KiB", "ulimit -l", "LimitMEMLOCK=",
                           "fewer or smaller rings"}) {
    EXPECT_NE(message.find(part), std::string::npos) << part << " missing from: " << message;
  }
}

}  // namespace
}  // namespace ringside
