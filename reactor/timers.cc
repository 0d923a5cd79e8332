// The sweep: the reactor's timers. It runs when the earliest deadline it may have to act on
// comes due (ScheduleSweep), and gives idle rings back, closes idle and lingering
// connections, fires handler timers and drives shutdown.
#include <algorithm>

#include "reactor/reactor_impl.h"

namespace ringside {

// How often sweeps run while something could come due: ring detaches and lingering
// closes need about twice per period, idle timeouts are coarser. Nothing pending: never,
// so an idle reactor sleeps without a timeout.
uint64_t Reactor::Impl::SweepPeriodMs() const {
  if (stopping_) return kStoppingSweepMs;
  if ((manager_->incremental() && live_ > 0) || lingering_ > 0) {
    return std::max<uint64_t>(std::min<uint64_t>(config_.ring_idle_ms, kLingerMs) / 2, 5);
  }
  if (live_ > 0 && config_.idle_timeout_ms > 0) {
    return std::max<uint64_t>(config_.idle_timeout_ms / 4, 5);
  }
  return kNever;
}

void Reactor::Impl::Sweep(uint64_t now) {
  next_sweep_ms_ = kNever;
  for (auto& slot : connections_) {
    Connection& c = *slot;
    if (!c.in_use || c.closing()) continue;
    const uint64_t quiet = now - c.last_activity_ms;
    if (c.phase == Phase::kLingering) {
      if (quiet >= kLingerMs) Close(c);
      continue;
    }
    const bool quiescent = c.unsent() == 0 && !c.send_inflight();
    if (!quiescent && config_.send_timeout_ms > 0 &&
        now - c.send_progress_ms >= config_.send_timeout_ms) {
      // A client that stopped reading: its output made no progress for the send timeout.
      ++totals_.send_timeouts;
      Close(c);
      continue;
    }
    if (!quiescent && config_.send_timeout_ms > 0) {
      ScheduleSweep(c.send_progress_ms + config_.send_timeout_ms);
    }
    // Not Close(): the kernel may still hold sent bytes the client has not taken, and a
    // close() with unread input resets the connection and drops them. Linger instead: FIN
    // after those bytes; the client's EOF or the shutdown deadline ends it. A connection
    // whose handler has work in flight elsewhere (input paused) finishes it first.
    if (stopping_ && quiescent && !c.input_paused) {
      BeginLinger(c);
      continue;
    }
    if (config_.idle_timeout_ms > 0 && quiescent && !c.input_paused &&
        quiet >= config_.idle_timeout_ms) {
      ++totals_.idle_timeouts;
      Close(c);
      continue;
    }
    if (c.timer_deadline_ms != 0 && !c.input_paused) {
      if (now >= c.timer_deadline_ms) {
        c.timer_deadline_ms = 0;
        ++totals_.handler_timeouts;
        c.handler->OnTimeout(c);
        AfterHandler(c);
      } else {
        ScheduleSweep(c.timer_deadline_ms);
      }
    }
    if (manager_->incremental() && c.ring_attached && c.receive == Receive::kArmed &&
        c.phase == Phase::kOpen && quiet >= config_.ring_idle_ms && quiescent &&
        c.in.empty() && !c.in.holds_buffer() && !manager_->ring(c.ring)->has_readers()) {
      BeginDetach(c);
    }
  }
  const uint64_t period = SweepPeriodMs();
  if (period != kNever) ScheduleSweep(now + period);
}

void Reactor::Impl::BeginShutdown() {
  stopping_ = true;
  shutdown_deadline_ms_ = now_ms_ + config_.shutdown_timeout_ms;
  next_sweep_ms_ = 0;
  StopAccepting();
  for (auto& c : connections_) {
    if (c->in_use && !c->closing() && (c->unsent() > 0 || c->send_inflight())) {
      c->CloseAfterFlush();
    }
  }
}

}  // namespace ringside
