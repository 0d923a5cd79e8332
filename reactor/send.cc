// A connection's output and end: queue what handlers produced, send it (one send in flight
// per connection; a partial send resumes), stop reading while too much is unsent, then
// linger (write side shut, reading until the client's EOF) and close.
#include <sys/socket.h>
#include <unistd.h>

#include <utility>

#include "ringside/reactor/reactor_impl.h"

namespace ringside {

void Reactor::Impl::AfterHandler(Connection& c) {
  if (c.phase == Phase::kFlushing) c.in.Clear();
  if (!c.in_output_list && (!c.out.empty() || c.phase == Phase::kFlushing)) {
    c.in_output_list = true;
    output_list_.push_back({c.slot, c.generation});
  }
  if (!c.send_inflight() && !c.out.empty()) {
    c.send_progress_ms = now_ms_;
    if (config_.send_timeout_ms > 0) ScheduleCheck(c, now_ms_ + config_.send_timeout_ms);
  }
  if (!c.output_blocked &&
      (c.unsent() > config_.output_high_water ||
       (!c.out.empty() && pool_.available() == 0))) {
    // A client that does not read must not grow our memory, nor take every output block
    // of the reactor: stop reading until its output drains.
    c.output_blocked = true;
    ++totals_.backpressure_pauses;
  }
  // The shared ring belongs to every connection: none keeps a buffer of it past its turn.
  if (OnSharedRing(c)) c.in.Unpin();
  if (c.ring_idle_after_input && c.in.empty()) {
    c.ring_idle_after_input = false;
    Reschedule(c);
  }
  UpdateReceive(c);
}

void Reactor::Impl::FlushOutputs() {
  for (SlotRef ref : output_list_) {
    Connection* c = Find(ref.slot, ref.generation);
    if (c == nullptr) continue;
    c->in_output_list = false;
    if (c->closing()) continue;
    if (!c->send_inflight()) StartSend(*c);
  }
  output_list_.clear();
}

// One send (sendmsg when the chain has several runs) of as much of the chain as the slot's
// iovecs cover; OnSend starts the next.
void Reactor::Impl::StartSend(Connection& c) {
  if (c.out.empty()) {
    if (c.phase == Phase::kFlushing) BeginLinger(c);
    return;
  }
  if (free_send_slots_.empty()) free_send_slots_.push_back(std::make_unique<SendSlot>());
  c.send = std::move(free_send_slots_.back());
  free_send_slots_.pop_back();
  SendSlot& s = *c.send;
  const int iovecs = c.out.FillIovecs(s.iov, SendSlot::kIovecs);
  if (!c.registered_file && c.stats.bytes_sent > 0 && c.slot < registered_files_) {
    // Into the registered file table from its second send on: a connection that answers
    // once and closes (a new connection per request) would pay two table updates for one
    // descriptor lookup saved. The multishot receive armed before keeps its file.
    c.registered_file = true;
    UpdateFileTable(c.slot, c.fd);
  }
  io_uring_sqe* sqe = Sqe();
  if (iovecs == 1) {
    // One contiguous run (a batch of responses in one block, or one lease): a plain send
    // spares the kernel importing a msghdr and an iovec.
    io_uring_prep_send(sqe, c.fd, s.iov[0].iov_base, s.iov[0].iov_len, MSG_NOSIGNAL);
  } else {
    s.message = msghdr{};
    s.message.msg_iov = s.iov;
    s.message.msg_iovlen = static_cast<size_t>(iovecs);
    io_uring_prep_sendmsg(sqe, c.fd, &s.message, MSG_NOSIGNAL);
  }
  UseRegisteredFile(sqe, c);
  io_uring_sqe_set_data64(sqe, UserData(kSend, c.slot, c.generation));
}

void Reactor::Impl::OnSend(Connection& c, int32_t res) {
  // A few are kept for the next sends; a burst's worth is not kept for ever.
  if (free_send_slots_.size() < kKeptSendSlots) free_send_slots_.push_back(std::move(c.send));
  c.send.reset();
  if (c.closing()) return MaybeFree(c);
  if (res < 0) return Close(c);
  c.out.Consume(static_cast<size_t>(res));
  c.stats.bytes_sent += static_cast<uint64_t>(res);
  c.last_activity_ms = now_ms_;
  if (res > 0) c.send_progress_ms = now_ms_;
  if (!c.out.empty() && config_.send_timeout_ms > 0) {
    ScheduleCheck(c, c.send_progress_ms + config_.send_timeout_ms);
  }
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
  c.linger_drain_limit = c.stats.recv_bytes + kLingerDrainBytes;
  c.last_activity_ms = now_ms_;
  c.linger_deadline_ms = now_ms_ + kLingerMaxMs;
  ++lingering_;
  ScheduleCheck(c, c.last_activity_ms + kLingerMs);
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
  c.handler->OnClose();
  c.in.Clear();
  if (InFlight(c)) {
    io_uring_sqe* sqe = Sqe();
    // By the descriptor, open until MaybeFree, whether or not the socket is in the file
    // table: the kernel matches the operations by their file, so this cancels those issued
    // on the table's entry too, and the receive armed before the socket entered it.
    io_uring_prep_cancel_fd(sqe, c.fd, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(sqe, UserData(kIgnore));
  }
  MaybeFree(c);
}

void Reactor::Impl::MaybeFree(Connection& c) {
  if (InFlight(c)) return;
  // The reactor's totals keep what the connection counted; snapshots add the open ones'.
  totals_.requests += c.stats.requests;
  totals_.recv_bytes += c.stats.recv_bytes;
  totals_.bytes_sent += c.stats.bytes_sent;
  totals_.buf_more_completions += c.stats.buf_more_completions;
  // The table's reference keeps the socket open until the update is issued, at this
  // iteration's submit.
  if (c.registered_file) UpdateFileTable(c.slot, -1);
  c.registered_file = false;
  close(c.fd);
  DetachRing(c);
  c.handler.reset();
  // The output chain gives back every block and lease, whether the slot keeps its
  // Connection for the next one or frees it (slots.cc).
  c.out.Clear();
  c.peer.clear();
  c.socket_peer.reset();
  c.fd = -1;
  c.in_use = false;
  c.phase = Phase::kOpen;
  c.receive = Receive::kStopped;
  c.arms = 0;
  c.input_paused = c.output_blocked = false;
  c.ring_idle_after_input = false;
  // Its entry in output_list_ (if any) will be skipped (not in use, and the slot's next
  // connection gets a new generation); the flag must not make that connection think it is
  // queued already.
  c.in_output_list = false;
  wheel_.Cancel(&c);
  // Recycled at the end of this iteration, when no reference to it is left (slots.cc).
  closed_slots_.push_back(c.slot);
  --live_;
  if (config_.total_connections) config_.total_connections->Release();
}

}  // namespace ringside
