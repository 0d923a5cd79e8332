// sockets.h: the plain socket calls a reactor makes outside its io_uring.
//
//   absl::StatusOr<int> fd = Listen("0.0.0.0", 8080);  // SO_REUSEPORT, backlog 4096
//   absl::Status unused = CheckPortUnused("0.0.0.0", 8080);  // before the first Listen
//   uint16_t port = LocalPort(*fd);                      // the port picked for port 0
//   std::string peer = PeerName(connection_fd);          // "127.0.0.1:5000", "[::1]:5000"
//   std::string name = AddressName(storage);             // the same form for any address
//   bool acked = AllSentAcknowledged(connection_fd);    // the peer's kernel has it all
//
// Thread-safety: thread-safe (no state).
#ifndef RINGSIDE_REACTOR_SOCKETS_H_
#define RINGSIDE_REACTOR_SOCKETS_H_

#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace ringside {

// A listening TCP socket on an IPv4 or IPv6 address. InvalidArgument for an address that is
// neither; Unavailable when the address cannot be bound.
absl::StatusOr<int> Listen(const std::string& address, uint16_t port);
// OK when nothing is bound to address:port; Unavailable naming the cause when something
// is (e.g. another process's SO_REUSEPORT listener, which Listen() would silently join).
absl::Status CheckPortUnused(const std::string& address, uint16_t port);
uint16_t LocalPort(int fd);
// The peer's address, or "" when the socket has none (it disconnected).
std::string PeerName(int fd);
// An IPv4 or IPv6 address and port as PeerName writes it.
std::string AddressName(const sockaddr_storage& address);
// Whether the peer's kernel has acknowledged every byte (and the FIN) written to the
// socket: nothing is left in its send queue (SIOCOUTQ is 0). False if it cannot tell.
bool AllSentAcknowledged(int fd);

}  // namespace ringside

#endif  // RINGSIDE_REACTOR_SOCKETS_H_
