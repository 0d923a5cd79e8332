// A connection's output and end: queue what handlers produced, send it (one send in flight
// per connection; a partial send resumes), stop reading while too much is unsent, then
// linger (write side shut, reading until the client's EOF) and close.
#include <sys/socket.h>
#include <unistd.h>

#include "reactor/reactor_impl.h"

namespace ringside {

void Reactor::Impl::AfterHandler(Connection& c) {
  if (c.phase == Phase::kFlushing) c.in.Clear();
  if (!c.in_output_list && (!c.out.empty() || c.phase == Phase::kFlushing)) {
    c.in_output_list = true;
    output_list_.push_back({c.slot, c.generation});
  }
  if (!c.output_blocked && c.unsent() > config_.output_high_water) {
    // A client that does not read must not grow our memory: stop reading until it does.
    c.output_blocked = true;
    ++totals_.backpressure_pauses;
  }
  // The shared ring belongs to every connection: none keeps a buffer of it past its turn.
  if (!manager_->incremental()) c.in.Unpin();
  UpdateReceive(c);
}

void Reactor::Impl::FlushOutputs() {
  for (SlotRef ref : output_list_) {
    Connection* c = Find(ref.slot, ref.generation);
    if (c == nullptr) continue;
    c->in_output_list = false;
    if (c->closing()) continue;
    if (!c->send_inflight) StartSend(*c);
  }
  output_list_.clear();
}

void Reactor::Impl::StartSend(Connection& c) {
  if (c.sending.size() == c.sent) {
    c.sending.clear();
    c.sent = 0;
    std::swap(c.sending, c.out);
  }
  if (c.sending.empty()) {
    if (c.phase == Phase::kFlushing) BeginLinger(c);
    return;
  }
  io_uring_sqe* sqe = Sqe();
  io_uring_prep_send(sqe, c.fd, c.sending.data() + c.sent, c.sending.size() - c.sent,
                     MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, UserData(kSend, c.slot, c.generation));
  c.send_inflight = true;
}

void Reactor::Impl::OnSend(Connection& c, int32_t res) {
  c.send_inflight = false;
  if (c.closing()) return MaybeFree(c);
  if (res < 0) return Close(c);
  c.sent += static_cast<size_t>(res);
  c.stats.bytes_sent += static_cast<uint64_t>(res);
  c.last_activity_ms = now_ms_;
  if (c.output_blocked && c.unsent() <= config_.output_high_water / 2) {
    c.output_blocked = false;
    RunHandler(c);
    if (c.closing() || !c.in_use) return;
  }
  StartSend(c);
  UpdateReceive(c);
}

// The response is out: shut our write side and wait for the client's EOF, so the
// client reads the whole response instead of a reset caused by its unread pipelined bytes.
void Reactor::Impl::BeginLinger(Connection& c) {
  if (c.phase == Phase::kLingering || c.closing()) return;
  c.phase = Phase::kLingering;
  c.last_activity_ms = now_ms_;
  ++lingering_;
  ScheduleSweep(c.last_activity_ms + SweepPeriodMs());
  shutdown(c.fd, SHUT_WR);
  if (c.receive == Receive::kEnded || c.receive == Receive::kParked ||
      c.receive == Receive::kPolling || !c.ring_attached) {
    return Close(c);
  }
  UpdateReceive(c);
}

void Reactor::Impl::Close(Connection& c) {
  // Closing already: this is one of the completions it waits for (e.g. the client's EOF
  // raced our cancel), so it may be the last.
  if (c.closing()) return MaybeFree(c);
  if (c.phase == Phase::kLingering) --lingering_;
  c.phase = Phase::kClosing;
  c.in.Clear();
  if (InFlight(c)) {
    io_uring_sqe* sqe = Sqe();
    io_uring_prep_cancel_fd(sqe, c.fd, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(sqe, UserData(kIgnore));
  }
  MaybeFree(c);
}

void Reactor::Impl::MaybeFree(Connection& c) {
  if (InFlight(c)) return;
  close(c.fd);
  DetachRing(c);
  c.handler.reset();
  // The slot is reused, never freed, so it must give back what this connection's output
  // grew to. Swapped, not assigned: libstdc++'s move-assignment of an empty string keeps
  // the old buffer.
  std::string().swap(c.out);
  std::string().swap(c.sending);
  c.peer.clear();
  c.sent = 0;
  c.fd = -1;
  c.in_use = false;
  c.phase = Phase::kOpen;
  c.receive = Receive::kStopped;
  c.arms = 0;
  c.input_paused = c.output_blocked = false;
  // Its entry in output_list_ (if any) names the old generation and will be skipped; the
  // flag must not make the slot's next connection think it is queued already.
  c.in_output_list = false;
  ++c.generation;
  free_slots_.push_back(c.slot);
  --live_;
  if (config_.total_connections) config_.total_connections->Release();
}

}  // namespace ringside
