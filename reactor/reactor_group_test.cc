// ReactorGroup and the reactor's lifecycle over real loopback sockets: N reactors on one
// port, misuse refused with errors, the on-close hook, the peer address, and how long a
// stop takes with a client that ignores the server's FIN.
#include "ringside/reactor/reactor_group.h"

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "ringside/reactor/reactor.h"
#include "ringside/reactor/test_client.h"
#include "ringside/services/echo/echo_handler.h"

namespace ringside {
namespace {

using testing::TestClient;
using testing::WaitFor;

ReactorConfig SmallConfig() {
  ReactorConfig config;
  config.address = "127.0.0.1";
  config.queue_entries = 64;
  config.buffers.buffer_size = 4096;
  config.buffers.connection_entries = 4;
  config.buffers.shared_entries = 64;
  config.buffers.budget_bytes = 4 << 20;
  return config;
}

ReactorGroupConfig GroupConfig(uint32_t reactors) {
  return {.reactor = SmallConfig(), .reactors = reactors, .exclusive_port = true};
}

ReactorGroup::Handlers Echo() {
  return [](uint32_t) -> HandlerFactory { return [] { return std::make_unique<EchoHandler>(); }; };
}

TEST(ReactorGroupTest, ReactorsShareOnePortAndEachServes) {
  ReactorGroup group(GroupConfig(2), Echo());
  ASSERT_TRUE(group.Start().ok());
  ASSERT_EQ(group.reactors().size(), 2u);
  EXPECT_NE(group.port(), 0);
  EXPECT_EQ(group.reactors()[1]->port(), group.port());
  for (int i = 0; i < 8; ++i) {
    TestClient client(group.port());
    client.Send("ping");
    EXPECT_EQ(client.ReadExactly(4), "ping");
  }
  EXPECT_TRUE(group.Stop().ok());
}

TEST(ReactorGroupTest, LifecycleMisuseReturnsErrors) {
  ReactorGroup group(GroupConfig(1), Echo());
  EXPECT_EQ(group.Stop().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(group.Start().ok());
  EXPECT_EQ(group.Start().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(group.Stop().ok());
  EXPECT_TRUE(group.Stop().ok());  // idempotent
  EXPECT_EQ(group.Start().code(), absl::StatusCode::kFailedPrecondition);

  ReactorGroup none(GroupConfig(0), Echo());
  EXPECT_EQ(none.Start().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ReactorGroupTest, AStartThatFailsLeavesNothingRunning) {
  ReactorGroup first(GroupConfig(1), Echo());
  ASSERT_TRUE(first.Start().ok());
  ReactorGroupConfig config = GroupConfig(2);
  config.reactor.port = first.port();  // exclusive: taken
  ReactorGroup second(config, Echo());
  EXPECT_EQ(second.Start().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(second.reactors().empty());
  EXPECT_TRUE(first.Stop().ok());
}

TEST(ReactorLifecycleTest, MisuseReturnsErrorsInsteadOfTerminating) {
  Reactor never_started(SmallConfig(), [] { return std::make_unique<EchoHandler>(); });
  never_started.Stop();  // before Start: nothing to stop
  never_started.Join();
  EXPECT_TRUE(never_started.Snapshot().connections.empty());
  EXPECT_EQ(never_started.Start().code(), absl::StatusCode::kFailedPrecondition);

  Reactor reactor(SmallConfig(), [] { return std::make_unique<EchoHandler>(); });
  ASSERT_TRUE(reactor.Start().ok());
  EXPECT_EQ(reactor.Start().code(), absl::StatusCode::kFailedPrecondition);
  reactor.Stop();
  reactor.Stop();
  reactor.Join();
  reactor.Join();
}

// Records what the handler API tells it: the peer address on input, and OnClose.
struct Observed {
  std::atomic<int> closes{0};
  std::mutex mu;
  std::string peer;  // guarded by mu
};

class ObservingHandler final : public ConnectionHandler {
 public:
  explicit ObservingHandler(Observed* observed) : observed_(observed) {}
  void OnInput(ConnectionIo& io) override {
    std::lock_guard<std::mutex> lock(observed_->mu);
    observed_->peer = io.peer_address();
    io.output().AppendLease(io.input().Lend(io.input().size()));
  }
  void OnClose() override { observed_->closes.fetch_add(1); }

 private:
  Observed* observed_;
};

TEST(ReactorGroupTest, HandlersSeeThePeerAndAreToldOfTheClose) {
  Observed observed;
  ReactorGroup group(GroupConfig(1), [&](uint32_t) -> HandlerFactory {
    return [&] { return std::make_unique<ObservingHandler>(&observed); };
  });
  ASSERT_TRUE(group.Start().ok());
  {
    TestClient client(group.port());
    client.Send("hello");
    ASSERT_EQ(client.ReadExactly(5), "hello");
    std::lock_guard<std::mutex> lock(observed.mu);
    EXPECT_EQ(observed.peer.rfind("127.0.0.1:", 0), 0u) << observed.peer;
    EXPECT_EQ(observed.closes.load(), 0);
  }
  EXPECT_TRUE(WaitFor([&] { return observed.closes.load() == 1; }));
  // A connection still open when the group stops is told too.
  TestClient open(group.port());
  open.Send("x");
  ASSERT_EQ(open.ReadExactly(1), "x");
  ASSERT_TRUE(group.Stop().ok());
  EXPECT_EQ(observed.closes.load(), 2);
}

// A stop after recent activity is prompt (reactor.h, "How long Stop() takes"): after
// 100 ms of quiet with everything and the FIN acknowledged by the client's kernel, the
// lingering connection closes, whether or not the client closes its side. It used to wait
// the 2 s linger for a client that keeps its socket open.
TEST(ReactorGroupTest, StopAfterRecentActivityIsPrompt) {
  using Clock = std::chrono::steady_clock;
  for (const bool client_closes_on_fin : {true, false}) {
    SCOPED_TRACE(client_closes_on_fin ? "client closes on FIN" : "client ignores FIN");
    ReactorGroup group(GroupConfig(1), Echo());
    ASSERT_TRUE(group.Start().ok());
    TestClient client(group.port());
    const std::string data(100000, 'r');
    client.Send(data);
    ASSERT_TRUE(client.ReadExactly(data.size()) == data);
    std::thread closer;
    if (client_closes_on_fin) {
      closer = std::thread([&] {
        if (client.WaitForClose()) shutdown(client.fd(), SHUT_RDWR);
      });
    }
    const Clock::time_point start = Clock::now();
    EXPECT_TRUE(group.Stop().ok());
    EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(1000));
    if (closer.joinable()) closer.join();
    if (!client_closes_on_fin) {
      EXPECT_TRUE(client.WaitForClose(std::chrono::seconds(1)));
    }
  }
}

}  // namespace
}  // namespace ringside
