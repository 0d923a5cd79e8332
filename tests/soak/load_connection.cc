#include "ringside/tests/soak/load_connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace ringside::soak {
namespace {

// Mostly tiny writes (requests cut inside the request line, a header, a chunk size), some of
// a few KiB, a few large enough to fill several receive buffers at once.
size_t RandomWriteSize(std::mt19937_64& rng) {
  const uint64_t pick = std::uniform_int_distribution<uint64_t>(0, 9)(rng);
  const size_t max = pick < 4 ? 16 : pick < 8 ? 2048 : 64 * 1024;
  return std::uniform_int_distribution<size_t>(1, max)(rng);
}

}  // namespace

std::unique_ptr<LoadConnection> LoadConnection::Connect(uint16_t port, int receive_buffer,
                                                       uint32_t source) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return nullptr;
  if (receive_buffer > 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
  }
  if (source != INADDR_LOOPBACK) {
    // The port is still picked at connect(), for the whole address pair.
    const int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(source);
    if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
      const int err = errno;
      close(fd);
      errno = err;
      return nullptr;
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // A loopback connect completes at once, so it is done blocking; I/O is non-blocking.
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    close(fd);
    errno = err;
    return nullptr;
  }
  const int one = 1;
  // Each fragment leaves as its own segment instead of being coalesced by Nagle.
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  fcntl(fd, F_SETFL, O_NONBLOCK);
  return std::unique_ptr<LoadConnection>(new LoadConnection(fd));
}

LoadConnection::~LoadConnection() {
  if (fd_ >= 0) close(fd_);
}

void LoadConnection::Queue(Exchange exchange) {
  if (sent_ == outbox_.size()) {
    outbox_.clear();
    sent_ = 0;
  }
  outbox_.append(exchange.request);
  checker_.Expect(std::move(exchange.response));
}

LoadConnection::Io LoadConnection::WriteFragment(std::mt19937_64& rng) {
  if (!wants_write()) return Io::kOk;
  const size_t n = std::min(RandomWriteSize(rng), outbox_.size() - sent_);
  const ssize_t written = send(fd_, outbox_.data() + sent_, n, MSG_NOSIGNAL);
  if (written < 0) {
    return errno == EAGAIN || errno == EINTR ? Io::kOk : Io::kReset;
  }
  sent_ += static_cast<size_t>(written);
  bytes_sent_ += static_cast<uint64_t>(written);
  return Io::kOk;
}

LoadConnection::Io LoadConnection::Read(size_t max_bytes) {
  char buf[64 * 1024];
  while (max_bytes > 0) {
    const ssize_t n = recv(fd_, buf, std::min(sizeof(buf), max_bytes), 0);
    if (n == 0) return Io::kEof;
    if (n < 0) {
      return errno == EAGAIN || errno == EINTR ? Io::kOk : Io::kReset;
    }
    max_bytes -= static_cast<size_t>(n);
    if (!checker_.Consume(std::string_view(buf, static_cast<size_t>(n)))) return Io::kMismatch;
  }
  return Io::kOk;
}

void LoadConnection::Abort() {
  const linger reset{.l_onoff = 1, .l_linger = 0};
  setsockopt(fd_, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  close(fd_);
  fd_ = -1;
}

Poller::Poller() : epoll_fd_(epoll_create1(EPOLL_CLOEXEC)), raw_(1024) {
  if (epoll_fd_ < 0) {
    std::perror("epoll_create1");
    std::abort();
  }
}

Poller::~Poller() { close(epoll_fd_); }

void Poller::Add(int fd, uint64_t token, bool want_write) {
  Control(EPOLL_CTL_ADD, fd, token, want_write);
}

void Poller::Update(int fd, uint64_t token, bool want_write) {
  Control(EPOLL_CTL_MOD, fd, token, want_write);
}

void Poller::Remove(int fd) { epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr); }

void Poller::Control(int op, int fd, uint64_t token, bool want_write) {
  epoll_event e{};
  e.events = EPOLLIN | EPOLLRDHUP | (want_write ? EPOLLOUT : 0u);
  e.data.u64 = token;
  if (epoll_ctl(epoll_fd_, op, fd, &e) != 0) {
    std::perror("epoll_ctl");
    std::abort();
  }
}

const std::vector<Poller::Event>& Poller::Wait(std::chrono::milliseconds timeout) {
  events_.clear();
  const int n = epoll_wait(epoll_fd_, raw_.data(), static_cast<int>(raw_.size()),
                           static_cast<int>(timeout.count()));
  for (int i = 0; i < n; ++i) {
    const uint32_t ev = raw_[i].events;
    events_.push_back({raw_[i].data.u64, (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0,
                       (ev & EPOLLOUT) != 0});
  }
  return events_;
}

}  // namespace ringside::soak
