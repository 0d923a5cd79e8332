// host_port.h: the HOST:PORT addresses the server's side services listen on (admin,
// metrics), and whether an address is loopback (those services refuse public addresses
// unless told otherwise).
//
//   absl::StatusOr<HostPort> a = ParseHostPort("[::1]:9900", "admin address");
//   if (!a.ok()) return a.status();   // "the admin address must be HOST:PORT ..."
//   // a->host == "::1", a->port == 9900
//   if (!IsLoopback(resolved->ai_addr)) ...
//
// Thread-safety: thread-safe (no state).
#ifndef RINGSIDE_SERVICES_HOST_PORT_H_
#define RINGSIDE_SERVICES_HOST_PORT_H_

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace ringside {

struct HostPort {
  std::string host;  // without the brackets of "[IPV6]"; may be empty ("any address")
  uint16_t port = 0;
};

// Splits "HOST:PORT" or "[IPV6]:PORT" (port in [0, 65535]). InvalidArgument naming `what`
// ("the <what> must be HOST:PORT or [IPV6]:PORT, got '<text>'") otherwise.
absl::StatusOr<HostPort> ParseHostPort(std::string_view text, std::string_view what);

// 127.0.0.0/8, ::1, or ::ffff:127.x.y.z.
bool IsLoopback(const sockaddr* address);

}  // namespace ringside

#endif  // RINGSIDE_SERVICES_HOST_PORT_H_
