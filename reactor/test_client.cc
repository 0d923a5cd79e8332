#include "ringside/reactor/test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <utility>

namespace ringside::testing {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const char* what) {
  std::perror(what);
  std::abort();
}

int RemainingMs(Clock::time_point end) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

}  // namespace

TestClient::TestClient(uint16_t port, bool ipv6) {
  fd_ = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) Die("socket");
  int rc;
  if (ipv6) {
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_port = htons(port);
    addr.sin6_addr = in6addr_loopback;
    rc = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  } else {
    const sockaddr_in addr = LoopbackAddress(port);
    rc = connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  }
  if (rc != 0) Die("connect");
  const int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

TestClient::TestClient(TestClient&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

TestClient::~TestClient() {
  if (fd_ >= 0) close(fd_);
}

void TestClient::Send(std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      Die("send");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

std::string TestClient::ReadUntil(const std::function<bool(std::string_view)>& done,
                                  std::chrono::milliseconds deadline) {
  const Clock::time_point end = Clock::now() + deadline;
  std::string out;
  char buf[65536];
  while (!done(out)) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, RemainingMs(end)) <= 0) break;
    const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string TestClient::ReadExactly(size_t n, std::chrono::milliseconds deadline) {
  return ReadUntil([n](std::string_view got) { return got.size() >= n; }, deadline);
}

bool TestClient::WaitForClose(std::chrono::milliseconds deadline) {
  const Clock::time_point end = Clock::now() + deadline;
  char buf[65536];
  for (;;) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, RemainingMs(end)) <= 0) return false;
    const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) return true;
  }
}

void TestClient::ShutdownWrite() { shutdown(fd_, SHUT_WR); }

size_t WriteUntilStalled(int fd, std::string_view data, std::chrono::milliseconds quiet) {
  size_t written = 0;
  auto last_progress = std::chrono::steady_clock::now();
  while (written < data.size() && std::chrono::steady_clock::now() - last_progress < quiet) {
    const ssize_t n =
        send(fd, data.data() + written, data.size() - written, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      written += static_cast<size_t>(n);
      last_progress = std::chrono::steady_clock::now();
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      break;  // closed by the peer
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  return written;
}

sockaddr_in LoopbackAddress(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds deadline) {
  const Clock::time_point end = Clock::now() + deadline;
  while (!condition()) {
    if (Clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace ringside::testing
