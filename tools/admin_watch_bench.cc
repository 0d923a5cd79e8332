// admin_watch_bench: what live WatchConnections cost the data path.
//
// Keeps `--connections` keep-alive connections to a running ringside HTTP server, each with
// `--depth` pipelined GET /pipeline requests in flight, and measures responses per second
// in alternating phases: without watches, then with `--watches` WatchConnections (default:
// the server's maximum, AdminStats.max_watches) every `--interval_ms` (default the
// shortest, 100) over every connection, each on a connection of its own. Prints each phase,
// the ratio with/without (issue 14 asks >= 95% with the maximum of watches at the shortest
// interval over 5,000 connections), whether one more watch is refused, and the run's
// conditions (cores, load average before and after).
//
//   ./bazelw run -c opt //:server -- --reactors=1 --port=8080 --admin_address=127.0.0.1:9900 &
//   ./bazelw run -c opt //tools:admin_watch_bench -- --http=127.0.0.1:8080
//       --admin=127.0.0.1:9900 --connections=5000 --seconds=5 --rounds=3   (one line)
//
// The watches read raw bytes (they do not parse the snapshots), so that the client's cost
// stays small beside the server's. The load generator shares the machine with the server:
// give it cores of its own (taskset) when measuring for real.
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
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "ringside/services/admin/admin.grpc.pb.h"

ABSL_FLAG(std::string, http, "127.0.0.1:8080", "the server's HTTP listener, IPv4 HOST:PORT");
ABSL_FLAG(std::string, admin, "127.0.0.1:9900", "the server's admin service, HOST:PORT");
ABSL_FLAG(std::string, token, "", "the server's --admin_token, if any");
ABSL_FLAG(int, connections, 5000, "keep-alive connections");
ABSL_FLAG(int, depth, 16, "pipelined requests in flight per connection");
ABSL_FLAG(int, client_threads, 1, "load-generator threads");
ABSL_FLAG(double, seconds, 2, "length of each measured phase");
ABSL_FLAG(int, rounds, 2, "pairs of phases (without, with the watch)");
ABSL_FLAG(int, watches, 0, "watches at once; 0: the server's maximum (--admin_max_watches)");
ABSL_FLAG(int, interval_ms, 100, "each watch's interval_ms (the service allows 100..60000)");

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

std::string LoadAverage() {
  std::ifstream file("/proc/loadavg");
  std::string one, five, fifteen;
  file >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

void Authorize(grpc::ClientContext* context) {
  if (const std::string token = absl::GetFlag(FLAGS_token); !token.empty()) {
    context->AddMetadata("authorization", "Bearer " + token);
  }
}

// One WatchConnections on a connection of its own, read as raw bytes on its own thread.
class RawWatch {
 public:
  RawWatch(const std::string& admin, uint32_t interval_ms) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    channel_ = grpc::CreateCustomChannel(admin, grpc::InsecureChannelCredentials(), args);
    Authorize(&context_);
    admin::v1::WatchConnectionsRequest request;
    request.set_interval_ms(interval_ms);
    const std::string bytes = request.SerializeAsString();
    grpc::Slice slice(bytes);
    const grpc::ByteBuffer request_bytes(&slice, 1);
    static const grpc::internal::RpcMethod kMethod(
        "/ringside.admin.v1.RingAdmin/WatchConnections",
        grpc::internal::RpcMethod::SERVER_STREAMING);
    reader_.reset(grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(
        channel_.get(), kMethod, &context_, request_bytes));
    thread_ = std::thread([this] {
      grpc::ByteBuffer message;
      while (reader_->Read(&message)) {
        bytes_ += message.Length();
        ++messages_;
      }
      ended_ = true;
    });
  }
  // Cancels the watch; its status (CANCELLED when it was served until then). A stream that
  // ended already is not cancelled: that would replace the server's status with ours.
  grpc::Status Stop() {
    if (!ended_) context_.TryCancel();
    thread_.join();
    return reader_->Finish();
  }
  uint64_t messages() const { return messages_; }
  uint64_t bytes() const { return bytes_; }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader_;
  std::atomic<uint64_t> messages_{0};
  std::atomic<uint64_t> bytes_{0};
  std::atomic<bool> ended_{false};
  std::thread thread_;
};

int Main() {
  const int connections = absl::GetFlag(FLAGS_connections);
  const int threads = std::max(1, absl::GetFlag(FLAGS_client_threads));
  const std::string admin_address = absl::GetFlag(FLAGS_admin);
  const uint32_t interval_ms = static_cast<uint32_t>(absl::GetFlag(FLAGS_interval_ms));
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);

  auto stub = admin::v1::RingAdmin::NewStub(
      grpc::CreateChannel(admin_address, grpc::InsecureChannelCredentials()));
  admin::v1::GetServerStatsResponse server;
  {
    grpc::ClientContext context;
    Authorize(&context);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (grpc::Status s = stub->GetServerStats(&context, {}, &server); !s.ok()) {
      std::fprintf(stderr, "admin_watch_bench: GetServerStats: %s\n", s.error_message().c_str());
      return 1;
    }
  }
  int watches = absl::GetFlag(FLAGS_watches);
  if (watches <= 0) watches = static_cast<int>(server.admin().max_watches());
  const std::string load_before = LoadAverage();

  const sockaddr_in target = ParseAddress(absl::GetFlag(FLAGS_http));
  std::vector<std::unique_ptr<LoadGenerator>> generators;
  for (int t = 0; t < threads; ++t) {
    generators.push_back(std::make_unique<LoadGenerator>(
        target, connections / threads + (t < connections % threads), absl::GetFlag(FLAGS_depth)));
  }
  std::atomic<bool> stop{false};
  std::vector<std::thread> load;
  for (auto& g : generators) load.emplace_back([&g, &stop] { g->Run(stop); });

  const double seconds = absl::GetFlag(FLAGS_seconds);
  std::printf("%d connections, depth %d, %d client thread(s), %.1f s phases, %d watch(es) every "
              "%u ms (server: %d reactor(s), --admin_max_watches=%lu), %u cores, load average "
              "%s\n",
              connections, absl::GetFlag(FLAGS_depth), threads, seconds, watches, interval_ms,
              server.reactors_size(), static_cast<unsigned long>(server.admin().max_watches()),
              std::thread::hardware_concurrency(), load_before.c_str());
  Measure(generators, 0.5);  // warm-up

  double without_sum = 0;
  double with_sum = 0;
  uint64_t snapshots_before = 0;
  for (int round = 0; round < absl::GetFlag(FLAGS_rounds); ++round) {
    const double without = Measure(generators, seconds);

    std::vector<std::unique_ptr<RawWatch>> open;
    for (int i = 0; i < watches; ++i) {
      open.push_back(std::make_unique<RawWatch>(admin_address, interval_ms));
    }
    {
      grpc::ClientContext context;
      Authorize(&context);
      admin::v1::GetServerStatsResponse stats;
      stub->GetServerStats(&context, {}, &stats);
      snapshots_before = stats.admin().watch_snapshots();
    }
    const double with = Measure(generators, seconds);
    uint64_t messages = 0;
    uint64_t bytes = 0;
    grpc::Status status;
    for (auto& w : open) {
      messages += w->messages();
      bytes += w->bytes();
    }
    uint64_t snapshots = 0;
    {
      grpc::ClientContext context;
      Authorize(&context);
      admin::v1::GetServerStatsResponse stats;
      stub->GetServerStats(&context, {}, &stats);
      snapshots = stats.admin().watch_snapshots() - snapshots_before;
    }
    for (auto& w : open) {
      if (w->messages() == 0) status = w->Stop();
      else w->Stop();
    }
    if (messages == 0 || !status.ok()) {
      std::fprintf(stderr, "admin_watch_bench: a watch delivered nothing: %s\n",
                   status.error_message().c_str());
      return 1;
    }
    std::printf("round %d: without watches %.0f req/s, with %d %.0f req/s (%.2f%%; %lu "
                "messages, %.1f MB; %lu reactor snapshots taken)\n",
                round + 1, without, watches, with, 100 * with / without,
                static_cast<unsigned long>(messages), static_cast<double>(bytes) / 1e6,
                static_cast<unsigned long>(snapshots));
    without_sum += without;
    with_sum += with;
  }
  // One watch beyond the maximum must be refused (once the rounds' watches have ended).
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  {
    std::vector<std::unique_ptr<RawWatch>> open;
    for (int i = 0; i <= static_cast<int>(server.admin().max_watches()); ++i) {
      open.push_back(std::make_unique<RawWatch>(admin_address, interval_ms));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    int refused = 0;
    for (auto& w : open) {
      const grpc::Status s = w->Stop();
      refused += s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED;
    }
    std::printf("%lu watch(es) opened at once: %d refused with RESOURCE_EXHAUSTED\n",
                static_cast<unsigned long>(open.size()), refused);
  }
  stop = true;
  for (std::thread& t : load) t.join();
  std::printf("ratio with/without watches: %.2f%% (load average after: %s)\n",
              100 * with_sum / without_sum, LoadAverage().c_str());
  return 0;
}

}  // namespace
}  // namespace ringside

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "admin_watch_bench --http=HOST:PORT --admin=HOST:PORT: pipelined throughput of a running "
      "ringside server with and without its maximum of WatchConnections");
  absl::ParseCommandLine(argc, argv);
  return ringside::Main();
}
