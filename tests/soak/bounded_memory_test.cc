// Hostile and careless clients against the real server binary, in both buffer modes: every
// byte a connection holds is bounded, and what a client leaves behind goes back.
//   - 1-byte chunks carrying 1 KiB chunk extensions (one connection held 1.05 GB for a
//     1 MiB body before bodies streamed): refused with 431, RSS growth under 4 MiB.
//   - 100 keep-alive connections that each echoed 8 MiB, then sit idle (826 MB held while
//     output was a string that kept its capacity): RSS back within the output pool's cap
//     plus 8 MiB of the baseline while they stay open.
//   - Clients that never read their responses: closed by the send timeout and counted,
//     while another client is served normally.
//   - Worker mode: the workers release the requests' buffers from their own threads, the
//     releases arrive through the release queue, none is stale, and every ring comes back.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ringside/reactor/test_client.h"
#include "ringside/tests/soak/admin_figures.h"
#include "ringside/tests/soak/http_exchange.h"
#include "ringside/tests/soak/server_process.h"

namespace ringside::soak {
namespace {

using testing::TestClient;
using testing::WaitFor;
using testing::WriteUntilStalled;

constexpr int64_t kMiB = 1024;  // in KiB, as ServerProcess reports RSS


class BoundedMemoryTest : public ::testing::TestWithParam<bool> {
 protected:
  std::unique_ptr<ServerProcess> Start(std::vector<std::string> extra = {}) {
    std::vector<std::string> flags = {"--reactors=1", absl::StrCat("--incremental=", GetParam())};
    flags.insert(flags.end(), extra.begin(), extra.end());
    return StartServerForTest(flags);
  }
};

TEST_P(BoundedMemoryTest, ChunkExtensionFloodIsRefusedWithoutHoldingItsBytes) {
  std::unique_ptr<ServerProcess> server = Start();
  ASSERT_NE(server, nullptr);
  TestClient warm_up(server->port());
  warm_up.Send("GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(HoldsWholeResponse(warm_up.ReadUntil(HoldsWholeResponse)));
  const int64_t rss_before = server->ResidentKb();

  TestClient client(server->port());
  client.Send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
  const std::string chunk = "1;" + std::string(1020, 'x') + "=y\r\nb\r\n";
  std::string sixteen_chunks;
  for (int i = 0; i < 16; ++i) sixteen_chunks += chunk;
  int64_t rss_peak = rss_before;
  size_t sent_chunks = 0;
  // A 1 MiB body in 1-byte chunks: about 1 GiB on the wire, unless the server refuses it.
  while (sent_chunks < (size_t{1} << 20)) {
    const ssize_t n = send(client.fd(), sixteen_chunks.data(), sixteen_chunks.size(),
                           MSG_NOSIGNAL);
    if (n < static_cast<ssize_t>(sixteen_chunks.size())) break;  // refused and closed
    sent_chunks += 16;
    if (sent_chunks % 1024 == 0) rss_peak = std::max(rss_peak, server->ResidentKb());
  }
  const std::string response = client.ReadUntil([](std::string_view r) {
    return r.find("\r\n\r\n") != std::string_view::npos;
  });
  EXPECT_TRUE(absl::StartsWith(response, "HTTP/1.1 431")) << response.substr(0, 40);
  EXPECT_LT(sent_chunks, size_t{1} << 20) << "the whole flood was taken";
  rss_peak = std::max(rss_peak, server->ResidentKb());
  if (!kSanitizedServer) {
    // Shared mode's one ring (1024 x 16 KiB) becomes resident as the kernel cycles through
    // it; that is the reactor's, not this connection's.
    const int64_t ring_kib = GetParam() ? 0 : 16 * kMiB;
    EXPECT_LT(rss_peak - rss_before, 4 * kMiB + ring_kib) << "after " << sent_chunks << " chunks";
  }
}

TEST_P(BoundedMemoryTest, IdleConnectionsAfterLargeEchoesHoldNoOutput) {
  if (kSanitizedServer) GTEST_SKIP() << "ASan's quarantine keeps freed memory resident";
  constexpr int64_t kPoolMiB = 8;
  std::unique_ptr<ServerProcess> server =
      Start({absl::StrCat("--output_pool_mb=", kPoolMiB), "--idle_timeout_ms=0"});
  ASSERT_NE(server, nullptr);
  const std::string body(8 << 20, 'e');
  const std::string request =
      absl::StrCat("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: ", body.size(), "\r\n\r\n");
  {
    // Warm-up: the kernel cycles through every buffer of shared mode's ring once, so the
    // baseline counts its 16 MiB as resident.
    TestClient client(server->port());
    for (int i = 0; i < 4; ++i) {
      std::thread writer([&] { client.Send(request + body); });
      EXPECT_TRUE(absl::EndsWith(client.ReadUntil(HoldsWholeResponse, std::chrono::seconds(60)), body));
      writer.join();
    }
  }
  ASSERT_TRUE(WaitFor([&] {
    const absl::StatusOr<AdminFigures> figures = ReadAdminFigures(server->admin_address());
    return figures.ok() && figures->connections == 0;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // a heap trim
  const int64_t baseline = server->ResidentKb();
  std::vector<TestClient> clients;
  for (int i = 0; i < 100; ++i) clients.emplace_back(server->port());
  // Four at a time, each client echoes 8 MiB once and keeps its connection.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = t; i < clients.size(); i += 4) {
        std::thread writer([&] {
          clients[i].Send(request);
          clients[i].Send(body);
        });
        const std::string response =
            clients[i].ReadUntil(HoldsWholeResponse, std::chrono::seconds(60));
        writer.join();
        EXPECT_TRUE(absl::EndsWith(response, body)) << "client " << i;
      }
    });
  }
  for (auto& t : threads) t.join();
  // Quiet now: the trimmer gives freed heap back within a second or two.
  int64_t rss = 0;
  const bool settled = WaitFor(
      [&] {
        rss = server->ResidentKb();
        return rss - baseline <= kPoolMiB * kMiB + 8 * kMiB;
      },
      std::chrono::seconds(10));
  EXPECT_TRUE(settled) << "RSS " << rss << " KiB, baseline " << baseline << " KiB";
  const absl::StatusOr<AdminFigures> figures = ReadAdminFigures(server->admin_address());
  ASSERT_TRUE(figures.ok()) << figures.status();
  EXPECT_EQ(figures->connections, 100u);
  EXPECT_EQ(figures->output_bytes_queued, 0u);
  EXPECT_EQ(figures->output_blocks_in_use, 0u);
}

TEST_P(BoundedMemoryTest, ClientsThatNeverReadAreClosedBySendTimeout) {
  std::unique_ptr<ServerProcess> server =
      Start({"--send_timeout_ms=1000", "--max_body=67108864"});
  ASSERT_NE(server, nullptr);
  const int fds_before = server->OpenFds();
  std::vector<TestClient> stuck;
  // Each asks for a 32 MiB echo it never reads, sending the body for as long as the server
  // takes it: the server's output then stops moving with most of the response unsent.
  const std::string body(32 << 20, 's');
  std::vector<std::thread> writers;
  for (int i = 0; i < 20; ++i) {
    stuck.emplace_back(server->port());
    stuck.back().Send(absl::StrCat("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: ",
                                   body.size(), "\r\n\r\n"));
  }
  for (TestClient& client : stuck) {
    writers.emplace_back([&body, fd = client.fd()] {
      WriteUntilStalled(fd, body, std::chrono::milliseconds(300));
    });
  }
  // Meanwhile a reading client is served as usual.
  TestClient healthy(server->port());
  for (int i = 0; i < 5; ++i) {
    healthy.Send("GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
    ASSERT_TRUE(HoldsWholeResponse(healthy.ReadUntil(HoldsWholeResponse)));
  }
  absl::StatusOr<AdminFigures> figures;
  ASSERT_TRUE(WaitFor(
      [&] {
        figures = ReadAdminFigures(server->admin_address());
        return figures.ok() && figures->send_timeouts >= 20;
      },
      std::chrono::seconds(15)))
      << (figures.ok() ? absl::StrCat(figures->send_timeouts, " send timeouts")
                       : std::string(figures.status().message()));
  for (auto& w : writers) w.join();
  EXPECT_EQ(figures->connections, 1u) << "only the healthy client is left";
  healthy.Send("GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_TRUE(HoldsWholeResponse(healthy.ReadUntil(HoldsWholeResponse)));
  EXPECT_TRUE(WaitFor([&] { return server->OpenFds() <= fds_before + 1; }));
}

TEST_P(BoundedMemoryTest, WorkersReleaseThroughTheQueueAndEveryRingComesBack) {
  std::unique_ptr<ServerProcess> server = Start({"--handler_threads=2"});
  ASSERT_NE(server, nullptr);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      TestClient client(server->port());
      for (int round = 0; round < 50; ++round) {
        std::string pipeline;
        for (int i = 0; i < 16; ++i) {
          pipeline += "GET /pipeline HTTP/1.1\r\nHost: t\r\n\r\n";
          pipeline += "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello";
        }
        client.Send(pipeline);
        int responses = 0;
        std::string received;
        while (responses < 32) {
          received += client.ReadUntil([&](std::string_view r) { return !r.empty(); });
          for (size_t at; (at = received.find("HTTP/1.1 200")) != std::string::npos &&
                          HoldsWholeResponse(std::string_view(received).substr(at));) {
            const std::string_view rest = std::string_view(received).substr(at);
            const size_t head_end = rest.find("\r\n\r\n");
            const size_t length = std::stoul(std::string(rest.substr(rest.find("Content-Length: ") + 16)));
            received.erase(0, at + head_end + 4 + length);
            ++responses;
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  absl::StatusOr<AdminFigures> figures;
  ASSERT_TRUE(WaitFor([&] {
    figures = ReadAdminFigures(server->admin_address());
    return figures.ok() && figures->connections == 0;
  }));
  if (GetParam()) {
    // Incremental: the lent requests are ring buffers, released on the workers' threads.
    EXPECT_GT(figures->releases_queued, 0u);
    EXPECT_EQ(figures->rings_live, 0u) << "every ring went back to the pool";
  }
  EXPECT_EQ(figures->stale_releases, 0u);
  EXPECT_EQ(figures->input_bytes_held, 0u);
}

// 20 clients pipeline 20,000 GETs each and never read. The server stops reading each at
// the output high-water mark; with the app on a worker it holds what it holds inline
// (worker mode ignored the mark while a batch was out: 100-224 MB against 44 MB).
TEST_P(BoundedMemoryTest, WorkerModeHoldsNoMoreThanInlineForClientsThatNeverRead) {
  if (kSanitizedServer) GTEST_SKIP() << "ASan's quarantine keeps freed memory resident";
  std::string pipeline;
  for (int i = 0; i < 20000; ++i) pipeline += "GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n";
  int64_t growth_kib[2] = {0, 0};
  for (int threads : {0, 1}) {
    std::unique_ptr<ServerProcess> server =
        Start({absl::StrCat("--handler_threads=", threads), "--send_timeout_ms=0"});
    ASSERT_NE(server, nullptr);
    const int64_t before = server->ResidentKb();
    std::vector<TestClient> clients;
    std::vector<std::thread> writers;
    for (int i = 0; i < 20; ++i) clients.emplace_back(server->port());
    for (TestClient& client : clients) {
      writers.emplace_back([&pipeline, fd = client.fd()] {
        WriteUntilStalled(fd, pipeline, std::chrono::milliseconds(500));
      });
    }
    for (auto& w : writers) w.join();
    growth_kib[threads] = server->ResidentKb() - before;
    const absl::StatusOr<AdminFigures> figures = ReadAdminFigures(server->admin_address());
    ASSERT_TRUE(figures.ok()) << figures.status();
    // Every connection stopped at the output mark (1 MiB) plus what one batch produced.
    EXPECT_LT(figures->output_bytes_queued, uint64_t{20} * (4 << 20)) << threads << " threads";
  }
  std::printf("clients that never read: RSS grew %lld KiB inline, %lld KiB with a worker\n",
              static_cast<long long>(growth_kib[0]), static_cast<long long>(growth_kib[1]));
  // Inline mode may hold up to 20 x the 1 MiB output mark, and its RSS growth varies run to
  // run between 0 and ~14 MiB (heap trimming, page reuse), so the bound takes the larger of
  // what inline grew and that 20 MiB. Before worker mode honoured the mark: 100-224 MB.
  EXPECT_LT(growth_kib[1], std::max<int64_t>(growth_kib[0], 20 * kMiB) * 3 / 2 + 8 * kMiB)
      << "inline grew " << growth_kib[0] << " KiB, workers " << growth_kib[1] << " KiB";
}

INSTANTIATE_TEST_SUITE_P(Modes, BoundedMemoryTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Incremental" : "Shared"; });

}  // namespace
}  // namespace ringside::soak
