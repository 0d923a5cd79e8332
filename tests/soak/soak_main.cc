// soak: connection churn with random pipelines and fragmentation against the real server
// binary, in one or both buffer modes, printing the figures (see soak.h).
//
//   bazel run //tests/soak:soak -- --seconds=300 --mode=both
//
// Exits 0 when every mode passed, 1 otherwise.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "ringside/tests/soak/server_process.h"
#include "ringside/tests/soak/soak.h"

ABSL_FLAG(int, seconds, 300, "length of the measured churn, per mode");
ABSL_FLAG(std::string, mode, "both", "incremental, shared or both");
ABSL_FLAG(int, warmup_seconds, 10, "churn before the baseline is taken, per mode");
ABSL_FLAG(int, concurrency, 200, "connections open at any time");
ABSL_FLAG(int, reactors, 2, "the server's --reactors");
ABSL_FLAG(int, ring_idle_ms, 200, "the server's --ring_idle_ms");
ABSL_FLAG(uint64_t, seed, 1, "seed of the random requests, fragments and endings");
ABSL_FLAG(int64_t, rss_tolerance_kb, 4096, "RSS growth over the baseline that is accepted");
ABSL_FLAG(std::string, server, "", "server binary; empty: //services:server from runfiles");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("soak: connection churn against the ringside server");
  absl::ParseCommandLine(argc, argv);
  const std::string mode = absl::GetFlag(FLAGS_mode);
  std::vector<bool> modes;
  if (mode == "incremental" || mode == "both") modes.push_back(true);
  if (mode == "shared" || mode == "both") modes.push_back(false);
  if (modes.empty()) {
    std::fprintf(stderr, "soak: --mode must be incremental, shared or both\n");
    return 2;
  }
  ringside::soak::SoakOptions options;
  options.server_binary = absl::GetFlag(FLAGS_server);
  if (options.server_binary.empty()) {
    options.server_binary = ringside::soak::ServerBinary(argv[0]);
  }
  options.duration = std::chrono::seconds(absl::GetFlag(FLAGS_seconds));
  options.warmup = std::chrono::seconds(absl::GetFlag(FLAGS_warmup_seconds));
  options.concurrency = absl::GetFlag(FLAGS_concurrency);
  options.reactors = absl::GetFlag(FLAGS_reactors);
  options.ring_idle_ms = static_cast<uint32_t>(absl::GetFlag(FLAGS_ring_idle_ms));
  options.seed = absl::GetFlag(FLAGS_seed);
  options.rss_tolerance_kb = absl::GetFlag(FLAGS_rss_tolerance_kb);
  bool passed = true;
  for (bool incremental : modes) {
    options.incremental = incremental;
    const ringside::soak::SoakReport report = ringside::soak::RunSoak(options);
    std::printf("%s", ringside::soak::FormatReport(report).c_str());
    std::fflush(stdout);
    passed = passed && report.failures.empty();
  }
  return passed ? 0 : 1;
}
