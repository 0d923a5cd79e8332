// loopback_client.h: the examples' client side, so each example shows only its server.
//
//   std::string answers = ExchangeOverLoopback(port, "GET a\n", expected.size());
//
// Thread-safety: no shared state.
#ifndef RINGSIDE_EXAMPLES_LOOPBACK_CLIENT_H_
#define RINGSIDE_EXAMPLES_LOOPBACK_CLIENT_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace examples {

// A connected TCP socket to 127.0.0.1:port, or -1.
inline int ConnectToLoopback(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Sends `request` on `fd` and reads until `answer_size` bytes or the connection ends.
inline std::string Exchange(int fd, std::string_view request, size_t answer_size) {
  if (write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) return "";
  std::string answer;
  char buffer[4096];
  while (answer.size() < answer_size) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n <= 0) break;
    answer.append(buffer, static_cast<size_t>(n));
  }
  return answer;
}

// One connection: sends `request`, returns what came back (at most `answer_size` bytes read).
inline std::string ExchangeOverLoopback(uint16_t port, std::string_view request, size_t answer_size) {
  const int fd = ConnectToLoopback(port);
  if (fd < 0) return "";
  std::string answer = Exchange(fd, request, answer_size);
  close(fd);
  return answer;
}

}  // namespace examples

#endif  // RINGSIDE_EXAMPLES_LOOPBACK_CLIENT_H_
