#include "ringside/services/admin/admin_server.h"

#include <arpa/inet.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/server_posix.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "ringside/services/admin/bearer_token.h"

namespace ringside::admin {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kMinBackoffMs = 10;
constexpr int kMaxBackoffMs = 1000;
constexpr int kSweepIntervalMs = 1000;
constexpr auto kLogInterval = std::chrono::seconds(10);

// "host:0" with the bound port in place of the requested one.
std::string BoundAddress(const std::string& requested, int port) {
  const size_t colon = requested.rfind(':');
  return absl::StrCat(requested.substr(0, colon == std::string::npos ? requested.size() : colon),
                      ":", port);
}

bool IsLoopback(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    return (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
  }
  if (address->sa_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&a)) return true;
    return IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127;
  }
  return false;
}

void SetPort(sockaddr* address, int port) {
  if (address->sa_family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(address)->sin_port = htons(static_cast<uint16_t>(port));
  } else if (address->sa_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(address)->sin6_port = htons(static_cast<uint16_t>(port));
  }
}

int BoundPort(int fd) {
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) != 0) return 0;
  if (bound.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
}

// What a refused connection is told before it is closed: the server's connection preface
// (an empty SETTINGS frame) and a GOAWAY with ENHANCE_YOUR_CALM and a reason, so that a
// client that logs GOAWAYs says why.
std::string RefusalFrames(size_t max_connections) {
  const std::string reason =
      absl::StrCat("admin connection limit reached (--admin_max_connections=", max_connections,
                   ")");
  std::string frames("\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9);  // SETTINGS, empty
  const size_t length = 8 + reason.size();
  frames += static_cast<char>((length >> 16) & 0xFF);
  frames += static_cast<char>((length >> 8) & 0xFF);
  frames += static_cast<char>(length & 0xFF);
  frames.append("\x07\x00\x00\x00\x00\x00", 6);  // GOAWAY, no flags, stream 0
  frames.append("\x00\x00\x00\x00", 4);          // last stream id 0
  frames.append("\x00\x00\x00\x0b", 4);          // ENHANCE_YOUR_CALM
  frames += reason;
  return frames;
}

}  // namespace

absl::StatusOr<std::unique_ptr<AdminServer>> AdminServer::Start(
    const AdminServerOptions& options, std::vector<Reactor*> reactors,
    std::map<std::string, std::string> configuration) {
  const size_t colon = options.address.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(options.address.substr(colon + 1), &port) ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the admin address must be HOST:PORT or [IPV6]:PORT, got '", options.address, "'"));
  }
  std::string host = options.address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
  addrinfo* resolved = nullptr;
  const std::string port_text = std::to_string(port);
  if (const int error = getaddrinfo(host.empty() ? nullptr : host.c_str(), port_text.c_str(),
                                    &hints, &resolved);
      error != 0) {
    return absl::UnavailableError(absl::StrCat("cannot serve the admin service on ",
                                               options.address, ": ", gai_strerror(error)));
  }
  std::vector<std::pair<sockaddr_storage, socklen_t>> addresses;
  bool public_address = false;
  for (const addrinfo* a = resolved; a != nullptr; a = a->ai_next) {
    if (a->ai_addrlen > sizeof(sockaddr_storage)) continue;
    sockaddr_storage storage{};
    std::memcpy(&storage, a->ai_addr, a->ai_addrlen);
    public_address |= !IsLoopback(a->ai_addr);
    addresses.emplace_back(storage, a->ai_addrlen);
  }
  freeaddrinfo(resolved);
  if (public_address && options.token.empty() && !options.insecure_public) {
    return absl::FailedPreconditionError(absl::StrCat(
        "refusing to serve the admin service on ", options.address,
        " without a token: that address is not loopback, and the service shows every "
        "client's address to whoever reaches it. Give a token (--admin_token_file), use a "
        "loopback address (127.0.0.1), or accept the exposure with --admin_insecure_public"));
  }

  std::unique_ptr<AdminServer> admin(new AdminServer());
  admin->options_ = options;
  // Bind every resolved address (localhost: 127.0.0.1 and ::1) on one port.
  int bound_port = static_cast<int>(port);
  int last_errno = 0;
  for (auto& [storage, length] : addresses) {
    sockaddr* address = reinterpret_cast<sockaddr*>(&storage);
    if (bound_port != 0) SetPort(address, bound_port);
    const int fd = socket(address->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      last_errno = errno;
      continue;
    }
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    // [::] alone serves IPv4 too; beside a separate IPv4 address it must not take its port.
    if (address->sa_family == AF_INET6 && addresses.size() > 1) {
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    if (bind(fd, address, length) != 0 || listen(fd, 1024) != 0) {
      last_errno = errno;
      close(fd);
      // A busy port is an error; an address family the host lacks (no ::1) is not.
      if (last_errno == EADDRINUSE) break;
      continue;
    }
    bound_port = BoundPort(fd);
    admin->listen_fds_.push_back(fd);
  }
  if (admin->listen_fds_.empty() || last_errno == EADDRINUSE) {
    for (int fd : admin->listen_fds_) close(fd);
    admin->listen_fds_.clear();
    return absl::UnavailableError(absl::StrCat("cannot serve the admin service on ",
                                               options.address, ": ", std::strerror(last_errno),
                                               " (expected HOST:PORT, free and bindable)"));
  }
  admin->port_ = bound_port;
  admin->address_ = BoundAddress(options.address, bound_port);

  // Both are process-wide switches that take effect for servers built afterwards.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  admin->counters_.max_connections = options.max_connections;
  admin->service_ = std::make_unique<RingAdminService>(
      std::move(reactors), std::move(configuration),
      RingAdminServiceOptions{.token = options.token, .max_watches = options.max_watches},
      &admin->counters_);
  grpc::ServerBuilder builder;  // no listening port: the accept thread hands sockets over
  builder.RegisterService(admin->service_.get());
  if (!options.token.empty()) {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(std::make_unique<BearerTokenInterceptorFactory>(options.token));
    builder.experimental().SetInterceptorCreators(std::move(creators));
  }
  admin->server_ = builder.BuildAndStart();
  admin->wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (admin->server_ == nullptr || admin->wake_fd_ < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot start the admin service on ", options.address));
  }
  admin->server_->GetHealthCheckService()->SetServingStatus(true);
  admin->acceptor_ = std::thread([a = admin.get()] { a->AcceptLoop(); });
  return admin;
}

AdminServer::~AdminServer() {
  Shutdown();
  for (int fd : listen_fds_) close(fd);
  if (wake_fd_ >= 0) close(wake_fd_);
}

void AdminServer::Shutdown() {
  std::call_once(shutdown_once_, [this] {
    if (acceptor_.joinable()) {
      const uint64_t one = 1;
      (void)!write(wake_fd_, &one, sizeof(one));
      acceptor_.join();
    }
    // Connections that wait in the backlog are refused from now on.
    for (int fd : listen_fds_) close(fd);
    listen_fds_.clear();
    if (server_ == nullptr) return;
    service_->BeginShutdown();
    server_->GetHealthCheckService()->Shutdown();
    // Unary calls take milliseconds and watches end at once; the deadline only bounds a
    // client that stopped reading.
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    server_->Wait();
  });
}

void AdminServer::AcceptLoop() {
  int backoff_ms = 0;  // > 0: out of descriptors; wait this long before accepting again
  Clock::time_point last_sweep = Clock::now();
  for (;;) {
    std::vector<pollfd> fds = {{wake_fd_, POLLIN, 0}};
    if (backoff_ms == 0) {
      for (int fd : listen_fds_) fds.push_back({fd, POLLIN, 0});
    }
    const int ready = poll(fds.data(), fds.size(), backoff_ms > 0 ? backoff_ms : kSweepIntervalMs);
    if (ready < 0 && errno != EINTR) break;
    if (fds[0].revents & POLLIN) break;
    bool starved = false;
    if (backoff_ms > 0) {
      // The backoff ran out: try every listener.
      for (int fd : listen_fds_) starved |= !AcceptAll(fd);
    } else {
      for (size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].revents & (POLLIN | POLLERR)) starved |= !AcceptAll(fds[i].fd);
      }
    }
    backoff_ms = starved ? std::clamp(backoff_ms * 2, kMinBackoffMs, kMaxBackoffMs) : 0;
    if (Clock::now() - last_sweep >= std::chrono::milliseconds(kSweepIntervalMs)) {
      Sweep();
      last_sweep = Clock::now();
    }
    MaybeLog(false);
  }
  MaybeLog(true);
}

bool AdminServer::AcceptAll(int listen_fd) {
  for (;;) {
    const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      Admit(fd);
      continue;
    }
    switch (errno) {
      case EAGAIN:
        return true;
      case EINTR:
      case ECONNABORTED:
      case EPROTO:
      case EPERM:
        continue;  // that connection is gone; others may wait
      default:
        // EMFILE, ENFILE, ENOBUFS, ENOMEM (or worse): the connection stays in the backlog
        // until the backoff runs out.
        counters_.accept_errors.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
  }
}

void AdminServer::Admit(int fd) {
  if (handed_.size() >= options_.max_connections) Sweep();
  if (handed_.size() >= options_.max_connections) {
    counters_.connections_refused.fetch_add(1, std::memory_order_relaxed);
    static const std::string* const frames =
        new std::string(RefusalFrames(options_.max_connections));
    (void)!send(fd, frames->data(), frames->size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    shutdown(fd, SHUT_WR);
    // What the client sent already would turn the close into a reset, which may overtake
    // the GOAWAY; take it first.
    char discard[4096];
    while (recv(fd, discard, sizeof(discard), MSG_DONTWAIT) > 0) {
    }
    close(fd);
    return;
  }
  struct stat st {};
  fstat(fd, &st);
  handed_.push_back({fd, static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)});
  counters_.connections.store(handed_.size(), std::memory_order_relaxed);
  counters_.connections_accepted.fetch_add(1, std::memory_order_relaxed);
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  grpc::AddInsecureChannelFromFd(server_.get(), fd);
}

// gRPC closes a socket it was handed when the connection ends; after that its descriptor
// is closed or is another file (another inode), whoever opened it.
void AdminServer::Sweep() {
  handed_.erase(std::remove_if(handed_.begin(), handed_.end(),
                               [](const Handed& h) {
                                 struct stat st {};
                                 return fstat(h.fd, &st) != 0 ||
                                        static_cast<uint64_t>(st.st_dev) != h.dev ||
                                        static_cast<uint64_t>(st.st_ino) != h.ino;
                               }),
                handed_.end());
  counters_.connections.store(handed_.size(), std::memory_order_relaxed);
}

void AdminServer::MaybeLog(bool force) {
  const Clock::time_point now = Clock::now();
  if (!force && now - last_log_ < kLogInterval) return;
  const uint64_t connections = counters_.connections_refused.load(std::memory_order_relaxed);
  const uint64_t watches = service_->watches_refused();
  const uint64_t errors = counters_.accept_errors.load(std::memory_order_relaxed);
  if (connections == logged_connections_refused_ && watches == logged_watches_refused_ &&
      errors == logged_accept_errors_) {
    return;
  }
  std::string line = "ringside: admin:";
  const char* separator = " ";
  auto add = [&](uint64_t count, const std::string& what) {
    if (count == 0) return;
    absl::StrAppend(&line, separator, count, " ", what);
    separator = "; ";
  };
  add(connections - logged_connections_refused_,
      absl::StrCat("connection(s) refused over --admin_max_connections=",
                   options_.max_connections));
  add(watches - logged_watches_refused_,
      absl::StrCat("watch(es) refused over --admin_max_watches=", options_.max_watches));
  add(errors - logged_accept_errors_,
      "accept(s) failed for want of file descriptors or memory (retried after a backoff)");
  std::fprintf(stderr, "%s\n", line.c_str());
  logged_connections_refused_ = connections;
  logged_watches_refused_ = watches;
  logged_accept_errors_ = errors;
  last_log_ = now;
}

}  // namespace ringside::admin
