// test_client.h: blocking loopback TCP clients for tests against a real server.
//
// Every read waits with a deadline (poll), so a test fails instead of hanging.
// Thread-compatible; test-only.
#ifndef RINGSIDE_REACTOR_TEST_CLIENT_H_
#define RINGSIDE_REACTOR_TEST_CLIENT_H_

#include <netinet/in.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace ringside::testing {

class TestClient {
 public:
  // Connects to 127.0.0.1:port (or [::1]:port with ipv6); aborts the test process on failure.
  explicit TestClient(uint16_t port, bool ipv6 = false);
  ~TestClient();
  TestClient(TestClient&& other) noexcept;
  TestClient(const TestClient&) = delete;

  void Send(std::string_view data);
  // Reads until `n` bytes or the deadline; returns what arrived.
  std::string ReadExactly(size_t n, std::chrono::milliseconds deadline = std::chrono::seconds(10));
  // Reads until `done(received)` is true, EOF, or the deadline.
  std::string ReadUntil(const std::function<bool(std::string_view)>& done,
                        std::chrono::milliseconds deadline = std::chrono::seconds(10));
  // True once the server closed the connection (EOF or reset) before the deadline.
  bool WaitForClose(std::chrono::milliseconds deadline = std::chrono::seconds(10));
  void ShutdownWrite();
  int fd() const { return fd_; }

 private:
  int fd_;
};

// Writes `data` to `fd` without blocking until the peer has taken no byte for `quiet` (its
// receive window and our send buffer are full), the peer closed, or all of it is written.
// Returns the bytes written: a test of a server that must stop reading checks it is less.
size_t WriteUntilStalled(int fd, std::string_view data, std::chrono::milliseconds quiet);

// 127.0.0.1:port, for tests that make their own sockets (non-blocking connects, many fds).
sockaddr_in LoopbackAddress(uint16_t port);

// Polls `condition` until it holds or the deadline passes.
bool WaitFor(const std::function<bool()>& condition,
             std::chrono::milliseconds deadline = std::chrono::seconds(10));

}  // namespace ringside::testing

#endif  // RINGSIDE_REACTOR_TEST_CLIENT_H_
