#include "ringside/services/fd_budget.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <vector>

#include "gtest/gtest.h"

namespace ringside {
namespace {

// Restores the process's RLIMIT_NOFILE when the test ends.
class SavedFdLimit {
 public:
  SavedFdLimit() { getrlimit(RLIMIT_NOFILE, &saved_); }
  ~SavedFdLimit() { setrlimit(RLIMIT_NOFILE, &saved_); }
  const rlimit& saved() const { return saved_; }

 private:
  rlimit saved_{};
};

TEST(FdBudget, RaisesTheSoftLimitToTheHardOne) {
  SavedFdLimit saved;
  rlimit low = saved.saved();
  low.rlim_cur = 256;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  absl::StatusOr<FdBudget> budget = RaiseFdLimit(10);
  ASSERT_TRUE(budget.ok()) << budget.status();
  EXPECT_EQ(budget->soft_limit, saved.saved().rlim_max);
  rlimit now{};
  getrlimit(RLIMIT_NOFILE, &now);
  EXPECT_EQ(now.rlim_cur, saved.saved().rlim_max);
}

// The tests below lower the hard limit, which only a privileged process can raise again.
TEST(FdBudget, CountsOpenDescriptorsAndTheReserve) {
  if (geteuid() != 0) GTEST_SKIP() << "restoring the hard limit needs CAP_SYS_RESOURCE";
  SavedFdLimit saved;
  rlimit limit = saved.saved();
  limit.rlim_cur = limit.rlim_max = 512;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &limit), 0);
  absl::StatusOr<FdBudget> before = RaiseFdLimit(10);
  ASSERT_TRUE(before.ok()) << before.status();
  std::vector<int> held;
  for (int i = 0; i < 100; ++i) held.push_back(open("/dev/null", O_RDONLY | O_CLOEXEC));
  absl::StatusOr<FdBudget> after = RaiseFdLimit(10);
  for (int fd : held) close(fd);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->open_at_start, before->open_at_start + 100);
  EXPECT_EQ(after->connections, 512 - after->open_at_start - 10);
}

TEST(FdBudget, NoRoomForAConnectionIsAnErrorNamingTheLimit) {
  SavedFdLimit saved;
  rlimit limit = saved.saved();
  limit.rlim_cur = limit.rlim_max = 64;
  if (geteuid() != 0) GTEST_SKIP() << "restoring the hard limit needs CAP_SYS_RESOURCE";
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &limit), 0);
  absl::StatusOr<FdBudget> budget = RaiseFdLimit(64);
  ASSERT_FALSE(budget.ok());
  EXPECT_TRUE(absl::IsResourceExhausted(budget.status()));
  EXPECT_NE(budget.status().message().find("RLIMIT_NOFILE is 64"), std::string::npos)
      << budget.status();
}

}  // namespace
}  // namespace ringside
