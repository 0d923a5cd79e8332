// admin_watch_bench: what a live WatchConnections costs the data path.
//
// Keeps `--connections` keep-alive connections to a running ringside HTTP server, each with
// `--depth` pipelined GET /pipeline requests in flight, and measures responses per second
// in alternating phases: without a watch, then with one WatchConnections at `--watch_hz`
// over every connection. Prints each phase and the ratio with/without (DESIGN asks >= 98%
// at 10 Hz over 1,000 connections).
//
//   ./bazelw run -c opt //:server -- --reactors=1 --port=8080 --admin_address=127.0.0.1:9900 &
//   ./bazelw run -c opt //tools:admin_watch_bench -- --http=127.0.0.1:8080
//       --admin=127.0.0.1:9900 --connections=1000 --seconds=5 --rounds=3   (one line)
//
// The load generator shares the machine with the server: give it cores of its own
// (taskset) when measuring for real.
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "services/admin/admin.grpc.pb.h"

ABSL_FLAG(std::string, http, "127.0.0.1:8080", "the server's HTTP listener, IPv4 HOST:PORT");
ABSL_FLAG(std::string, admin, "127.0.0.1:9900", "the server's admin service, HOST:PORT");
ABSL_FLAG(std::string, token, "", "the server's --admin_token, if any");
ABSL_FLAG(int, connections, 1000, "keep-alive connections");
ABSL_FLAG(int, depth, 16, "pipelined requests in flight per connection");
ABSL_FLAG(int, client_threads, 1, "load-generator threads");
ABSL_FLAG(double, seconds, 2, "length of each measured phase");
ABSL_FLAG(int, rounds, 2, "pairs of phases (without, with the watch)");
ABSL_FLAG(int, watch_hz, 10, "watch snapshots per second");

namespace ringside {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kRequest[] = "GET /pipeline HTTP/1.1\r\nHost: b\r\n\r\n";
// Every /pipeline response ends with its blank line and the body "ok".
constexpr char kResponseEnd[] = "\r\n\r\nok";
constexpr size_t kResponseEndBytes = sizeof(kResponseEnd) - 1;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "admin_watch_bench: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

sockaddr_in ParseAddress(const std::string& host_port) {
  const size_t colon = host_port.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(host_port.substr(colon + 1))));
  if (colon == std::string::npos ||
      inet_pton(AF_INET, host_port.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
    std::fprintf(stderr, "admin_watch_bench: --http wants IPv4 HOST:PORT, got %s\n",
                 host_port.c_str());
    std::exit(2);
  }
  return addr;
}

// One thread's connections, each refilled to `depth` requests in flight as answers arrive.
class LoadGenerator {
 public:
  LoadGenerator(const sockaddr_in& target, int connections, int depth)
      : depth_(depth), epoll_(epoll_create1(EPOLL_CLOEXEC)), tails_(connections) {
    for (int i = 0; i < connections; ++i) {
      const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0 || connect(fd, reinterpret_cast<const sockaddr*>(&target), sizeof(target)) != 0) {
        Die("connect to --http");
      }
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      fds_.push_back(fd);
      epoll_event event{EPOLLIN, {.u32 = static_cast<uint32_t>(i)}};
      epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event);
      Send(fd, depth_);
    }
  }
  ~LoadGenerator() {
    for (int fd : fds_) close(fd);
    close(epoll_);
  }

  void Run(const std::atomic<bool>& stop) {
    epoll_event events[256];
    char buffer[65536];
    while (!stop.load(std::memory_order_relaxed)) {
      const int n = epoll_wait(epoll_, events, 256, 100);
      for (int e = 0; e < n; ++e) {
        const uint32_t index = events[e].data.u32;
        const ssize_t got = recv(fds_[index], buffer, sizeof(buffer), MSG_DONTWAIT);
        if (got == 0) Die("the server closed a connection");
        if (got < 0) continue;
        // Count response ends, also across reads: keep the last few bytes of each read.
        std::string& tail = tails_[index];
        tail.append(buffer, static_cast<size_t>(got));
        int answered = 0;
        for (size_t at = tail.find(kResponseEnd); at != std::string::npos;
             at = tail.find(kResponseEnd, at + kResponseEndBytes)) {
          ++answered;
        }
        // Fewer bytes than a whole end cannot be counted twice.
        constexpr size_t kKeep = kResponseEndBytes - 1;
        if (tail.size() > kKeep) tail.erase(0, tail.size() - kKeep);
        if (answered > 0) {
          responses_.fetch_add(static_cast<uint64_t>(answered), std::memory_order_relaxed);
          Send(fds_[index], answered);
        }
      }
    }
  }

  uint64_t responses() const { return responses_.load(std::memory_order_relaxed); }

 private:
  void Send(int fd, int requests) {
    std::string batch;
    for (int i = 0; i < requests; ++i) batch += kRequest;
    for (size_t sent = 0; sent < batch.size();) {
      const ssize_t n = send(fd, batch.data() + sent, batch.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) Die("send");
      sent += static_cast<size_t>(n);
    }
  }

  const int depth_;
  const int epoll_;
  std::vector<int> fds_;
  std::vector<std::string> tails_;
  std::atomic<uint64_t> responses_{0};
};

uint64_t TotalResponses(const std::vector<std::unique_ptr<LoadGenerator>>& generators) {
  uint64_t total = 0;
  for (const auto& g : generators) total += g->responses();
  return total;
}

// Responses per second over one phase.
double Measure(const std::vector<std::unique_ptr<LoadGenerator>>& generators, double seconds) {
  const uint64_t before = TotalResponses(generators);
  const Clock::time_point start = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  return static_cast<double>(TotalResponses(generators) - before) / elapsed;
}

int Main() {
  const int connections = absl::GetFlag(FLAGS_connections);
  const int threads = std::max(1, absl::GetFlag(FLAGS_client_threads));
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);

  const sockaddr_in target = ParseAddress(absl::GetFlag(FLAGS_http));
  std::vector<std::unique_ptr<LoadGenerator>> generators;
  for (int t = 0; t < threads; ++t) {
    generators.push_back(std::make_unique<LoadGenerator>(
        target, connections / threads + (t < connections % threads), absl::GetFlag(FLAGS_depth)));
  }
  std::atomic<bool> stop{false};
  std::vector<std::thread> load;
  for (auto& g : generators) load.emplace_back([&g, &stop] { g->Run(stop); });

  auto stub = admin::v1::RingAdmin::NewStub(
      grpc::CreateChannel(absl::GetFlag(FLAGS_admin), grpc::InsecureChannelCredentials()));
  const double seconds = absl::GetFlag(FLAGS_seconds);
  std::printf("%d connections, depth %d, %d client thread(s), %.1f s phases, watch at %d Hz\n",
              connections, absl::GetFlag(FLAGS_depth), threads, seconds,
              absl::GetFlag(FLAGS_watch_hz));
  Measure(generators, 0.5);  // warm-up

  double without_sum = 0;
  double with_sum = 0;
  for (int round = 0; round < absl::GetFlag(FLAGS_rounds); ++round) {
    const double without = Measure(generators, seconds);

    grpc::ClientContext context;
    if (const std::string token = absl::GetFlag(FLAGS_token); !token.empty()) {
      context.AddMetadata("authorization", "Bearer " + token);
    }
    admin::v1::WatchConnectionsRequest request;
    request.set_interval_ms(static_cast<uint32_t>(1000 / absl::GetFlag(FLAGS_watch_hz)));
    auto reader = stub->WatchConnections(&context, request);
    std::atomic<uint64_t> snapshots{0};
    std::atomic<uint64_t> last_size{0};
    std::thread watcher([&] {
      admin::v1::ConnectionsSnapshot snapshot;
      while (reader->Read(&snapshot)) {
        last_size = static_cast<uint64_t>(snapshot.connections_size());
        ++snapshots;
      }
    });
    const double with = Measure(generators, seconds);
    context.TryCancel();
    watcher.join();
    const grpc::Status status = reader->Finish();
    if (snapshots == 0) {
      std::fprintf(stderr, "admin_watch_bench: the watch delivered nothing: %s\n",
                   status.error_message().c_str());
      return 1;
    }
    std::printf("round %d: without watch %.0f req/s, with watch %.0f req/s (%.2f%%; %lu "
                "snapshots of %lu connections)\n",
                round + 1, without, with, 100 * with / without,
                static_cast<unsigned long>(snapshots.load()),
                static_cast<unsigned long>(last_size.load()));
    without_sum += without;
    with_sum += with;
  }
  stop = true;
  for (std::thread& t : load) t.join();
  std::printf("ratio with/without watch: %.2f%%\n", 100 * with_sum / without_sum);
  return 0;
}

}  // namespace
}  // namespace ringside

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "admin_watch_bench --http=HOST:PORT --admin=HOST:PORT: pipelined throughput of a running "
      "ringside server with and without a WatchConnections");
  absl::ParseCommandLine(argc, argv);
  return ringside::Main();
}
