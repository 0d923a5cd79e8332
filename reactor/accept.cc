// Accepting: one multishot accept on the listener; each new socket gets a slot, a ring and
// a handler, or is refused (limits, buffers, shutdown) and counted.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "reactor/reactor_impl.h"

namespace ringside {

void Reactor::Impl::ArmAccept() {
  io_uring_sqe* sqe = Sqe();
  io_uring_prep_multishot_accept(sqe, listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, UserData(kAccept));
  accept_armed_ = true;
}

void Reactor::Impl::OnAccept(int32_t res, uint32_t flags) {
  if (!(flags & IORING_CQE_F_MORE)) accept_armed_ = false;
  if (res >= 0) {
    if (stopping_) {
      Refuse(res, &totals_.refused_stopping);
    } else if (live_ >= config_.max_connections ||
               (config_.total_connections && !config_.total_connections->TryAcquire())) {
      Refuse(res, &totals_.refused_connection_limit);
    } else {
      NewConnection(res);
    }
  }
  if (!accept_armed_ && !stopping_) ArmAccept();
}

void Reactor::Impl::Refuse(int fd, uint64_t* reason) {
  ++totals_.connections_refused;
  ++*reason;
  close(fd);
}

// The pending accept holds its own reference to the socket; closing ours refuses new
// connections at once instead of letting them queue.
void Reactor::Impl::StopAccepting() {
  if (accept_armed_) {
    io_uring_sqe* sqe = Sqe();
    io_uring_prep_cancel64(sqe, UserData(kAccept), 0);
    io_uring_sqe_set_data64(sqe, UserData(kIgnore));
  }
  close(listen_fd_);
  listen_fd_ = -1;
}

// A connection admitted past the limits; it gives its place back in MaybeFree.
void Reactor::Impl::NewConnection(int fd) {
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  absl::StatusOr<RingId> ring = manager_->AttachRing();
  if (!ring.ok()) {
    // Out of bgids or over the buffer budget: refuse this connection only.
    if (config_.total_connections) config_.total_connections->Release();
    return Refuse(fd, &totals_.refused_no_buffers);
  }
  Connection& c = TakeSlot();
  c.in_use = true;
  c.fd = fd;
  c.id = NextConnectionId();
  c.handler = handlers_();
  c.stats = ConnectionStats{};
  c.last_activity_ms = now_ms_;
  c.timer_deadline_ms = 0;
  c.phase = Phase::kOpen;
  c.receive = Receive::kStopped;
  c.in.set_pin_buffers(manager_->incremental());
  ++live_;
  ++totals_.connections_accepted;
  AttachRing(c, *ring);
  UpdateReceive(c);
  Reschedule(c);
}

}  // namespace ringside
