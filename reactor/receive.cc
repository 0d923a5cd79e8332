// A connection's receive: the state machine of reactor_impl.h's Receive, with
// UpdateReceive as the one place that decides whether a receive should be in flight.
//
// Completions move the state (SettleReceive), deliver bytes to the handler, then ask
// UpdateReceive. A connection wants input while it is open, its handler has not paused
// it, its unsent output is under the high-water mark and it holds at most
// input_high_water unconsumed bytes: so a paused or flooding connection stops receiving
// instead of buffering without bound. A connection's own ring (incremental mode) also runs
// dry (ENOBUFS) while its handler holds every buffer; no connection keeps a buffer of the
// shared ring past its handler call (InputStream::Unpin).
//
// A connection that cannot have a ring of its own (AcquireRing: no bgid left, over the
// budget, or the kernel refused the ring's locked memory) receives into the shared ring,
// which incremental mode keeps for this; so does an idle connection re-attaching.
#include <poll.h>

#include "absl/strings/str_cat.h"
#include "ringside/reactor/reactor_impl.h"

namespace ringside {

RingId Reactor::Impl::AcquireRing() {
  absl::StatusOr<RingId> own = manager_->AttachRing();
  if (own.ok()) return *own;
  ++totals_.shared_ring_fallbacks;
  shared_ring_log_.Write([&] {
    return absl::StrCat("reactor ", config_.id, ": connections served on the shared ring, "
                        "without a ring of their own (", totals_.shared_ring_fallbacks,
                        " in all): ", own.status().message());
  });
  return manager_->shared();
}

bool Reactor::Impl::WantsInput(const Connection& c) const {
  switch (c.phase) {
    case Phase::kOpen:
      // Paused input may keep its receive armed, so that a hand-off to a worker, which
      // usually comes back before the client sends more, saves a cancel and a re-arm. On a
      // ring of its own, while its bytes stay in the ring buffer they arrived in (the
      // kernel packs them behind each other): once they straddle into the next buffer the
      // stream would copy every further byte until the handler takes them, so the receive
      // stops there, having copied the pending bytes and what completes before the
      // cancel, about a ring's worth. On the shared ring, while it holds no byte: the
      // first bytes that arrive while paused (copied out of the shared buffer at once, as
      // every connection's pending bytes there are) stop it, so it copies what completes
      // before the cancel and keeps no shared buffer.
      return (!c.input_paused || (OwnsRing(c) ? !c.in.copying() : c.in.empty())) &&
             !c.output_blocked && c.in.size() <= config_.input_high_water;
    case Phase::kFlushing:
      return false;  // answer what was answered; what the client sends now is not read
    case Phase::kLingering:
      return true;  // read and drop until the client's EOF (at most kLingerDrainBytes)
    case Phase::kClosing:
      return false;
  }
  return false;
}

void Reactor::Impl::UpdateReceive(Connection& c) {
  if (!c.in_use || c.closing()) return;
  switch (c.receive) {
    case Receive::kStopped:
      if (c.ring_attached && WantsInput(c)) ArmRecv(c);
      return;
    case Receive::kArmed:
      if (!WantsInput(c)) CancelRecv(c, Receive::kStopping);
      return;
    case Receive::kStopping:
    case Receive::kDetaching:
    case Receive::kParked:
    case Receive::kPolling:
    case Receive::kEnded:
      return;  // the completion that ends the wait asks again
  }
}

bool Reactor::Impl::InFlight(const Connection& c) {
  return c.receive == Receive::kArmed || c.receive == Receive::kStopping ||
         c.receive == Receive::kDetaching || c.receive == Receive::kPolling || c.send_inflight();
}

void Reactor::Impl::ArmRecv(Connection& c) {
  io_uring_sqe* sqe = Sqe();
  io_uring_prep_recv_multishot(sqe, c.fd, nullptr, 0, 0);
  UseRegisteredFile(sqe, c);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = manager_->bgid(c.ring);
  io_uring_sqe_set_data64(sqe, UserData(kRecv, c.slot, c.generation));
  c.receive = Receive::kArmed;
  ++c.arms;
}

void Reactor::Impl::CancelRecv(Connection& c, Receive why) {
  io_uring_sqe* sqe = Sqe();
  io_uring_prep_cancel64(sqe, UserData(kRecv, c.slot, c.generation), 0);
  io_uring_sqe_set_data64(sqe, UserData(kIgnore));
  c.receive = why;
}

// The multishot receive ended (its completion had no IORING_CQE_F_MORE): where that leaves
// the connection. Returns true when an idle detach may now finish.
bool Reactor::Impl::SettleReceive(Connection& c, int32_t res) {
  const bool eof_or_error = res == 0 || (res < 0 && res != -ENOBUFS && res != -ECANCELED);
  const Receive was = c.receive;
  if (eof_or_error) {
    c.receive = Receive::kEnded;
  } else if (res == -ENOBUFS && was == Receive::kArmed &&
             manager_->ring(c.ring)->buffers_with_kernel() == 0) {
    // Parked until a buffer comes back. (If buffers came back between the kernel running
    // dry and this completion, they were published already: arm again instead, or no
    // later return would ever wake this receive.)
    c.receive = Receive::kParked;
    if (OnSharedRing(c)) parked_.push_back({c.slot, c.generation});
  } else {
    c.receive = Receive::kStopped;
  }
  // Bytes that came with the last completion mean the connection is not idle after all.
  return was == Receive::kDetaching && c.receive == Receive::kStopped && res <= 0;
}

void Reactor::Impl::OnRecv(Connection& c, int32_t res, uint32_t flags) {
  BufferLease lease;
  if (res > 0) {
    lease = manager_->Receive(c.ring, res, flags);
    ++c.stats.recv_completions;
    ++totals_.recv_completions;
    c.stats.recv_bytes += static_cast<uint64_t>(res);
    if (flags & IORING_CQE_F_BUF_MORE) ++c.stats.buf_more_completions;
    c.last_activity_ms = now_ms_;
  } else if (res == -ENOBUFS) {
    ++c.stats.enobufs_stalls;
    ++totals_.enobufs_stalls;
  }
  // Settled before the handler runs: it may ask UpdateReceive, which must see the truth.
  const bool detach = !(flags & IORING_CQE_F_MORE) && SettleReceive(c, res);
  if (c.closing()) {
    lease.Reset();
    return MaybeFree(c);
  }
  if (res < 0 && res != -ENOBUFS && res != -ECANCELED) return Close(c);  // a socket error
  if (res == 0) {
    // EOF. What the client sent before it is still answered (half-close).
    if (c.phase == Phase::kLingering) return Close(c);
    return RunHandler(c);
  }
  if (lease.holds_buffer() && c.phase == Phase::kOpen) {
    c.in.Append(std::move(lease));
    return RunHandler(c);
  }
  lease.Reset();  // flushing or lingering: input after the last answered request is dropped
  if (c.phase == Phase::kLingering && c.stats.recv_bytes > c.linger_drain_limit) {
    // A client that keeps sending after our FIN does not get to make us read forever.
    return Close(c);
  }
  if (detach) return FinishDetach(c);
  UpdateReceive(c);
}

bool Reactor::Impl::Connection::can_hold_input() {
  if (!impl->OwnsRing(*this)) return impl->SharedRingCanLend();
  const BufferRing* r = impl->manager_->ring(ring);
  uint32_t held = 0;
  for (const BufferState& b : r->buffers()) held += b.readers > 0;
  return held * 2 <= r->config().entries;
}

// The shared ring belongs to every connection: the bytes a handler lends out may stay in
// its buffers (zero-copy, e.g. an echoed body) only while more than half of them are with
// the kernel; beyond that, lent bytes are copied, so no set of connections can hold the
// ring's buffers and starve the others.
bool Reactor::Impl::SharedRingCanLend() const {
  const BufferRing* shared = manager_->ring(manager_->shared());
  return shared->buffers_with_kernel() * 2 > shared->config().entries;
}

void Reactor::Impl::RunHandler(Connection& c) {
  if (c.awaiting_proxy_header && !TakeProxyHeader(c)) return;
  if (c.phase == Phase::kOpen && !c.input_paused && !c.in.empty()) {
    if (OnSharedRing(c)) c.in.set_pin_buffers(SharedRingCanLend());
    c.handler->OnInput(c);
  }
  if (c.receive == Receive::kEnded && c.phase == Phase::kOpen && !c.input_paused) {
    // The client sent its last byte and the handler took all it could: what is left is
    // an incomplete request that can never complete. Answer what was answered, then close.
    c.phase = Phase::kFlushing;
  }
  AfterHandler(c);
}

void Reactor::Impl::AttachRing(Connection& c, RingId ring) {
  c.ring = ring;
  c.ring_attached = true;
  const BufferRingStats& s = manager_->ring(ring)->stats();
  c.ring_recycled_base = s.buffers_recycled;
  c.ring_retired_base = s.retired_bytes;
  c.ring_stale_base = s.stale_releases;
  // On the shared ring, RunHandler decides per call whether lent bytes may stay in its
  // buffers.
  c.in.set_pin_buffers(OwnsRing(c));
  if (OwnsRing(c)) {
    if (ring_owner_.size() <= ring.slot) ring_owner_.resize(ring.slot + 1);
    ring_owner_[ring.slot] = {c.slot, c.generation};
  }
}

void Reactor::Impl::DetachRing(Connection& c) {
  if (!c.ring_attached) return;
  if (BufferRing* r = manager_->ring(c.ring)) {
    const uint64_t recycled = r->stats().buffers_recycled - c.ring_recycled_base;
    const uint64_t retired = r->stats().retired_bytes - c.ring_retired_base;
    c.stats.buffers_recycled += recycled;
    c.stats.retired_bytes += retired;
    c.stats.stale_releases += r->stats().stale_releases - c.ring_stale_base;
    if (OwnsRing(c)) {
      detached_recycled_ += recycled;
      detached_retired_bytes_ += retired;
    }
  }
  manager_->DetachRing(c.ring);
  c.ring_attached = false;
}

// Idle (its timer decided, timers.cc): cancel the receive; FinishDetach gives the ring back
// once its last completion arrived. A connection on the shared ring has no ring to give back.
void Reactor::Impl::BeginDetach(Connection& c) {
  if (c.receive == Receive::kArmed && OwnsRing(c)) CancelRecv(c, Receive::kDetaching);
}

void Reactor::Impl::FinishDetach(Connection& c) {
  if (c.phase != Phase::kOpen || !c.in.empty() || c.in.holds_buffer() ||
      manager_->ring(c.ring)->has_readers()) {
    // Bytes arrived, or a lease still points into the ring, while the cancel was in flight.
    return UpdateReceive(c);
  }
  DetachRing(c);
  ++totals_.idle_detaches;
  io_uring_sqe* sqe = Sqe();
  io_uring_prep_poll_add(sqe, c.fd, POLLIN);
  UseRegisteredFile(sqe, c);
  io_uring_sqe_set_data64(sqe, UserData(kPoll, c.slot, c.generation));
  c.receive = Receive::kPolling;
}

void Reactor::Impl::OnPoll(Connection& c, int32_t res) {
  c.receive = Receive::kStopped;
  if (c.closing()) return MaybeFree(c);
  if (res < 0) return Close(c);
  AttachRing(c, AcquireRing());
  c.last_activity_ms = now_ms_;
  Reschedule(c);
  UpdateReceive(c);
}

void Reactor::Impl::OnBuffersReturned(RingId ring) {
  auto unpark = [this](Connection& c) {
    if (c.receive != Receive::kParked) return;
    c.receive = Receive::kStopped;
    UpdateReceive(c);
  };
  if (!manager_->IsShared(ring)) {
    if (ring.slot >= ring_owner_.size()) return;
    Connection* c = Find(ring_owner_[ring.slot].slot, ring_owner_[ring.slot].generation);
    if (c != nullptr && c->ring_attached && c->ring == ring) unpark(*c);
    return;
  }
  std::vector<SlotRef> parked;
  parked.swap(parked_);
  for (SlotRef ref : parked) {
    if (Connection* c = Find(ref.slot, ref.generation)) unpark(*c);
  }
}

void Reactor::Impl::ResumeInputs() {
  std::vector<SlotRef> resume;
  resume.swap(resume_input_);
  for (SlotRef ref : resume) {
    Connection* c = Find(ref.slot, ref.generation);
    if (c == nullptr || c->closing()) continue;
    RunHandler(*c);
    // Paused, its idle timeout and handler timer were on hold (timers.cc).
    if (c->in_use && !c->closing()) Reschedule(*c);
  }
}

}  // namespace ringside
