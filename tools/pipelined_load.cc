#include "ringside/tools/pipelined_load.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace ringside::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kRequest[] = "GET /pipeline HTTP/1.1\r\nHost: b\r\n\r\n";
// Every /pipeline response ends with its blank line and the body "ok".
constexpr char kResponseEnd[] = "\r\n\r\nok";
constexpr size_t kResponseEndBytes = sizeof(kResponseEnd) - 1;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "pipelined load: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

}  // namespace

sockaddr_in ParseIpv4Address(const std::string& host_port, const char* what) {
  const size_t colon = host_port.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (colon == std::string::npos ||
      inet_pton(AF_INET, host_port.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
    std::fprintf(stderr, "%s wants an IPv4 HOST:PORT, got %s\n", what, host_port.c_str());
    std::exit(2);
  }
  addr.sin_port = htons(static_cast<uint16_t>(std::atoi(host_port.c_str() + colon + 1)));
  return addr;
}

LoadGenerator::LoadGenerator(const sockaddr_in& target, int connections, int depth)
    : depth_(depth), epoll_(epoll_create1(EPOLL_CLOEXEC)), tails_(connections) {
  for (int i = 0; i < connections; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, reinterpret_cast<const sockaddr*>(&target), sizeof(target)) != 0) {
      Die("connect to the HTTP server");
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fds_.push_back(fd);
    epoll_event event{EPOLLIN, {.u32 = static_cast<uint32_t>(i)}};
    epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event);
    Send(fd, depth_);
  }
}

LoadGenerator::~LoadGenerator() {
  for (int fd : fds_) close(fd);
  close(epoll_);
}

void LoadGenerator::Run(const std::atomic<bool>& stop) {
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

void LoadGenerator::Send(int fd, int requests) {
  std::string batch;
  for (int i = 0; i < requests; ++i) batch += kRequest;
  for (size_t sent = 0; sent < batch.size();) {
    const ssize_t n = send(fd, batch.data() + sent, batch.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) Die("send");
    sent += static_cast<size_t>(n);
  }
}

uint64_t TotalResponses(const std::vector<std::unique_ptr<LoadGenerator>>& generators) {
  uint64_t total = 0;
  for (const auto& g : generators) total += g->responses();
  return total;
}

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

double CpuSeconds(int pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const size_t end_of_name = stat.rfind(')');
  if (end_of_name == std::string::npos) return -1;
  std::istringstream fields(stat.substr(end_of_name + 2));
  std::string field;
  // After the name: state is field 3; utime and stime are fields 14 and 15.
  for (int i = 3; i < 14 && fields >> field; ++i) {
  }
  long long utime = 0, stime = 0;
  if (!(fields >> utime >> stime)) return -1;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace ringside::bench
