// The reactor's timers: one per connection, on a timing wheel (timer_wheel.h), armed at the
// earliest time one of the connection's deadlines may come due. When it fires, the
// connection is looked at (CheckConnection: linger, send timeout, PROXY header timeout,
// shutdown linger, idle
// timeout, handler timer, idle ring detach) and its timer re-armed at the next such time
// (NextCheck). A loop iteration does work only for the timers that came due: nothing walks
// the connection table. Deadlines are rounded up to kTimerTickMs, so a tick's deadlines
// share one wake-up. The output pool's decay (DecayOutputPool) runs here too, once a
// second while the pool caches more blocks than it keeps.
//
// Re-arming is lazy. Activity (a receive, a send) only moves deadlines later and touches
// no timer: the timer fires at the old time, finds nothing due, and re-arms at the new one
// (at most once per timeout period of an active connection). Changes that bring a
// deadline forward re-arm at once (ScheduleCheck, Reschedule): a new connection, output
// waiting to be sent, a handler's ArmTimer, a linger, a ring re-attached, input resumed,
// shutdown.
#include <algorithm>

#include "ringside/reactor/reactor_impl.h"
#include "ringside/reactor/sockets.h"

namespace ringside {

// A deadline that came due while something else holds the connection back (output still
// unsent, a lease on its ring, ...) is looked at again this long after, as the periodic
// sweep this replaced did: a quarter of the timeout, at least 5 ms.
uint64_t Reactor::Impl::RecheckMs(uint64_t timeout_ms) const {
  return std::max<uint64_t>(timeout_ms / 4, 5);
}

void Reactor::Impl::RunTimers(uint64_t now) {
  if (wheel_.NextDeadline() > now) return;
  wheel_.Advance(now, [this, now](TimerWheel::Timer* timer) {
    OnConnectionTimer(*static_cast<Connection*>(timer), now);
  });
}

void Reactor::Impl::DecayOutputPool(uint64_t now) {
  if (output_decay_ms_ == kNever) {
    // Blocks beyond those kept were released: they are freed once an interval goes by
    // without the pool needing them. The wake-up is asked for only while there are some.
    if (pool_.blocks_cached() > pool_.retain_blocks()) output_decay_ms_ = now + kOutputDecayMs;
    return;
  }
  if (now < output_decay_ms_) return;
  output_decay_ms_ = pool_.Decay() ? now + kOutputDecayMs : kNever;
}

void Reactor::Impl::OnConnectionTimer(Connection& c, uint64_t now) {
  ++totals_.timer_fires;
  if (!c.in_use || c.closing()) return;  // closing: its last completion frees it
  CheckConnection(c, now);
  if (c.in_use && !c.closing()) Reschedule(c);
}

void Reactor::Impl::Reschedule(Connection& c) {
  const uint64_t at = NextCheck(c);
  if (at != kNever) ScheduleCheck(c, at);
}

// What is due for `c` now, in the order the periodic sweep this replaced looked at it.
void Reactor::Impl::CheckConnection(Connection& c, uint64_t now) {
  const uint64_t quiet = now - c.last_activity_ms;
  if (c.phase == Phase::kLingering) {
    // Stopping, the linger also ends after a shorter quiet, once the client's kernel has
    // acknowledged every byte and the FIN: a client that keeps its socket open without
    // closing it would otherwise hold the stop for kLingerMs. Not sooner: a client still
    // pipelining requests would get a reset for them, which drops the responses it has
    // not read yet (tests/soak/shutdown_test).
    if (quiet >= kLingerMs || now >= c.linger_deadline_ms ||
        (stopping_ && quiet >= kStoppingLingerMs && AllSentAcknowledged(c.fd))) {
      Close(c);
    }
    return;
  }
  const bool quiescent = c.unsent() == 0 && !c.send_inflight();
  if (!quiescent && config_.send_timeout_ms > 0 &&
      now - c.send_progress_ms >= config_.send_timeout_ms) {
    // A client that stopped reading: its output made no progress for the send timeout.
    ++totals_.send_timeouts;
    return Close(c);
  }
  // Not Close(): the kernel may still hold sent bytes the client has not taken, and a
  // close() with unread input resets the connection and drops them. Linger instead: FIN
  // after those bytes; the client's EOF or the shutdown deadline ends it. A connection
  // whose handler has work in flight elsewhere (input paused) finishes it first.
  if (c.awaiting_proxy_header && now >= c.proxy_deadline_ms) {
    return RefuseProxy(c, &totals_.proxy_refused_incomplete,
                       "no complete header within the header timeout");
  }
  if (stopping_ && quiescent && !c.input_paused) return BeginLinger(c);
  if (config_.idle_timeout_ms > 0 && quiescent && !c.input_paused &&
      quiet >= config_.idle_timeout_ms) {
    ++totals_.idle_timeouts;
    return Close(c);
  }
  if (c.timer_deadline_ms != 0 && !c.input_paused && now >= c.timer_deadline_ms) {
    c.timer_deadline_ms = 0;
    ++totals_.handler_timeouts;
    c.handler->OnTimeout(c);
    return AfterHandler(c);  // the rest is looked at on its next check
  }
  if (OwnsRing(c) && c.receive == Receive::kArmed &&
      c.phase == Phase::kOpen && quiet >= config_.ring_idle_ms && quiescent &&
      c.in.empty() && !c.in.holds_buffer() && !manager_->ring(c.ring)->has_readers()) {
    BeginDetach(c);
  }
}

// The earliest time CheckConnection may have something to do for `c` as it stands now
// (never now itself: what was due has been done), or kNever. Deadlines that have passed
// but are held back by another condition are looked at again after RecheckMs.
uint64_t Reactor::Impl::NextCheck(Connection& c) {
  const uint64_t now = now_ms_;
  if (c.closing()) return kNever;
  if (c.phase == Phase::kLingering) {
    uint64_t at = std::min(c.last_activity_ms + kLingerMs, c.linger_deadline_ms);
    if (stopping_) {  // for the shorter quiet, then the acknowledgements
      at = std::min(at, std::max(c.last_activity_ms + kStoppingLingerMs, now + kStoppingSweepMs));
    }
    return std::max(at, now + 1);
  }
  uint64_t next = kNever;
  auto consider = [&](uint64_t at, uint64_t recheck_ms) {
    next = std::min(next, at > now ? at : now + recheck_ms);
  };
  const bool quiescent = c.unsent() == 0 && !c.send_inflight();
  if (!quiescent && config_.send_timeout_ms > 0) {
    // Due at the latest when the send timeout runs out; a send that makes progress moves it.
    consider(c.send_progress_ms + config_.send_timeout_ms, 1);
  }
  // While stopping, a connection not lingering yet is looked at every few ms until it can.
  if (stopping_) next = std::min(next, now + kStoppingSweepMs);
  if (c.awaiting_proxy_header) consider(c.proxy_deadline_ms, 1);
  if (!c.input_paused) {  // paused: ResumeInputs reschedules
    if (config_.idle_timeout_ms > 0) {
      // Unsent output holds it back; once sent, the activity clock is later than this.
      consider(c.last_activity_ms + config_.idle_timeout_ms, RecheckMs(config_.idle_timeout_ms));
    }
    if (c.timer_deadline_ms != 0) consider(c.timer_deadline_ms, 1);
  }
  if (OwnsRing(c) && c.phase == Phase::kOpen) {
    // Rings go back after ring_idle_ms quiet, once nothing holds them.
    const uint64_t at = c.last_activity_ms + config_.ring_idle_ms;
    if (at > now) {
      next = std::min(next, at);
    } else if (!c.in.empty()) {
      // Held by a partial request (slow heads): nothing changes until its handler takes
      // the input, and AfterHandler looks again then; no recheck meanwhile.
      c.ring_idle_after_input = true;
    } else {
      // Held by a lease, unsent output or a receive in transition: rechecked twice per
      // period (at most a second), as the sweep did.
      const uint64_t period = std::min<uint64_t>(config_.ring_idle_ms, kLingerMs);
      next = std::min(next, now + std::max<uint64_t>(period / 2, 5));
    }
  }
  return next;
}

void Reactor::Impl::BeginShutdown() {
  stopping_ = true;
  shutdown_deadline_ms_ = now_ms_ + config_.shutdown_timeout_ms;
  StopAccepting();
  // Once, over the table: every open connection is looked at from the next iteration on.
  for (auto& slot : connections_) {
    Connection* c = slot.get();
    if (c == nullptr || !c->in_use || c->closing()) continue;
    if (c->unsent() > 0 || c->send_inflight()) c->CloseAfterFlush();
    ScheduleCheck(*c, now_ms_);
  }
}

}  // namespace ringside
