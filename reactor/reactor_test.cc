// The reactor over real loopback sockets and a real io_uring, with the echo protocol and
// test handlers, in incremental and shared modes.
#include "ringside/reactor/reactor.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <functional>
#include <set>
#include <thread>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "ringside/reactor/test_client.h"
#include "ringside/services/echo/echo_handler.h"

namespace ringside {
namespace {

using testing::TestClient;
using testing::WaitFor;
using testing::WriteUntilStalled;

struct Mode {
  const char* name;
  bool incremental;
};

class ReactorTest : public ::testing::TestWithParam<Mode> {
 protected:
  ReactorConfig Config() {
    ReactorConfig config;
    config.address = "127.0.0.1";
    config.buffers.incremental = GetParam().incremental;
    config.buffers.buffer_size = 4096;
    config.buffers.connection_entries = 4;
    config.buffers.shared_entries = 64;
    return config;
  }
  std::unique_ptr<Reactor> StartEcho(ReactorConfig config) {
    auto reactor = std::make_unique<Reactor>(config, [] { return std::make_unique<EchoHandler>(); });
    const absl::Status status = reactor->Start();
    EXPECT_TRUE(status.ok()) << status;
    return reactor;
  }
};

std::string Pattern(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  std::mt19937 rng(seed);
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

TEST_P(ReactorTest, EchoesEveryByteInOrderAcrossManyBuffers) {
  auto reactor = StartEcho(Config());
  EXPECT_EQ(reactor->incremental(), GetParam().incremental);
  TestClient client(reactor->port());
  const std::string data = Pattern(1 << 20, 1);
  std::thread writer([&] { client.Send(data); });
  const std::string echoed = client.ReadExactly(data.size());
  writer.join();
  EXPECT_EQ(echoed.size(), data.size());
  EXPECT_TRUE(echoed == data);
  const ReactorSnapshot snap = reactor->Snapshot();
  ASSERT_EQ(snap.connections.size(), 1u);
  EXPECT_EQ(snap.connections[0].recv_bytes, data.size());
  EXPECT_EQ(snap.connections[0].bytes_sent, data.size());
  if (GetParam().incremental) {
    EXPECT_GT(snap.connections[0].buffers_recycled, 200u);
    EXPECT_GE(snap.connections[0].bgid, 2u);
  }
  reactor->Stop();
  reactor->Join();
}

TEST_P(ReactorTest, ServesIpv6) {
  ReactorConfig config = Config();
  config.address = "::1";
  auto reactor = StartEcho(config);
  TestClient client(reactor->port(), /*ipv6=*/true);
  client.Send("over ipv6");
  EXPECT_EQ(client.ReadExactly(9), "over ipv6");
  EXPECT_EQ(reactor->Snapshot().connections[0].peer.substr(0, 5), "[::1]");
}

TEST_P(ReactorTest, ThousandConcurrentConnectionsEachGetTheirOwnBytes) {
  ReactorConfig config = Config();
  auto reactor = StartEcho(config);
  std::vector<TestClient> clients;
  for (int i = 0; i < 1000; ++i) clients.emplace_back(reactor->port());
  for (int i = 0; i < 1000; ++i) clients[i].Send("conn " + std::to_string(i) + ";");
  for (int i = 0; i < 1000; ++i) {
    const std::string want = "conn " + std::to_string(i) + ";";
    ASSERT_EQ(clients[i].ReadExactly(want.size()), want);
  }
  const ReactorSnapshot snap = reactor->Snapshot();
  EXPECT_EQ(snap.totals.connections, 1000u);
  if (GetParam().incremental) {
    // Each on a ring of its own, unless the kernel refused its locked memory: in Bazel's
    // sandbox root is charged like any user (a user namespace), and its 8 MiB are shared
    // with every test running meanwhile. Those are served on the shared ring.
    std::set<uint32_t> bgids;
    for (const ConnectionStats& c : snap.connections) {
      if (c.incremental) bgids.insert(c.bgid);
    }
    EXPECT_EQ(bgids.size() + snap.totals.shared_ring_fallbacks, 1000u);
    EXPECT_EQ(snap.totals.shared_ring_fallbacks, snap.totals.buffers.memory_refusals);
  }
}

// Small responses go out at once: accepted sockets have TCP_NODELAY (inherited from the
// listener, so an accept costs no setsockopt).
TEST_P(ReactorTest, AcceptedConnectionsSendWithoutDelay) {
  auto reactor = StartEcho(Config());
  TestClient client(reactor->port());
  client.Send("x");
  ASSERT_EQ(client.ReadExactly(1), "x");
  const ReactorSnapshot snap = reactor->Snapshot();
  ASSERT_EQ(snap.connections.size(), 1u);
  int nodelay = 0;
  socklen_t size = sizeof(nodelay);
  ASSERT_EQ(getsockopt(snap.connections[0].fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &size), 0);
  EXPECT_NE(nodelay, 0);
}

TEST_P(ReactorTest, TenThousandConnectionsOpenedAndClosedGiveEveryRingBack) {
  auto reactor = StartEcho(Config());
  for (int round = 0; round < 100; ++round) {
    std::vector<TestClient> clients;
    for (int i = 0; i < 100; ++i) clients.emplace_back(reactor->port());
    for (TestClient& c : clients) c.Send("x");
    for (TestClient& c : clients) ASSERT_EQ(c.ReadExactly(1), "x");
  }
  ASSERT_TRUE(WaitFor([&] { return reactor->Snapshot().totals.connections == 0; }));
  const ReactorSnapshot snap = reactor->Snapshot();
  EXPECT_EQ(snap.totals.connections_accepted, 10000u);
  EXPECT_EQ(snap.totals.buffers.rings_live, GetParam().incremental ? 0u : 1u);
  EXPECT_EQ(snap.totals.buffers.rings_awaiting_release, 0u);
  if (GetParam().incremental) {
    // Every bgid in use belongs to a pooled ring, ready for the next connection.
    EXPECT_EQ(snap.totals.buffers.bgids_in_use, snap.totals.buffers.rings_pooled);
    EXPECT_LE(snap.totals.buffers.rings_pooled, BufferManagerConfig{}.pool_max_rings);
  }
}

TEST_P(ReactorTest, EveryWaitStrategyEchoes) {
  for (WaitStrategy wait : {WaitStrategy::kSubmitAndWait, WaitStrategy::kSubmitThenWait,
                            WaitStrategy::kBusyPoll}) {
    ReactorConfig config = Config();
    config.wait = wait;
    auto reactor = StartEcho(config);
    TestClient client(reactor->port());
    const std::string data = Pattern(100000, 7);
    client.Send(data);
    EXPECT_TRUE(client.ReadExactly(data.size()) == data);
    reactor->Stop();
    reactor->Join();
  }
}

TEST_P(ReactorTest, IdleConnectionGivesItsRingBackAndResumesExactly) {
  if (!GetParam().incremental) GTEST_SKIP() << "shared rings are never detached";
  ReactorConfig config = Config();
  config.ring_idle_ms = 50;
  auto reactor = StartEcho(config);
  TestClient client(reactor->port());
  std::string sent, echoed;
  for (int round = 0; round < 5; ++round) {
    const std::string chunk = Pattern(3000 + round, round);
    client.Send(chunk);
    sent += chunk;
    echoed += client.ReadExactly(chunk.size());
    ASSERT_TRUE(WaitFor([&] {
      const ReactorSnapshot s = reactor->Snapshot();
      return !s.connections[0].ring_attached;
    })) << "round " << round << ": ring never detached";
  }
  EXPECT_TRUE(echoed == sent);
  const ReactorSnapshot snap = reactor->Snapshot();
  EXPECT_GE(snap.totals.idle_detaches, 5u);
  EXPECT_EQ(snap.totals.buffers.rings_live, 0u);
}

TEST_P(ReactorTest, ClientThatNeverReadsKeepsServerOutputBounded) {
  ReactorConfig config = Config();
  config.output_high_water = 256 * 1024;
  auto reactor = StartEcho(config);
  TestClient client(reactor->port());
  const std::string chunk(64 * 1024, 'z');
  // Push far more than socket buffers and the high-water mark can hold, without reading,
  // until the server stops reading and our socket buffer fills (EAGAIN).
  size_t pushed = 0;
  for (int i = 0; i < 64 * 16; ++i) {  // at most 64 MiB
    const ssize_t n = send(client.fd(), chunk.data(), chunk.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      ASSERT_EQ(errno, EAGAIN);
      break;
    }
    pushed += static_cast<size_t>(n);
  }
  EXPECT_LT(pushed, size_t{64} << 20) << "the server kept reading without bound";
  const ReactorSnapshot snap = reactor->Snapshot();
  ASSERT_EQ(snap.connections.size(), 1u);
  EXPECT_LT(snap.connections[0].recv_bytes - snap.connections[0].bytes_sent,
            2 * config.output_high_water + (4 << 20));
  // Reading now drains every byte that was pushed, in order, exactly once.
  const std::string got = client.ReadExactly(pushed);
  EXPECT_EQ(got.size(), pushed);
  EXPECT_EQ(got.find_first_not_of('z'), std::string::npos);
}

TEST_P(ReactorTest, BufferEfficiencyTotalsCoverLiveAndClosedConnections) {
  auto reactor = StartEcho(Config());
  uint64_t completions = 0;
  for (int round = 0; round < 2; ++round) {
    TestClient client(reactor->port());
    for (int i = 0; i < 40; ++i) {  // 40 KB in 1 KB receives: about ten 4 KiB buffers
      const std::string piece = Pattern(1000, i);
      client.Send(piece);
      ASSERT_EQ(client.ReadExactly(piece.size()), piece);
    }
    completions += reactor->Snapshot().connections.at(0).recv_completions;
  }
  ASSERT_TRUE(WaitFor([&] { return reactor->Snapshot().totals.connections == 0; }));
  const ReactorTotals t = reactor->Snapshot().totals;
  EXPECT_EQ(t.recv_completions, completions);
  if (GetParam().incremental) {
    // Packed buffers: several receives each, and every one retired full.
    EXPECT_GE(t.buffers_recycled, 16u);
    EXPECT_EQ(t.retired_bytes, t.buffers_recycled * 4096);
  } else {
    // One buffer per receive, each holding what that receive brought.
    EXPECT_EQ(t.buffers_recycled, completions);
    EXPECT_EQ(t.retired_bytes, 80000u);
  }
}

TEST_P(ReactorTest, EnobufsStormOnTinyRingsLosesNoByte) {
  ReactorConfig config = Config();
  config.buffers.buffer_size = 256;
  config.buffers.connection_entries = 1;
  config.buffers.shared_entries = 2;
  auto reactor = StartEcho(config);
  std::vector<TestClient> clients;
  std::vector<std::string> sent;
  for (int i = 0; i < 32; ++i) {
    clients.emplace_back(reactor->port());
    sent.push_back(Pattern(64 * 1024, 100 + i));
  }
  std::vector<std::thread> writers;
  for (int i = 0; i < 32; ++i) writers.emplace_back([&, i] { clients[i].Send(sent[i]); });
  for (int i = 0; i < 32; ++i) {
    EXPECT_TRUE(clients[i].ReadExactly(sent[i].size()) == sent[i]) << "client " << i;
  }
  for (std::thread& w : writers) w.join();
  EXPECT_GT(reactor->Snapshot().totals.enobufs_stalls, 0u);
}

TEST_P(ReactorTest, HalfClosedClientGetsEveryByteThenTheClose) {
  auto reactor = StartEcho(Config());
  TestClient client(reactor->port());
  const std::string data = Pattern(100000, 7);
  std::thread writer([&] {
    client.Send(data);
    client.ShutdownWrite();
  });
  EXPECT_TRUE(client.ReadExactly(data.size()) == data);
  writer.join();
  EXPECT_TRUE(client.WaitForClose());
  EXPECT_TRUE(WaitFor([&] { return reactor->Snapshot().totals.connections == 0; }));
}

TEST_P(ReactorTest, ClientsResettingMidTransferAreFreedAndOthersUnaffected) {
  ReactorConfig config = Config();
  config.output_high_water = 64 * 1024;
  auto reactor = StartEcho(config);
  for (int i = 0; i < 20; ++i) {
    TestClient client(reactor->port());
    // Enough that the server is still sending (or receiving) when the reset lands.
    const std::string data = Pattern(512 * 1024, i);
    send(client.fd(), data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (i % 2) client.ReadExactly(1000);
    const linger reset{1, 0};
    setsockopt(client.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  }
  EXPECT_TRUE(WaitFor([&] { return reactor->Snapshot().totals.connections == 0; }));
  TestClient healthy(reactor->port());
  healthy.Send("fine");
  EXPECT_EQ(healthy.ReadExactly(4), "fine");
}

TEST_P(ReactorTest, QuietConnectionClosesAfterTheIdleTimeout) {
  ReactorConfig config = Config();
  config.idle_timeout_ms = 300;
  config.ring_idle_ms = 100;
  auto reactor = StartEcho(config);
  TestClient quiet(reactor->port());
  quiet.Send("once");
  EXPECT_EQ(quiet.ReadExactly(4), "once");
  EXPECT_TRUE(quiet.WaitForClose(std::chrono::seconds(5)));
  const ReactorSnapshot snap = reactor->Snapshot();
  EXPECT_EQ(snap.totals.idle_timeouts, 1u);
  EXPECT_EQ(snap.totals.connections, 0u);
}

// Connections in the first registered_files slots enter the io_uring's registered file
// table at their second send (each client here makes two round trips), the rest keep their
// descriptors; either way every byte is echoed, slots are reused across the table's
// updates, and a connection the server closes is freed (its poll, issued on the table's
// entry once an incremental connection gave its ring back, is cancelled by the descriptor)
// and reaches the client as EOF (the table's reference to the socket is dropped with it).
TEST_P(ReactorTest, ConnectionsInAndPastTheRegisteredFileTableEchoAndClose) {
  for (const uint32_t entries : {0u, 3u}) {
    SCOPED_TRACE(entries);
    ReactorConfig config = Config();
    config.registered_files = entries;
    config.idle_timeout_ms = 300;
    config.ring_idle_ms = 100;
    auto reactor = StartEcho(config);
    const auto& features = reactor->features();
    EXPECT_EQ(std::find(features.begin(), features.end(), "REGISTERED_FILES") != features.end(),
              entries > 0);
    for (int wave = 0; wave < 2; ++wave) {
      std::vector<TestClient> clients;
      for (int i = 0; i < 8; ++i) clients.emplace_back(reactor->port());
      for (int trip = 0; trip < 2; ++trip) {
        const uint32_t seed = (wave * 2 + trip) * 8;
        for (int i = 0; i < 8; ++i) clients[i].Send(Pattern(20000, seed + i));
        for (int i = 0; i < 8; ++i) {
          ASSERT_EQ(clients[i].ReadExactly(20000), Pattern(20000, seed + i)) << i;
        }
      }
      // Quiet: the server closes each after the idle timeout.
      for (TestClient& client : clients) EXPECT_TRUE(client.WaitForClose(std::chrono::seconds(5)));
      ASSERT_TRUE(WaitFor([&] { return reactor->Snapshot().totals.connections == 0; }));
    }
    EXPECT_EQ(reactor->Snapshot().totals.idle_timeouts, 16u);
  }
}

TEST_P(ReactorTest, ConnectionsOverTheReactorLimitAreRefusedOthersUnaffected) {
  ReactorConfig config = Config();
  config.max_connections = 2;
  auto reactor = StartEcho(config);
  TestClient a(reactor->port()), b(reactor->port());
  a.Send("a");
  b.Send("b");
  ASSERT_EQ(a.ReadExactly(1), "a");
  ASSERT_EQ(b.ReadExactly(1), "b");
  TestClient refused(reactor->port());
  EXPECT_TRUE(refused.WaitForClose());
  a.Send("still here");
  EXPECT_EQ(a.ReadExactly(10), "still here");
  EXPECT_EQ(reactor->Snapshot().totals.refused_connection_limit, 1u);
}

TEST_P(ReactorTest, TotalLimitIsSharedByEveryReactorOfAGroup) {
  ConnectionLimit total(3);
  ReactorConfig config = Config();
  config.total_connections = &total;
  auto first = StartEcho(config);
  config.port = first->port();
  config.id = 1;
  auto second = StartEcho(config);
  std::vector<TestClient> admitted;
  for (int i = 0; i < 3; ++i) {
    admitted.emplace_back(first->port());
    admitted.back().Send("x");
    ASSERT_EQ(admitted.back().ReadExactly(1), "x");
  }
  TestClient refused(first->port());
  EXPECT_TRUE(refused.WaitForClose());
  EXPECT_EQ(first->Snapshot().totals.refused_connection_limit +
                second->Snapshot().totals.refused_connection_limit,
            1u);
  admitted.pop_back();
  ASSERT_TRUE(WaitFor([&] { return total.open() == 2; }));
  TestClient again(first->port());
  again.Send("y");
  EXPECT_EQ(again.ReadExactly(1), "y");
}

TEST_P(ReactorTest, ConnectionsBeyondTheBgidsAreServedOnTheSharedRing) {
  if (!GetParam().incremental) GTEST_SKIP() << "shared mode has one bgid per reactor";
  ReactorConfig config = Config();
  config.buffers.first_bgid = 2;
  config.buffers.last_bgid = 4;  // three connection rings
  auto reactor = StartEcho(config);
  std::vector<TestClient> clients;
  for (int i = 0; i < 5; ++i) {
    clients.emplace_back(reactor->port());
    const std::string data = Pattern(20000, i);  // several buffers of either ring
    clients.back().Send(data);
    ASSERT_TRUE(clients.back().ReadExactly(data.size()) == data) << "client " << i;
  }
  const ReactorSnapshot snap = reactor->Snapshot();
  EXPECT_EQ(snap.totals.connections, 5u);
  EXPECT_EQ(snap.totals.connections_refused, 0u);
  EXPECT_EQ(snap.totals.shared_ring_fallbacks, 2u);
  EXPECT_EQ(snap.totals.buffers.bgid_refusals, 2u);
  EXPECT_EQ(snap.totals.buffers.rings_live, 3u);
  std::set<uint32_t> own_bgids;
  int on_shared = 0;
  for (const ConnectionStats& c : snap.connections) {
    if (c.incremental) {
      own_bgids.insert(c.bgid);
    } else {
      EXPECT_EQ(c.bgid, config.buffers.shared_bgid);
      ++on_shared;
    }
  }
  EXPECT_EQ(own_bgids, (std::set<uint32_t>{2, 3, 4}));
  EXPECT_EQ(on_shared, 2);
  for (TestClient& client : clients) {
    client.Send("ok");
    EXPECT_EQ(client.ReadExactly(2), "ok");
  }
}

TEST_P(ReactorTest, StopSendsInFlightOutputThenExits) {
  auto reactor = StartEcho(Config());
  TestClient client(reactor->port());
  client.Send("last words");
  EXPECT_EQ(client.ReadExactly(10), "last words");
  reactor->Stop();
  reactor->Join();
  EXPECT_TRUE(client.WaitForClose());
}

TEST_P(ReactorTest, SnapshotAfterTheReactorEndedReturnsItsLastOne) {
  auto reactor = StartEcho(Config());
  {
    TestClient client(reactor->port());
    client.Send("x");
    EXPECT_EQ(client.ReadExactly(1), "x");
  }
  reactor->Stop();
  reactor->Join();
  const ReactorSnapshot last = reactor->Snapshot();
  EXPECT_EQ(last.totals.connections_accepted, 1u);
  EXPECT_EQ(last.totals.connections, 0u);
}

TEST_P(ReactorTest, TasksPostedByTheReactorToItsFullQueueStillRun) {
  ReactorConfig config = Config();
  config.task_queue_capacity = 4;
  auto reactor = StartEcho(config);
  std::atomic<int> ran{0};
  Reactor* r = reactor.get();
  reactor->Post([r, &ran] {
    for (int i = 0; i < 100; ++i) r->Post([&ran] { ran.fetch_add(1); });
  });
  EXPECT_TRUE(WaitFor([&] { return ran.load() == 100; }));
  reactor->Stop();
  reactor->Join();
}

// Shutdown closes connections whose clients are closing too; a client's EOF arriving
// after our cancel must still free the connection, or Join waits for the whole timeout.
TEST_P(ReactorTest, StopWhileClientsCloseFreesEveryConnectionPromptly) {
  ReactorConfig config = Config();
  config.shutdown_timeout_ms = 30000;
  auto reactor = StartEcho(config);
  {
    std::vector<TestClient> clients;
    for (int i = 0; i < 200; ++i) {
      clients.emplace_back(reactor->port());
      clients.back().Send("x");
    }
    for (TestClient& client : clients) ASSERT_EQ(client.ReadExactly(1), "x");
    reactor->Stop();
  }
  const auto start = std::chrono::steady_clock::now();
  reactor->Join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(reactor->Snapshot().totals.connections, 0u);
}

// Echoes, except that while `hold` is set it leaves every received lease in the input and
// pauses; the test resumes the connection through `held`.
class HoldingHandler final : public ConnectionHandler {
 public:
  HoldingHandler(std::atomic<bool>* hold, ConnectionHandle* held) : hold_(hold), held_(held) {}
  void OnInput(ConnectionIo& io) override {
    if (hold_->load()) {
      *held_ = io.handle();
      io.PauseInput();
      return;
    }
    EchoHandler().OnInput(io);
  }

 private:
  std::atomic<bool>* hold_;
  ConnectionHandle* held_;
};

// An idle connection gave its ring back; while it waited, other connections took every
// bgid. When its bytes arrive it cannot have a ring of its own: it is served on the shared
// ring (it was closed with its request unanswered).
TEST_P(ReactorTest, IdleConnectionReattachingWithoutAFreeRingIsServedOnTheSharedRing) {
  if (!GetParam().incremental) GTEST_SKIP() << "shared rings are never detached";
  std::atomic<bool> hold{false};
  ConnectionHandle held;
  ReactorConfig config = Config();
  config.buffers.last_bgid = 3;  // two connection rings
  config.ring_idle_ms = 50;
  config.shutdown_timeout_ms = 100;  // the fillers stay paused
  auto reactor = std::make_unique<Reactor>(config, [&] {
    return std::make_unique<HoldingHandler>(&hold, &held);
  });
  ASSERT_TRUE(reactor->Start().ok());
  TestClient idle(reactor->port());
  ASSERT_TRUE(WaitFor([&] { return reactor->Snapshot().totals.idle_detaches == 1; }));
  // The fillers hold their bytes, so their rings never go idle.
  hold = true;
  std::vector<TestClient> fillers;
  for (int i = 0; i < 2; ++i) {
    fillers.emplace_back(reactor->port());
    fillers.back().Send("f");
  }
  ASSERT_TRUE(WaitFor([&] {
    int holding = 0;
    for (const ConnectionStats& c : reactor->Snapshot().connections) {
      holding += c.input_bytes_held > 0;
    }
    return holding == 2;
  }));
  ASSERT_EQ(reactor->Snapshot().totals.buffers.bgids_free, 0u);
  hold = false;
  idle.Send("late request");
  EXPECT_EQ(idle.ReadExactly(12), "late request");
  const ReactorSnapshot snap = reactor->Snapshot();
  EXPECT_EQ(snap.totals.shared_ring_fallbacks, 1u);
  EXPECT_EQ(snap.totals.buffers.bgid_refusals, 1u);
  idle.Send("and the next");
  EXPECT_EQ(idle.ReadExactly(12), "and the next");
}

TEST_P(ReactorTest, HeldBuffersStallOnlyThatConnectionAndResumeLosingNothing) {
  std::atomic<bool> hold{true};
  ConnectionHandle held;  // written on the reactor thread; read after a Snapshot syncs
  ReactorConfig config = Config();
  config.buffers.shared_entries = 4;
  auto reactor = std::make_unique<Reactor>(config, [&] {
    return std::make_unique<HoldingHandler>(&hold, &held);
  });
  ASSERT_TRUE(reactor->Start().ok());
  TestClient stalled(reactor->port());
  const std::string data = Pattern(64 * 1024, 3);  // more than the ring's 4 x 4 KiB
  std::thread writer([&] { stalled.Send(data); });
  ASSERT_TRUE(WaitFor([&] { return reactor->Snapshot().totals.enobufs_stalls > 0; }));
  hold = false;
  reactor->PostToConnection(held, [](ConnectionIo& io) { io.ResumeInput(); });
  const std::string echoed = stalled.ReadExactly(data.size());
  writer.join();
  EXPECT_TRUE(echoed == data) << echoed.size() << " of " << data.size() << " bytes";
  TestClient other(reactor->port());
  other.Send("still fine");
  EXPECT_EQ(other.ReadExactly(10), "still fine");
}

long RssKib() {
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr || std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
  if (f != nullptr) std::fclose(f);
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

// A handler that paused its input while a client keeps sending: the reactor stops
// receiving at the input high-water mark instead of buffering the flood (it took 512 MiB
// in 2 s before), and what it holds is bounded; resuming delivers every byte in order.
// Floods a connection whose input is paused until the server stops reading; checks that
// what it holds, copied and grew by stays under `config`'s marks (copies under
// `max_copied`); then resumes it with `resume` and checks that every byte is echoed in
// order.
void ExpectPausedFloodBounded(Reactor& reactor, TestClient& client, const ReactorConfig& config,
                              bool incremental, size_t max_copied, uint32_t seed,
                              const std::function<void()>& resume) {
  const std::string flood = Pattern(64 << 20, seed);
  const long rss_before = RssKib();
  const size_t written = WriteUntilStalled(client.fd(), flood, std::chrono::milliseconds(500));
  const long rss_growth_kib = RssKib() - rss_before;
  const ReactorSnapshot snap = reactor.Snapshot(/*with_buffers=*/false);
  ASSERT_EQ(snap.connections.size(), 1u);
  const ConnectionStats& c = snap.connections[0];
  const size_t ring_bytes = incremental
                                ? config.buffers.connection_entries * config.buffers.buffer_size
                                : config.buffers.shared_entries * config.buffers.buffer_size;
  EXPECT_LT(written, flood.size()) << "the server never stopped reading";
  EXPECT_LE(c.input_bytes_held, config.input_high_water + ring_bytes);
  EXPECT_LE(snap.totals.input_bytes_copied, max_copied);
  std::printf("paused flood: %zu bytes written, %llu held, %llu copied\n", written,
              static_cast<unsigned long long>(c.input_bytes_held),
              static_cast<unsigned long long>(snap.totals.input_bytes_copied));
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  // Sanitizers' shadow memory and allocators make this process's RSS say nothing here.
  EXPECT_LE(rss_growth_kib, static_cast<long>((config.input_high_water + ring_bytes) / 1024) + 1024)
      << "received " << c.recv_bytes << " bytes while paused";
#else
  (void)rss_growth_kib;
#endif
  // Resumed, the connection gets every byte, in order.
  resume();
  std::string echoed;
  std::thread reader([&] { echoed = client.ReadExactly(flood.size(), std::chrono::seconds(30)); });
  client.Send(std::string_view(flood).substr(written));
  reader.join();
  EXPECT_TRUE(echoed == flood) << echoed.size() << " of " << flood.size() << " bytes";
}

TEST_P(ReactorTest, PausedInputFloodIsBoundedByTheHighWaterMark) {
  std::atomic<bool> hold{true};
  ConnectionHandle held;
  ReactorConfig config = Config();
  config.input_high_water = 64 << 10;
  auto reactor = std::make_unique<Reactor>(config, [&] {
    return std::make_unique<HoldingHandler>(&hold, &held);
  });
  ASSERT_TRUE(reactor->Start().ok());
  TestClient client(reactor->port());
  // A paused connection keeps receiving into its own ring only while the bytes stay in the
  // buffer they arrived in: at the first straddle it copies and stops, so what it copies is
  // the pending bytes and the receives that complete before the cancel, about a ring's
  // worth, rather than everything up to the high-water mark (77,824 bytes here when the
  // receive stayed armed regardless).
  const size_t max_copied =
      GetParam().incremental
          ? (config.buffers.connection_entries + 2) * config.buffers.buffer_size
          : config.input_high_water + config.buffers.shared_entries * config.buffers.buffer_size;
  ExpectPausedFloodBounded(*reactor, client, config, GetParam().incremental, max_copied, 9, [&] {
    hold = false;
    reactor->PostToConnection(held, [](ConnectionIo& io) { io.ResumeInput(); });
  });
}

// Takes its first input whole (as a worker hand-off lends it) and pauses holding nothing;
// resumed, it echoes.
class EmptyPauseHandler final : public ConnectionHandler {
 public:
  EmptyPauseHandler(std::atomic<bool>* paused, ConnectionHandle* handle)
      : paused_(paused), handle_(handle) {}
  void OnInput(ConnectionIo& io) override {
    if (!took_first_) {
      took_first_ = true;
      io.input().Consume(io.input().size());
      *handle_ = io.handle();
      io.PauseInput();
      paused_->store(true);
      return;
    }
    EchoHandler().OnInput(io);
  }

 private:
  std::atomic<bool>* paused_;
  ConnectionHandle* handle_;
  bool took_first_ = false;
};

// A connection paused while it holds no byte may keep its receive armed (so a worker's
// hand-off costs no cancel and re-arm); a flood that arrives then must still stop it, in
// both modes, at the marks a paused connection holding bytes stops at. (Shared mode: the
// multishot receive's burst before the cancel, 128,000 bytes with 4 KiB buffers and a
// 64 KiB mark; incremental: about one buffer.)
TEST_P(ReactorTest, FloodWhilePausedHoldingNothingIsBounded) {
  std::atomic<bool> paused{false};
  ConnectionHandle handle;
  ReactorConfig config = Config();
  config.input_high_water = 64 << 10;
  auto reactor = std::make_unique<Reactor>(config, [&] {
    return std::make_unique<EmptyPauseHandler>(&paused, &handle);
  });
  ASSERT_TRUE(reactor->Start().ok());
  TestClient client(reactor->port());
  client.Send("first");
  ASSERT_TRUE(WaitFor([&] { return paused.load(); }, std::chrono::seconds(5)));
  const size_t ring_bytes = GetParam().incremental
                                ? config.buffers.connection_entries * config.buffers.buffer_size
                                : config.buffers.shared_entries * config.buffers.buffer_size;
  ExpectPausedFloodBounded(*reactor, client, config, GetParam().incremental,
                           config.input_high_water + ring_bytes, 10, [&] {
    reactor->PostToConnection(handle, [](ConnectionIo& io) { io.ResumeInput(); });
  });
}

// Answers each input with a copy of `reply`, formatted into the reactor's output blocks.
class CopyingHandler final : public ConnectionHandler {
 public:
  explicit CopyingHandler(const std::string* reply) : reply_(reply) {}
  void OnInput(ConnectionIo& io) override {
    io.input().Consume(io.input().size());
    EXPECT_TRUE(io.output().Append(*reply_));
  }

 private:
  const std::string* reply_;
};

// The output pool keeps the blocks a load used (the next wave reuses them instead of the
// heap's) and gives back those no wave needed for a second, down to the 16 it always keeps.
TEST_P(ReactorTest, OutputBlocksALoadLeftCachedGoBackAfterAQuietSecond) {
  const std::string reply = Pattern(1 << 20, 7);  // 64 blocks of 16 KiB
  auto reactor = std::make_unique<Reactor>(
      Config(), [&] { return std::make_unique<CopyingHandler>(&reply); });
  ASSERT_TRUE(reactor->Start().ok());
  std::vector<TestClient> clients;
  for (int i = 0; i < 4; ++i) clients.emplace_back(reactor->port());
  // Each reply takes 64 blocks before its send is submitted.
  for (TestClient& client : clients) client.Send("go");
  for (TestClient& client : clients) ASSERT_EQ(client.ReadExactly(reply.size()), reply);
  ASSERT_TRUE(WaitFor([&] { return reactor->Snapshot().totals.output_blocks_in_use == 0; }));
  EXPECT_GT(reactor->Snapshot().totals.output_blocks_cached, 16u) << "kept for the next wave";
  uint64_t cached = 0;
  EXPECT_TRUE(WaitFor(
      [&] {
        cached = reactor->Snapshot().totals.output_blocks_cached;
        return cached <= 16;
      },
      std::chrono::seconds(5)))
      << cached << " blocks still cached";
}

TEST_P(ReactorTest, SeveralReactorsShareOnePort) {
  ReactorConfig config = Config();
  std::vector<std::unique_ptr<Reactor>> group;
  for (uint32_t i = 0; i < 3; ++i) {
    config.id = i;
    group.push_back(StartEcho(config));
    config.port = group.front()->port();
  }
  std::vector<TestClient> clients;
  for (int i = 0; i < 60; ++i) clients.emplace_back(config.port);
  for (int i = 0; i < 60; ++i) clients[i].Send("r" + std::to_string(i));
  for (int i = 0; i < 60; ++i) {
    const std::string want = "r" + std::to_string(i);
    ASSERT_EQ(clients[i].ReadExactly(want.size()), want);
  }
  uint64_t served = 0;
  int busy_reactors = 0;
  for (auto& r : group) {
    const uint64_t n = r->Snapshot().totals.connections;
    served += n;
    busy_reactors += n > 0;
  }
  EXPECT_EQ(served, 60u);
  EXPECT_GE(busy_reactors, 2) << "SO_REUSEPORT should spread connections";
}

// Arms its timer for 1 ms at its first input; each timeout re-arms it until `rounds` have
// fired, then answers "done".
class TimerChainHandler final : public ConnectionHandler {
 public:
  explicit TimerChainHandler(int rounds) : left_(rounds) {}
  void OnInput(ConnectionIo& io) override {
    io.input().Consume(io.input().size());
    io.ArmTimer(1);
  }
  void OnTimeout(ConnectionIo& io) override {
    if (--left_ > 0) return io.ArmTimer(1);
    io.output().AppendStatic("done");
  }

 private:
  int left_;
};

// The timers' work follows the deadlines that come due, not the open connections: 200
// handler timeouts in a row with 1,000 other connections open cost about 200 timer fires
// (the sweep this replaced looked at every slot at each of them: 200 x 1,001).
TEST_P(ReactorTest, TimerWorkFollowsDueTimersNotOpenConnections) {
  ReactorConfig config = Config();
  config.ring_idle_ms = 60000;
  auto reactor = std::make_unique<Reactor>(
      config, [] { return std::make_unique<TimerChainHandler>(200); });
  ASSERT_TRUE(reactor->Start().ok());
  std::vector<TestClient> quiet;
  for (int i = 0; i < 1000; ++i) quiet.emplace_back(reactor->port());
  ASSERT_TRUE(WaitFor([&] { return reactor->Snapshot().totals.connections == 1000; }));
  const ReactorTotals before = reactor->Snapshot().totals;
  TestClient active(reactor->port());
  active.Send("go");
  EXPECT_EQ(active.ReadExactly(4), "done");
  const ReactorTotals after = reactor->Snapshot().totals;
  EXPECT_EQ(after.handler_timeouts - before.handler_timeouts, 200u);
  EXPECT_GE(after.timer_fires - before.timer_fires, 200u);
  EXPECT_LE(after.timer_fires - before.timer_fires, 210u)
      << "timer work grew with the open connections";
}

// Records each connection's handle at its first input, then echoes.
class HandleRecorder final : public ConnectionHandler {
 public:
  HandleRecorder(std::mutex* mu, std::vector<ConnectionHandle>* handles)
      : mu_(mu), handles_(handles) {}
  void OnInput(ConnectionIo& io) override {
    if (!recorded_) {
      std::lock_guard<std::mutex> lock(*mu_);
      handles_->push_back(io.handle());
      recorded_ = true;
    }
    EchoHandler().OnInput(io);
  }

 private:
  std::mutex* mu_;
  std::vector<ConnectionHandle>* handles_;
  bool recorded_ = false;
};

bool RaiseOpenFileLimit(rlim_t want) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return false;
  if (limit.rlim_cur >= want) return true;
  if (limit.rlim_max < want) return false;
  limit.rlim_cur = want;
  return setrlimit(RLIMIT_NOFILE, &limit) == 0;
}

// A peak of 5,000 connections: once they closed, the slot table is back to its 64 kept
// entries and Connections; while the one at its top stays open, the table keeps its
// entries (8 bytes each) but not the Connections. Asserted through the reactor's own
// figures, so it holds under sanitizers. Shared mode only: the table is the same in both,
// and 5,000 per-connection rings would only load the kernel.
TEST_P(ReactorTest, SlotTableGivesMemoryBackAfterAPeak) {
  if (GetParam().incremental) GTEST_SKIP() << "the slot table does not depend on the mode";
  if (!RaiseOpenFileLimit(12000)) GTEST_SKIP() << "needs 12,000 open files";
  constexpr uint64_t kPeak = 5000;
  constexpr uint64_t kKept = 64;
  auto reactor = StartEcho(Config());
  std::vector<TestClient> clients;
  for (uint64_t i = 0; i < kPeak; ++i) {
    clients.emplace_back(reactor->port());
    clients.back().Send("p");
    if (clients.size() % 500 == 0) {
      for (size_t j = clients.size() - 500; j < clients.size(); ++j) {
        ASSERT_EQ(clients[j].ReadExactly(1), "p");
      }
    }
  }
  ReactorTotals peak = reactor->Snapshot().totals;
  EXPECT_EQ(peak.connections, kPeak);
  EXPECT_GE(peak.connection_slots, kPeak);
  EXPECT_GE(peak.connection_objects, kPeak);
  // The last one accepted sits at the top of the table.
  std::optional<TestClient> top(std::move(clients.back()));
  clients.clear();
  ASSERT_TRUE(WaitFor([&] {
    const ReactorTotals t = reactor->Snapshot().totals;
    return t.connections == 1 && t.connection_objects <= kKept + 1;
  })) << reactor->Snapshot().totals.connection_objects << " Connections kept";
  EXPECT_GE(reactor->Snapshot().totals.connection_slots, kPeak);
  top->Send("still served");
  EXPECT_EQ(top->ReadExactly(12), "still served");
  top.reset();
  TestClient low(reactor->port());  // a low slot
  low.Send("t");
  EXPECT_EQ(low.ReadExactly(1), "t");
  ASSERT_TRUE(WaitFor([&] {
    const ReactorTotals t = reactor->Snapshot().totals;
    return t.connections == 1 && t.connection_slots <= kKept && t.connection_objects <= kKept;
  })) << reactor->Snapshot().totals.connection_slots << " slots left";
  // And it grows again as needed.
  for (int i = 0; i < 200; ++i) clients.emplace_back(reactor->port());
  for (TestClient& c : clients) c.Send("g");
  for (TestClient& c : clients) ASSERT_EQ(c.ReadExactly(1), "g");
  EXPECT_EQ(reactor->Snapshot().totals.connections, 201u);
}

// Slots are reused, and their Connections freed and made again, but a handle of a closed
// connection never reaches the next connection in its slot: generations come from one
// counter per reactor.
TEST_P(ReactorTest, AHandleOfAClosedConnectionNeverReachesALaterOneInItsSlot) {
  std::mutex mu;
  std::vector<ConnectionHandle> handles;
  auto reactor = std::make_unique<Reactor>(
      Config(), [&] { return std::make_unique<HandleRecorder>(&mu, &handles); });
  ASSERT_TRUE(reactor->Start().ok());
  auto round = [&](int n) {
    std::vector<TestClient> clients;
    for (int i = 0; i < n; ++i) {
      clients.emplace_back(reactor->port());
      clients.back().Send("r");
      EXPECT_EQ(clients.back().ReadExactly(1), "r");
    }
    return clients;
  };
  round(300);  // more than the 64 kept: most Connections are freed
  ASSERT_TRUE(WaitFor([&] { return reactor->Snapshot().totals.connections == 0; }));
  std::vector<ConnectionHandle> closed;
  {
    std::lock_guard<std::mutex> lock(mu);
    closed.swap(handles);
  }
  std::vector<TestClient> open = round(300);
  std::vector<ConnectionHandle> live;
  {
    std::lock_guard<std::mutex> lock(mu);
    live = handles;
  }
  std::set<uint32_t> closed_slots;
  for (const ConnectionHandle& h : closed) closed_slots.insert(h.slot);
  int reused = 0;
  for (const ConnectionHandle& h : live) reused += closed_slots.count(h.slot);
  EXPECT_GE(reused, 250) << "the second round should reuse the first round's slots";
  std::atomic<int> reached_closed{0}, reached_live{0};
  for (const ConnectionHandle& h : closed) {
    reactor->PostToConnection(h, [&](ConnectionIo&) { reached_closed.fetch_add(1); });
  }
  for (const ConnectionHandle& h : live) {
    reactor->PostToConnection(h, [&](ConnectionIo&) { reached_live.fetch_add(1); });
  }
  reactor->Snapshot();  // runs after the tasks posted before it
  EXPECT_EQ(reached_closed.load(), 0);
  EXPECT_EQ(reached_live.load(), 300);
}

// Pauses its input and arms a 10 ms timer at its first input; a timeout answers "timeout".
class PausedTimerHandler final : public ConnectionHandler {
 public:
  PausedTimerHandler(std::mutex* mu, ConnectionHandle* handle) : mu_(mu), handle_(handle) {}
  void OnInput(ConnectionIo& io) override {
    io.input().Consume(io.input().size());
    io.ArmTimer(10);
    io.PauseInput();
    std::lock_guard<std::mutex> lock(*mu_);
    *handle_ = io.handle();
  }
  void OnTimeout(ConnectionIo& io) override { io.output().AppendStatic("timeout"); }

 private:
  std::mutex* mu_;
  ConnectionHandle* handle_;
};

// A handler timer does not fire while the handler paused its input (its work is in flight
// elsewhere), and fires once input resumes.
TEST_P(ReactorTest, HandlerTimerWaitsWhileInputIsPausedThenFires) {
  std::mutex mu;
  ConnectionHandle handle;
  auto reactor = std::make_unique<Reactor>(
      Config(), [&] { return std::make_unique<PausedTimerHandler>(&mu, &handle); });
  ASSERT_TRUE(reactor->Start().ok());
  TestClient client(reactor->port());
  client.Send("x");
  EXPECT_EQ(client.ReadExactly(7, std::chrono::milliseconds(300)), "");
  EXPECT_EQ(reactor->Snapshot().totals.handler_timeouts, 0u);
  ConnectionHandle paused;
  {
    std::lock_guard<std::mutex> lock(mu);
    paused = handle;
  }
  reactor->PostToConnection(paused, [](ConnectionIo& io) { io.ResumeInput(); });
  EXPECT_EQ(client.ReadExactly(7, std::chrono::seconds(2)), "timeout");
  EXPECT_EQ(reactor->Snapshot().totals.handler_timeouts, 1u);
}

// Hands its first input to another thread, which answers through PostToConnection; at the
// end of the iteration it waits (with a deadline) until that answer is in the reactor's
// mailbox, as a worker sharing the reactor's core has answered by then. Records the loop
// iteration of the hand-off, of the end-of-iteration call and of the answer.
struct HandOff {
  std::thread answerer;
  std::atomic<bool> answered{false};
  std::atomic<uint64_t> handed_at{0}, iteration_end_at{0}, answered_at{0};
};

uint64_t LoopIteration(Reactor* reactor) {
  uint64_t iteration = 0;
  // On the reactor thread: runs at once.
  reactor->CollectTotals([&](const ReactorTotals& t) { iteration = t.loop_iterations; });
  return iteration;
}

class HandOffHandler final : public ConnectionHandler {
 public:
  explicit HandOffHandler(HandOff* hand_off) : hand_off_(hand_off) {}
  void OnInput(ConnectionIo& io) override {
    io.input().Consume(io.input().size());
    io.PauseInput();
    HandOff* h = hand_off_;
    h->handed_at = LoopIteration(io.handle().reactor);
    h->answerer = std::thread([h, handle = io.handle()] {
      handle.reactor->PostToConnection(handle, [h](ConnectionIo& c) {
        h->answered_at = LoopIteration(c.handle().reactor);
        c.output().AppendStatic("answer");
        c.ResumeInput();
      });
      h->answered = true;
    });
    Reactor::AtIterationEnd([h, reactor = io.handle().reactor] {
      h->iteration_end_at = LoopIteration(reactor);
      WaitFor([h] { return h->answered.load(); }, std::chrono::seconds(5));
    });
  }

 private:
  HandOff* hand_off_;
};

// An answer that is back by the end of the iteration that handed its work off goes out in
// that iteration, not one wake-up later.
TEST_P(ReactorTest, AnswersBackByTheIterationsEndGoOutInThatIteration) {
  HandOff hand_off;
  auto reactor = std::make_unique<Reactor>(
      Config(), [&] { return std::make_unique<HandOffHandler>(&hand_off); });
  ASSERT_TRUE(reactor->Start().ok());
  TestClient client(reactor->port());
  client.Send("x");
  EXPECT_EQ(client.ReadExactly(6, std::chrono::seconds(5)), "answer");
  hand_off.answerer.join();
  EXPECT_NE(hand_off.handed_at.load(), 0u);
  EXPECT_EQ(hand_off.iteration_end_at.load(), hand_off.handed_at.load());
  EXPECT_EQ(hand_off.answered_at.load(), hand_off.handed_at.load());
}

// At its first input, defers a call that defers 64 more, each recording its iteration.
class DeferringHandler final : public ConnectionHandler {
 public:
  explicit DeferringHandler(std::vector<uint64_t>* iterations) : iterations_(iterations) {}
  void OnInput(ConnectionIo& io) override {
    io.input().Consume(io.input().size());
    Reactor* reactor = io.handle().reactor;
    std::vector<uint64_t>* iterations = iterations_;
    iterations->push_back(LoopIteration(reactor));
    Reactor::AtIterationEnd([reactor, iterations] {
      for (int i = 0; i < 64; ++i) {
        Reactor::AtIterationEnd([reactor, iterations] {
          iterations->push_back(LoopIteration(reactor));
        });
      }
    });
    io.output().AppendStatic("done");
  }

 private:
  std::vector<uint64_t>* iterations_;
};

// What a call deferred to the iteration's end defers runs in the same iteration (the list
// grows under the call that appends to it).
TEST_P(ReactorTest, DeferredCallsMayDeferMoreToTheSameIterationsEnd) {
  std::vector<uint64_t> iterations;  // written on the reactor thread only
  auto reactor = std::make_unique<Reactor>(
      Config(), [&] { return std::make_unique<DeferringHandler>(&iterations); });
  ASSERT_TRUE(reactor->Start().ok());
  TestClient client(reactor->port());
  client.Send("x");
  EXPECT_EQ(client.ReadExactly(4, std::chrono::seconds(5)), "done");
  reactor->Stop();
  reactor->Join();
  ASSERT_EQ(iterations.size(), 65u);
  for (uint64_t iteration : iterations) EXPECT_EQ(iteration, iterations[0]);
}

TEST(ReactorAtIterationEnd, OutsideAReactorThreadRunsAtOnce) {
  bool ran = false;
  Reactor::AtIterationEnd([&] { ran = true; });
  EXPECT_TRUE(ran);
}

INSTANTIATE_TEST_SUITE_P(Modes, ReactorTest,
                         ::testing::Values(Mode{"incremental", true}, Mode{"shared", false}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace ringside
