// Graceful shutdown under load (issue 7, item 6; DESIGN.md "Contracts": SIGINT/SIGTERM stop
// accepting, finish what is in flight, exit 0): the real server binary gets SIGTERM while
// 1,000 connections each keep a pipeline of requests in flight, written in random
// fragments. A tenth of them are slow readers: a 4 KiB receive buffer, and after the signal
// they stop reading for a while but keep sending, so when the server begins to close
// connections their responses sit in its socket buffers while more requests arrive.
// Every connection's received stream must parse as whole, byte-exact responses
// up to where it ended (EOF or reset) — never a response cut short — new connections must
// be refused soon after the signal, and the process must exit 0 within --shutdown_timeout_ms.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ringside/reactor/test_client.h"
#include "ringside/tests/soak/http_exchange.h"
#include "ringside/tests/soak/load_connection.h"
#include "ringside/tests/soak/server_process.h"

namespace ringside::soak {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kConnections = 1000;
constexpr int kInFlight = 16;  // requests each connection keeps unanswered
constexpr int kShutdownTimeoutMs = 5000;
// Exit may come this long after the shutdown deadline: the reactors have stopped by then,
// what is left is joining threads and tearing down rings (slower under ASan).
constexpr milliseconds kExitGrace(1000);
// The listener must be gone this soon after the signal.
constexpr milliseconds kRefuseDeadline(2000);
// How long the slow readers stop reading after the signal (well within the deadline).
constexpr milliseconds kSlowReaderPause(1000);
constexpr int kSlowReaderBuffer = 4096;

bool SlowReader(size_t i) { return i % 10 == 0; }

// 1,000 client sockets here and 1,000 accepted ones in the server (which inherits the limit).
void RaiseFdLimit() {
  rlimit limit;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, 20000);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &limit), 0);
  ASSERT_GE(limit.rlim_cur, static_cast<rlim_t>(2 * kConnections + 100));
}

// Connect outcome for 127.0.0.1:port: 0 when it connected, else the errno.
int TryConnect(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const sockaddr_in addr = testing::LoopbackAddress(port);
  const int rc = connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  const int err = rc == 0 ? 0 : errno;
  close(fd);
  return err;
}

struct Client {
  std::unique_ptr<LoadConnection> conn;
  // Filled when the connection ends (the server closed or reset it), so the socket can be
  // closed at once, as a real client would.
  bool write_failed = false;
  bool ended = false;
  bool reset = false;
  std::string how;  // how it ended, with the figures at that point
  bool cut_short = false;  // it ended with part of a response received
  uint64_t responses = 0;
  uint64_t responses_at_signal = 0;
};

class ShutdownTest : public ::testing::TestWithParam<bool> {};

TEST_P(ShutdownTest, SigtermMidPipelineSendsWholeResponsesRefusesNewAndExitsZero) {
  RaiseFdLimit();
  absl::StatusOr<std::unique_ptr<ServerProcess>> started = ServerProcess::Start(
      ServerBinary(),
      {"--address=127.0.0.1", "--port=0", "--protocol=http", "--reactors=2",
       GetParam() ? "--incremental=true" : "--incremental=false",
       "--shutdown_timeout_ms=" + std::to_string(kShutdownTimeoutMs), "--admin_address="});
  ASSERT_TRUE(started.ok()) << started.status();
  ServerProcess& server = **started;

  std::mt19937_64 rng(GetParam() ? 11 : 12);
  Poller poller;
  std::vector<Client> clients(kConnections);
  Clock::time_point slow_readers_resume;  // epoch: nobody pauses before the signal
  auto paused = [&](size_t i) { return SlowReader(i) && Clock::now() < slow_readers_resume; };
  // Tops the pipeline up, so the connection is always mid-pipeline. A paused reader gets no
  // answers, so it keeps sending by going deeper.
  auto top_up = [&](size_t i) {
    Client& c = clients[i];
    while (c.conn->checker().outstanding() < kInFlight) c.conn->Queue(RandomExchange(rng, {}));
    if (paused(i) && !c.conn->wants_write()) c.conn->Queue(RandomExchange(rng, {}));
  };
  for (size_t i = 0; i < clients.size(); ++i) {
    clients[i].conn =
        LoadConnection::Connect(server.port(), SlowReader(i) ? kSlowReaderBuffer : 0);
    ASSERT_NE(clients[i].conn, nullptr) << "connect " << i << ": " << std::strerror(errno);
    top_up(i);
    poller.Add(clients[i].conn->fd(), i, true);
  }

  std::vector<std::string> mismatches;
  size_t open = clients.size();
  auto end = [&](size_t i, bool reset) {
    Client& c = clients[i];
    c.ended = true;
    c.reset = reset;
    c.cut_short = c.conn->checker().mid_response();
    c.responses = c.conn->checker().responses_checked();
    c.how = absl::StrCat(reset ? "reset" : "EOF", " after ", c.responses, " responses, ",
                         c.conn->bytes_sent(), " bytes sent, ",
                         c.conn->checker().outstanding(), " responses outstanding");
    poller.Remove(c.conn->fd());
    c.conn.reset();
    --open;
  };
  auto drive = [&](milliseconds timeout) {
    for (const Poller::Event& e : poller.Wait(timeout)) {
      Client& c = clients[e.token];
      if (c.ended) continue;
      if (e.readable && !paused(e.token)) {
        const LoadConnection::Io io = c.conn->Read();
        if (io == LoadConnection::Io::kMismatch) {
          mismatches.push_back(c.conn->checker().error());
          end(e.token, /*reset=*/false);
          continue;
        }
        if (io != LoadConnection::Io::kOk) {
          end(e.token, io == LoadConnection::Io::kReset);
          continue;
        }
      }
      if (c.write_failed) continue;
      if (e.writable && c.conn->WriteFragment(rng) != LoadConnection::Io::kOk) {
        // The server is gone from this connection, but what it sent before may still be
        // waiting to be read: reading goes on until the EOF or the reset.
        c.write_failed = true;
        poller.Update(c.conn->fd(), e.token, /*want_write=*/false);
        continue;
      }
      top_up(e.token);
    }
  };
  auto all = [&](auto predicate) {
    return std::all_of(clients.begin(), clients.end(), predicate);
  };

  // Load: every connection has had answers, and has more requests in flight.
  const Clock::time_point load_deadline = Clock::now() + std::chrono::seconds(60);
  while (!all([](const Client& c) {
    return c.ended || c.conn->checker().responses_checked() > 0;
  })) {
    ASSERT_LT(Clock::now(), load_deadline) << "not every connection got a response";
    drive(milliseconds(100));
  }
  ASSERT_TRUE(mismatches.empty()) << mismatches.front();
  ASSERT_EQ(open, clients.size()) << "connections ended before the signal; first: "
                                  << std::find_if(clients.begin(), clients.end(),
                                                  [](const Client& c) { return c.ended; })
                                         ->how;
  for (Client& c : clients) c.responses_at_signal = c.conn->checker().responses_checked();

  const Clock::time_point signalled = Clock::now();
  slow_readers_resume = signalled + kSlowReaderPause;
  ASSERT_TRUE(server.Signal(SIGTERM));
  // New connections, probed from another thread while this one keeps the load on.
  std::atomic<int64_t> refused_after_ms{-1};
  std::atomic<int> connected_after_refusal{0};
  std::thread prober([&] {
    while (Clock::now() - signalled < kRefuseDeadline + milliseconds(1000)) {
      const int err = TryConnect(server.port());
      if (err == ECONNREFUSED && refused_after_ms < 0) {
        refused_after_ms = std::chrono::duration_cast<milliseconds>(Clock::now() - signalled)
                               .count();
      } else if (err == 0 && refused_after_ms >= 0) {
        ++connected_after_refusal;
      }
      std::this_thread::sleep_for(milliseconds(1));
    }
  });

  const Clock::time_point exit_deadline =
      signalled + milliseconds(kShutdownTimeoutMs) + kExitGrace;
  while (open > 0 && Clock::now() < exit_deadline) drive(milliseconds(50));
  const std::optional<int> status = server.WaitForExit(std::chrono::duration_cast<milliseconds>(
      std::max(exit_deadline - Clock::now(), Clock::duration::zero())));
  const double exit_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - signalled).count();
  // Connections still open here were closed by the server's exit; read what is left.
  const Clock::time_point drain_deadline = Clock::now() + std::chrono::seconds(10);
  while (open > 0 && status && Clock::now() < drain_deadline) drive(milliseconds(100));
  prober.join();

  uint64_t resets = 0;
  uint64_t cut_short = 0;
  uint64_t answered_after_signal = 0;
  uint64_t responses = 0;
  for (const Client& c : clients) {
    resets += c.reset;
    cut_short += c.cut_short;
    answered_after_signal += c.responses > c.responses_at_signal;
    responses += c.responses;
  }
  std::printf(
      "shutdown %s: %d connections, %lu responses checked (%lu connections answered after "
      "the signal), %lu ended by reset, %lu cut mid-response; exit %.0f ms after SIGTERM "
      "(deadline %d ms), refused %ld ms after\n",
      GetParam() ? "incremental" : "shared", kConnections, responses, answered_after_signal,
      resets, cut_short, exit_ms, kShutdownTimeoutMs,
      static_cast<long>(refused_after_ms.load()));

  EXPECT_TRUE(mismatches.empty()) << mismatches.size() << " mismatches; first: "
                                  << (mismatches.empty() ? "" : mismatches.front());
  EXPECT_EQ(cut_short, 0u) << "connections that ended with a partial response";
  EXPECT_EQ(open, 0u) << "connections the server never closed";
  ASSERT_TRUE(status.has_value()) << "no exit within " << kShutdownTimeoutMs << " ms + grace";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << "wait status " << *status;
  EXPECT_GE(refused_after_ms.load(), 0) << "new connections were still accepted";
  EXPECT_LE(refused_after_ms.load(), kRefuseDeadline.count());
  EXPECT_EQ(connected_after_refusal.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(Modes, ShutdownTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Incremental" : "Shared";
                         });

}  // namespace
}  // namespace ringside::soak
