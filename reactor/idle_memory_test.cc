// The memory of idle incremental connections after a burst (DESIGN.md, "Memory per
// connection"). Each connection opens, sends, reads its answer and stays, the next one
// right behind it, as a fast client does: each got a buffer ring for its first bytes while
// the next ones were accepted, and the rings were freed when idle. The freed ring objects
// must not stay resident as holes among the connections' objects: once the heap is trimmed
// (as the server's HeapTrimmer does), each connection of the burst adds at most
// kBytesPerConnection to the process's resident bytes. A binary of its own: it measures its
// process's RSS.
#include <malloc.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "ringside/reactor/connection_handler.h"
#include "ringside/reactor/object_slab.h"
#include "ringside/reactor/reactor.h"
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

int Connect(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

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
  // 782 bytes a connection with Connections in the reactor's malloc arena; 491-544 in a
  // slab (also with four of these tests at once).
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

  std::vector<int> fds;
  // Opens n connections one after the other, each sending a byte and reading the answer
  // before the next one opens; waits for their rings to be detached and trims the heap.
  // Returns the process's resident bytes then.
  auto burst = [&](int n) -> int64_t {
    for (int i = 0; i < n; ++i) {
      const int fd = Connect(reactor.port());
      EXPECT_GE(fd, 0) << "connection " << i;
      if (fd < 0) return -1;
      fds.push_back(fd);
      char byte = 'x';
      if (write(fd, &byte, 1) != 1 || read(fd, &byte, 1) != 1) return -1;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (LiveRings(reactor) > 0) {
      if (std::chrono::steady_clock::now() > deadline) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    malloc_trim(0);
    return ResidentBytes();
  };
  // A few connections first bring what a reactor holds once (its pool of rings, the heap's
  // own structures) to its working size. Not a burst as large as the measured one: the
  // measured burst's rings would fill the holes its rings left, and hide them.
  const int64_t before = burst(64);
  ASSERT_GT(before, 0) << "a connection failed, or rings never detached";
  const int64_t after = burst(kConnections);
  ASSERT_GT(after, 0) << "a connection failed, or rings never detached";
  const int64_t per_connection = (after - before) / kConnections;
  RecordProperty("resident_bytes_per_connection", std::to_string(per_connection));
  EXPECT_LE(per_connection, kBytesPerConnection);
  for (int fd : fds) close(fd);
  reactor.Stop();
  reactor.Join();
}

}  // namespace
}  // namespace ringside
