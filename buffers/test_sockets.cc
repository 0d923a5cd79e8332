#include "ringside/buffers/test_sockets.h"

#include <sys/socket.h>
#include <poll.h>
#include <unistd.h>

#include <cstdlib>
#include <cstdio>

namespace ringside::testing {
namespace {

[[noreturn]] void Die(const char* what, int err) {
  std::fprintf(stderr, "%s failed: %d\n", what, err);
  std::abort();
}

}  // namespace

TestUring::TestUring(unsigned entries) {
  if (int err = io_uring_queue_init(entries, &ring_, 0); err != 0) Die("io_uring_queue_init", err);
}

TestUring::~TestUring() { io_uring_queue_exit(&ring_); }

io_uring_sqe* TestUring::Sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) Die("io_uring_get_sqe", 0);
  return sqe;
}

void TestUring::ArmRecv(int fd, uint16_t bgid, uint64_t user_data) {
  io_uring_sqe* sqe = Sqe();
  io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = bgid;
  io_uring_sqe_set_data64(sqe, user_data);
  io_uring_submit(&ring_);
}

void TestUring::ArmPoll(int fd, uint64_t user_data) {
  io_uring_sqe* sqe = Sqe();
  io_uring_prep_poll_multishot(sqe, fd, POLLIN);
  io_uring_sqe_set_data64(sqe, user_data);
  io_uring_submit(&ring_);
}

void TestUring::Cancel(uint64_t user_data) {
  io_uring_sqe* sqe = Sqe();
  io_uring_prep_cancel64(sqe, user_data, 0);
  io_uring_sqe_set_data64(sqe, 0);
  io_uring_submit(&ring_);
}

std::optional<Cqe> TestUring::NextCqe(std::chrono::milliseconds deadline) {
  __kernel_timespec ts{.tv_sec = deadline.count() / 1000,
                       .tv_nsec = (deadline.count() % 1000) * 1000000};
  io_uring_cqe* cqe = nullptr;
  if (io_uring_wait_cqe_timeout(&ring_, &cqe, &ts) != 0) return std::nullopt;
  Cqe out{cqe->user_data, cqe->res, cqe->flags};
  io_uring_cqe_seen(&ring_, cqe);
  return out;
}

SocketPair::SocketPair() {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) Die("socketpair", errno);
  client = fds[0];
  server = fds[1];
}

SocketPair::~SocketPair() {
  close(client);
  close(server);
}

void WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) Die("write", errno);
    data.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace ringside::testing
