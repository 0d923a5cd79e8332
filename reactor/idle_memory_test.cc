// The memory of idle incremental connections after a burst (DESIGN.md, invariant 8 of "The
// receive path"). Each connection opens, sends, reads its answer and stays, the next one
// right behind it, as a fast client does: each got a buffer ring for its first bytes while
// the next ones were accepted, and the rings were freed when idle. The freed ring objects
// must not stay resident as holes among the connections' objects: once the heap is trimmed
// (as the server's HeapTrimmer does), each connection of the burst adds at most
// kBytesPerConnection to the process's resident bytes. A binary of its own: it measures its
// process's RSS.
#include <malloc.h>
#include <sys/resource.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ringside/reactor/connection_handler.h"
#include "ringside/reactor/object_slab.h"
#include "ringside/reactor/reactor.h"
#include "ringside/reactor/test_client.h"
#include "ringside/tests/process_memory.h"

namespace ringside {
namespace {

// Answers each input with one byte. In a slab, as a handler that lives as long as its
// connection should be (object_slab.h), so that what is measured is the reactor's memory.
class AckHandler final : public ConnectionHandler, public SlabAllocated<AckHandler> {
 public:
  void OnInput(ConnectionIo& io) override {
    io.input().Consume(io.input().size());
    io.output().AppendStatic("k");
  }
};

// The reactor's totals only: a full snapshot would allocate a list of the connections on
// the reactor thread, among what is measured.
uint64_t LiveRings(Reactor& reactor) {
  std::promise<uint64_t> live;
  reactor.CollectTotals([&](const ReactorTotals& t) { live.set_value(t.buffers.rings_live); });
  return live.get_future().get();
}

TEST(IdleMemoryTest, RingsFreedAfterABurstDoNotStayResidentAmongConnections) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "the sanitizers' allocators and shadow memory make RSS say nothing here";
#endif
  // Every ring locks a 4 KiB page against RLIMIT_MEMLOCK, which this user's processes share
  // (8 MiB here): 1,000 rings at once take 4 MiB of it for about a second, twice.
  constexpr int kConnections = 1000;
  // With the Connection in the reactor's malloc arena: 782 bytes a connection (a 416-byte
  // Connection), 716 (360 bytes); in a slab: 442-544 (also with four of these at once).
  constexpr int64_t kBytesPerConnection = 640;
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = files.rlim_max;
  setrlimit(RLIMIT_NOFILE, &files);
  if (files.rlim_cur < 2 * kConnections + 100) GTEST_SKIP() << "too few file descriptors";

  ReactorConfig config;
  config.address = "127.0.0.1";
  config.buffers.incremental = true;
  config.buffers.pool_max_rings = 4;  // the pool's resident rings are not what is measured
  config.buffers.pool_resident_rings = 4;
  // Connections refused a ring of their own (RLIMIT_MEMLOCK taken by other processes of
  // this user) receive into the shared ring: a small one, so that its buffers' pages do not
  // count as theirs.
  config.buffers.shared_entries = 4;
  config.ring_idle_ms = 1000;  // every connection of the burst holds its ring at once
  config.idle_timeout_ms = 0;
  Reactor reactor(config, [] { return std::make_unique<AckHandler>(); });
  ASSERT_TRUE(reactor.Start().ok());
  if (!reactor.incremental()) GTEST_SKIP() << "no incremental rings: " << reactor.fallback_reason();

  std::vector<testing::TestClient> clients;
  // Opens n connections one after the other, each sending a byte and reading the answer
  // before the next one opens; waits for their rings to be detached and trims the heap.
  // Returns the process's resident bytes then, or -1 if an answer or the detach never came.
  auto burst = [&](int n) -> int64_t {
    for (int i = 0; i < n; ++i) {
      testing::TestClient& client = clients.emplace_back(reactor.port());
      client.Send("x");
      if (client.ReadExactly(1) != "k") return -1;
    }
    if (!testing::WaitFor([&] { return LiveRings(reactor) == 0; }, std::chrono::seconds(30))) {
      return -1;
    }
    malloc_trim(0);
    return ResidentBytes();
  };
  // A few connections first bring what a reactor holds once (its pool of rings, the heap's
  // own structures) to its working size. Not a burst as large as the measured one: the
  // measured burst's rings would fill the holes its rings left, and hide them.
  const int64_t before = burst(64);
  ASSERT_GT(before, 0) << "an answer did not come, or rings never detached";
  const int64_t after = burst(kConnections);
  ASSERT_GT(after, 0) << "an answer did not come, or rings never detached";
  const int64_t per_connection = (after - before) / kConnections;
  RecordProperty("resident_bytes_per_connection", std::to_string(per_connection));
  EXPECT_LE(per_connection, kBytesPerConnection);
  clients.clear();
  reactor.Stop();
  reactor.Join();
}

}  // namespace
}  // namespace ringside
