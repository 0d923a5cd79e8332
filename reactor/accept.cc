// Accepting: one multishot accept on the listener; each new socket gets a slot, a ring and
// a handler, or is refused (limits, shutdown) and counted. Out of file descriptors,
// the listener backs off instead of re-arming into the same failure.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "ringside/reactor/reactor_impl.h"

namespace ringside {
namespace {

// Failures that say the process or the system is out of a resource, not that one client
// misbehaved: accepting again at once fails the same way (the kernel checks for a free fd
// before it looks at the backlog), so re-arming would spin.
bool OutOfResources(int error) {
  return error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM;
}

}  // namespace

void Reactor::Impl::ArmAccept() {
  io_uring_sqe* sqe = Sqe();
  io_uring_prep_multishot_accept(sqe, listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, UserData(kAccept));
  accept_ = Accept::kArmed;
}

void Reactor::Impl::OnAccept(int32_t res, uint32_t flags) {
  if (accept_ == Accept::kClosed) {
    if (res >= 0) Refuse(res, &totals_.refused_stopping);
    return;
  }
  if (!(flags & IORING_CQE_F_MORE)) accept_ = Accept::kIdle;
  if (res >= 0) {
    accept_backoff_ms_ = 0;
    if (stopping_) {
      Refuse(res, &totals_.refused_stopping);
    } else if (live_ >= config_.max_connections ||
               (config_.total_connections && !config_.total_connections->TryAcquire())) {
      Refuse(res, &totals_.refused_connection_limit);
    } else {
      NewConnection(res);
    }
  } else if (OutOfResources(-res)) {
    return BackOffAccept(-res);
  }
  if (accept_ == Accept::kIdle) ArmAccept();
}

// A timeout on the ring instead of a sweep deadline: the pause must not depend on what
// else is scheduled, and it costs one SQE per retry.
void Reactor::Impl::BackOffAccept(int error) {
  ++totals_.accept_failures;
  accept_backoff_ms_ = accept_backoff_ms_ == 0
                           ? kAcceptBackoffMinMs
                           : std::min(accept_backoff_ms_ * 2, kAcceptBackoffMaxMs);
  accept_failure_log_.Write([&] {
    return absl::StrCat("reactor ", config_.id, ": accept: ", std::strerror(error),
                        "; new connections wait in the listen backlog, retrying every ",
                        kAcceptBackoffMaxMs, " ms at most (raise RLIMIT_NOFILE or lower "
                        "--max_connections_total)");
  });
  if (accept_ == Accept::kArmed) return;  // the multishot accept is still in flight
  accept_retry_after_ = {.tv_sec = 0,
                         .tv_nsec = static_cast<long long>(accept_backoff_ms_) * 1000000};
  io_uring_sqe* sqe = Sqe();
  io_uring_prep_timeout(sqe, &accept_retry_after_, 0, 0);
  io_uring_sqe_set_data64(sqe, UserData(kAcceptRetry));
  accept_ = Accept::kBackingOff;
}

void Reactor::Impl::OnAcceptRetry() {
  if (accept_ == Accept::kBackingOff) ArmAccept();
}

void Reactor::Impl::Refuse(int fd, uint64_t* reason) {
  ++totals_.connections_refused;
  ++*reason;
  close(fd);
}

// The pending accept holds its own reference to the socket; closing ours refuses new
// connections at once instead of letting them queue. A pending retry timeout just expires.
void Reactor::Impl::StopAccepting() {
  if (accept_ == Accept::kArmed) {
    io_uring_sqe* sqe = Sqe();
    io_uring_prep_cancel64(sqe, UserData(kAccept), 0);
    io_uring_sqe_set_data64(sqe, UserData(kIgnore));
  }
  accept_ = Accept::kClosed;
  close(listen_fd_);
  listen_fd_ = -1;
}
// A connection admitted past the limits; it gives its place back in MaybeFree.
// TCP_NODELAY comes from the listener (sockets.cc).
void Reactor::Impl::NewConnection(int fd) {
  Connection& c = TakeSlot();
  c.in_use = true;
  c.fd = fd;
  c.registered_file = false;  // from its second send on (send.cc)
  c.id = NextConnectionId();
  c.handler = handlers_();
  c.stats = ConnectionCounters{};
  c.last_activity_ms = now_ms_;
  c.timer_deadline_ms = 0;
  c.phase = Phase::kOpen;
  c.receive = Receive::kStopped;
  c.proxy_version = 0;
  c.awaiting_proxy_header = false;
  ++live_;
  ++totals_.connections_accepted;
  if (config_.proxy_versions != ProxyVersions::kOff && !ExpectProxyHeader(c)) return;
  AttachRing(c, AcquireRing());
  UpdateReceive(c);
  Reschedule(c);
}

}  // namespace ringside
