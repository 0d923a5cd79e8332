#include "ringside/reactor/sockets.h"

#include <arpa/inet.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace ringside {

namespace {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t len = 0;
  int family = 0;
};

absl::StatusOr<SocketAddress> ParseAddress(const std::string& address, uint16_t port) {
  SocketAddress out;
  if (auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
      inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = out.family = AF_INET;
    v4->sin_port = htons(port);
    out.len = sizeof(sockaddr_in);
  } else if (auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
             inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = out.family = AF_INET6;
    v6->sin6_port = htons(port);
    out.len = sizeof(sockaddr_in6);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--address ", address, " is not an IPv4 or IPv6 address"));
  }
  return out;
}

// A TCP socket for `where` with SO_REUSEADDR (connections in TIME_WAIT do not hold the
// address) and, if asked, SO_REUSEPORT.
absl::StatusOr<int> OpenSocket(const SocketAddress& where, bool reuse_port) {
  const int fd = socket(where.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  return fd;
}

}  // namespace

absl::StatusOr<int> Listen(const std::string& address, uint16_t port) {
  absl::StatusOr<SocketAddress> where = ParseAddress(address, port);
  if (!where.ok()) return where.status();
  absl::StatusOr<int> socket_fd = OpenSocket(*where, /*reuse_port=*/true);
  if (!socket_fd.ok()) return socket_fd.status();
  const int fd = *socket_fd;
  // Accepted sockets inherit TCP_NODELAY from the listener (Linux copies the listener's
  // TCP state into each child): set once here, not by a setsockopt per connection.
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (bind(fd, reinterpret_cast<sockaddr*>(&where->storage), where->len) != 0 ||
      listen(fd, 4096) != 0) {
    const int err = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", address, ":", port, ": ", std::strerror(err)));
  }
  return fd;
}

// A bind without SO_REUSEPORT fails while any socket (listening or not, with or without
// SO_REUSEPORT) holds the address; connections in TIME_WAIT do not count, as they do not
// for Listen().
absl::Status CheckPortUnused(const std::string& address, uint16_t port) {
  absl::StatusOr<SocketAddress> where = ParseAddress(address, port);
  if (!where.ok()) return where.status();
  absl::StatusOr<int> socket_fd = OpenSocket(*where, /*reuse_port=*/false);
  if (!socket_fd.ok()) return socket_fd.status();
  const int fd = *socket_fd;
  const int bound = bind(fd, reinterpret_cast<sockaddr*>(&where->storage), where->len);
  const int err = errno;
  close(fd);
  if (bound == 0) return absl::OkStatus();
  if (err == EADDRINUSE) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", address, ":", port, ": another socket, probably another "
        "process, holds the port (run with --reuse_port on every process that should share "
        "it)"));
  }
  return absl::UnavailableError(
      absl::StrCat("cannot listen on ", address, ":", port, ": ", std::strerror(err)));
}

uint16_t LocalPort(int fd) {
  sockaddr_storage storage{};
  socklen_t len = sizeof(storage);
  getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &len);
  return ntohs(storage.ss_family == AF_INET6
                   ? reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port
                   : reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
}

std::string PeerName(int fd) {
  sockaddr_storage storage{};
  socklen_t len = sizeof(storage);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&storage), &len) != 0) return "";
  return AddressName(storage);
}

std::string AddressName(const sockaddr_storage& storage) {
  char host[INET6_ADDRSTRLEN] = {};
  if (storage.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&storage);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
    return absl::StrCat("[", host, "]:", ntohs(a->sin6_port));
  }
  const auto* a = reinterpret_cast<const sockaddr_in*>(&storage);
  inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
  return absl::StrCat(host, ":", ntohs(a->sin_port));
}

bool AllSentAcknowledged(int fd) {
  int unacknowledged = 0;
  return ioctl(fd, SIOCOUTQ, &unacknowledged) == 0 && unacknowledged == 0;
}

}  // namespace ringside
