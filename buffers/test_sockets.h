// test_sockets.h: a real io_uring and connected sockets for the buffers/ tests.
//
// TestUring owns an io_uring; Arm* prepare and submit operations, NextCqe waits for one
// completion with a deadline (never forever). SocketPair is a connected AF_UNIX stream pair.
// Thread-compatible; test-only.
#ifndef RINGSIDE_BUFFERS_TEST_SOCKETS_H_
#define RINGSIDE_BUFFERS_TEST_SOCKETS_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "ringside/third_party/liburing/liburing_compat.h"

namespace ringside::testing {

struct Cqe {
  uint64_t user_data;
  int32_t res;
  uint32_t flags;
};

class TestUring {
 public:
  explicit TestUring(unsigned entries = 256);
  ~TestUring();
  io_uring* get() { return &ring_; }
  void ArmRecv(int fd, uint16_t bgid, uint64_t user_data);
  void ArmPoll(int fd, uint64_t user_data);  // multishot POLLIN
  void Cancel(uint64_t user_data);
  // Waits up to `deadline` for the next CQE.
  std::optional<Cqe> NextCqe(std::chrono::milliseconds deadline = std::chrono::seconds(5));

 private:
  io_uring_sqe* Sqe();
  io_uring ring_;
};

struct SocketPair {
  SocketPair();
  ~SocketPair();
  int client;  // the test writes here
  int server;  // the io_uring receives here
};

// Writes all of `data` (blocking).
void WriteAll(int fd, std::string_view data);

}  // namespace ringside::testing

#endif  // RINGSIDE_BUFFERS_TEST_SOCKETS_H_
