// Out of file descriptors, the listener backs off instead of re-arming into the same
// failure; connections already open are unaffected, and accepting resumes once fds return.
// The test's clients and the reactor share this process's fd table, so lowering
// RLIMIT_NOFILE before the reactor starts makes its accepts fail with EMFILE.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ringside/reactor/reactor.h"
#include "ringside/reactor/test_client.h"
#include "ringside/services/echo/echo_handler.h"

namespace ringside {
namespace {

using testing::TestClient;
using testing::WaitFor;

int OpenFds() {
  int n = 0;
  DIR* dir = opendir("/proc/self/fd");
  while (dirent* entry = readdir(dir)) n += entry->d_name[0] != '.';
  closedir(dir);
  return n - 1;
}

double ProcessCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Connects `fd` to 127.0.0.1:port without waiting: the kernel completes the handshake into
// the listen backlog whether or not the server accepts.
void StartConnect(int fd, uint16_t port) {
  const sockaddr_in to = testing::LoopbackAddress(port);
  connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof(to));
}

TEST(AcceptBackoff, OutOfFdsTheListenerWaitsInsteadOfSpinningAndResumes) {
#if defined(__SANITIZE_ADDRESS__)
  // UBSan's vptr check (built in with ASan here) probes memory through a pipe(); in a
  // process out of descriptors the probe fails and it reports valid objects as invalid.
  // The server binary's out-of-descriptor behaviour is also covered by
  // services:server_limits_test.
  GTEST_SKIP() << "the sanitizer runtime needs descriptors this test takes away";
#endif
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  ReactorConfig config;
  config.address = "127.0.0.1";
  config.buffers.buffer_size = 4096;
  config.buffers.connection_entries = 4;
  Reactor reactor(config, [] { return std::make_unique<EchoHandler>(); });

  // Room for the reactor's listener, eventfd and io_uring, one served connection (both
  // ends), the clients below and the server ends of a few of them, not of all. The limit
  // is set before the reactor starts: io_uring reads RLIMIT_NOFILE when an accept is
  // prepared, so a multishot accept armed earlier keeps the limit of its time. Nothing
  // after this may need a new descriptor until the limit is restored.
  constexpr int kWaiting = 40;
  constexpr int kAcceptable = 6;
  rlimit low = saved;
  low.rlim_cur = static_cast<rlim_t>(OpenFds() + 3 + 2 + kWaiting + kAcceptable);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  ASSERT_TRUE(reactor.Start().ok());
  TestClient served(reactor.port());
  served.Send("before");
  EXPECT_EQ(served.ReadExactly(6), "before");

  // Every client socket first, so the server's accepts cannot take the descriptors the
  // clients need.
  std::vector<int> waiting;
  for (int i = 0; i < kWaiting; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    ASSERT_GE(fd, 0) << "client socket " << i;
    waiting.push_back(fd);
  }
  for (int fd : waiting) StartConnect(fd, reactor.port());
  ASSERT_TRUE(WaitFor([&] { return reactor.Snapshot().totals.accept_failures > 0; }))
      << "the reactor's accepts never ran out of descriptors";

  // A second of being out of descriptors: a spinning listener burns a core (the defect:
  // ~5M failed accepts a second); a backing-off one retries at most every 100 ms.
  const uint64_t failures_before = reactor.Snapshot().totals.accept_failures;
  const double cpu_before = ProcessCpuSeconds();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const double cpu_used = ProcessCpuSeconds() - cpu_before;
  const uint64_t failures = reactor.Snapshot().totals.accept_failures - failures_before;
  std::printf("out of descriptors for 1 s: %lu accept retries, %.3f s of CPU\n",
              static_cast<unsigned long>(failures), cpu_used);
  EXPECT_LE(failures, 30u) << "accept retried " << failures << " times in a second";
  EXPECT_LT(cpu_used, 0.25) << "the process used " << cpu_used << " s of CPU in 1 s";

  // The connection already open is served as before.
  served.Send("during");
  EXPECT_EQ(served.ReadExactly(6), "during");

  // Descriptors come back: every waiting connection is accepted and served.
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
  ASSERT_TRUE(WaitFor([&] {
    return reactor.Snapshot().totals.connections == waiting.size() + 1;
  })) << reactor.Snapshot().totals.connections << " of " << waiting.size() + 1 << " accepted";
  for (int fd : waiting) {
    const int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    ASSERT_EQ(send(fd, "x", 1, MSG_NOSIGNAL), 1);
    char c = 0;
    timeval tv{.tv_sec = 10, .tv_usec = 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ASSERT_EQ(recv(fd, &c, 1, 0), 1);
    EXPECT_EQ(c, 'x');
    close(fd);
  }
  reactor.Stop();
  reactor.Join();
}

}  // namespace
}  // namespace ringside
