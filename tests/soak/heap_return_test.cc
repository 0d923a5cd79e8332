// After a burst of large requests the server gives its heap back: once quiet, its RSS is
// within a few MiB of a fresh process plus its receive rings, however large the burst.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ringside/reactor/test_client.h"
#include "ringside/tests/soak/http_exchange.h"
#include "ringside/tests/soak/server_process.h"

namespace ringside::soak {
namespace {

constexpr int64_t kMiB = 1024;  // in KiB, as ServerProcess reports RSS
constexpr int kConnections = 32;
constexpr int kRounds = 6;
// Mixed sizes, as a real burst has: with glibc's default policy, once a large block is freed
// the smaller ones that follow come from the arenas and fragment them.
constexpr size_t kBodyBytes[] = {size_t{2} << 20, 300 << 10, 20 << 10, size_t{1} << 20,
                                 600 << 10};


// kConnections clients at once, each echoing kRounds bodies of mixed sizes, one connection
// per body.
void Burst(uint16_t port) {
  std::vector<std::thread> clients;
  for (int i = 0; i < kConnections; ++i) {
    clients.emplace_back([port, i] {
      for (int round = 0; round < kRounds; ++round) {
        testing::TestClient client(port);
        const std::string body(kBodyBytes[(i + round) % std::size(kBodyBytes)], 'b');
        client.Send(absl::StrCat("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: ",
                                 body.size(), "\r\n\r\n", body));
        const std::string response = client.ReadUntil(HoldsWholeResponse);
        EXPECT_TRUE(absl::StartsWith(response, "HTTP/1.1 200"));
        EXPECT_TRUE(absl::EndsWith(response, body));
      }
    });
  }
  for (std::thread& c : clients) c.join();
}

class HeapReturnTest : public ::testing::TestWithParam<bool> {};

TEST_P(HeapReturnTest, QuietServerGivesLargeBodiesMemoryBack) {
  if (kSanitizedServer) GTEST_SKIP() << "ASan's quarantine keeps freed memory by design";
  const bool incremental = GetParam();
  absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::Start(
      ServerBinary(), {"--address=127.0.0.1", "--port=0", "--reactors=1", "--admin_address=",
                       absl::StrCat("--incremental=", incremental ? "true" : "false")});
  ASSERT_TRUE(server.ok()) << server.status();
  const int64_t fresh_kb = (*server)->ResidentKb();
  // What the receive rings may keep resident: the shared ring's 1024 x 16 KiB once every
  // buffer has been written, or the 32 pooled 8 x 16 KiB rings whose slabs stay resident.
  const int64_t rings_kb = incremental ? 4 * kMiB : 16 * kMiB;
  const int64_t limit_kb = fresh_kb + rings_kb + 4 * kMiB;

  Burst((*server)->port());
  const bool returned = testing::WaitFor(
      [&] { return (*server)->ResidentKb() <= limit_kb; },
      std::chrono::seconds(10));
  std::printf("fresh %lld KiB, after the burst %lld KiB, limit %lld KiB\n",
              static_cast<long long>(fresh_kb), static_cast<long long>((*server)->ResidentKb()),
              static_cast<long long>(limit_kb));
  EXPECT_TRUE(returned);
}

INSTANTIATE_TEST_SUITE_P(Modes, HeapReturnTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Incremental" : "Shared";
                         });

}  // namespace
}  // namespace ringside::soak
