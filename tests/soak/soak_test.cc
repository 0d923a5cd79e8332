// The CI soak: 30 s of churn per buffer mode against the real server binary, every response
// byte checked, and fds, RSS (and bgids and pooled rings when the admin service is there)
// back at the post-warm-up baseline (see soak.h). The full run is `bazel run :soak`.
#include <gtest/gtest.h>

#include <cstdio>

#include "ringside/tests/soak/server_process.h"
#include "ringside/tests/soak/soak.h"

namespace ringside::soak {
namespace {

class SoakTest : public ::testing::TestWithParam<bool> {};

TEST_P(SoakTest, ChurnChecksEveryByteAndReturnsToBaseline) {
  SoakOptions options;
  options.server_binary = ServerBinary();
  options.incremental = GetParam();
  options.warmup = std::chrono::seconds(5);
  options.duration = std::chrono::seconds(25);
  options.seed = GetParam() ? 101 : 202;
  const SoakReport report = RunSoak(options);
  // The figures go to the test log whether or not the soak passed.
  std::printf("%s", FormatReport(report).c_str());
  EXPECT_TRUE(report.failures.empty());
  EXPECT_GT(report.churn.responses_checked, 0u);
  EXPECT_GT(report.churn.resets, 0u);
  EXPECT_GT(report.churn.graceful_closes, 0u);
}

INSTANTIATE_TEST_SUITE_P(Modes, SoakTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Incremental" : "Shared";
                         });

}  // namespace
}  // namespace ringside::soak
