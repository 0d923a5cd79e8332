// timer_wheel.h: a hierarchical timing wheel over millisecond deadlines.
//
// Timers are intrusive nodes (TimerWheel::Timer) embedded in what they time, so arming and
// cancelling allocate nothing and are O(1): a timer is linked into the slot of the level
// its deadline falls in. Eleven levels of 64 slots cover every uint64_t deadline: level k
// holds the timers whose deadline first differs from the wheel's time in its k-th group
// of six bits, so level 0 is the current 64 ms, level 1 the current 4 s, level 2 the
// current 4.4 minutes, and so on. Advance() takes the occupied slots that came due in time
// order (a bitmap per level finds them, so empty stretches cost nothing): a level-0 slot's
// timers fire; a higher slot's timers move down to the level their deadline now falls in
// (each timer moves at most ten times in its life, and a timer of a few seconds once or
// twice). The work of an Advance is the slots and timers that came due, never the number
// of timers armed.
//
//   TimerWheel wheel(now_ms);
//   struct Session { TimerWheel::Timer timer; ... };
//   wheel.Arm(&session.timer, now_ms + 5000);       // O(1); arming again moves it
//   wheel.Cancel(&session.timer);                   // O(1); no-op when not armed
//   wheel.Advance(NowMs(), [](TimerWheel::Timer* t) { ... });  // fires what is due
//   const uint64_t wake = wheel.NextDeadline();     // when Advance may have work next
//
// Order: an Advance fires its timers in deadline order (ties in an unspecified order; a
// deadline before the wheel's time counts as that time), each exactly once, after
// unlinking it (so the callback may re-arm it). A timer armed or re-armed from a callback
// with a deadline already passed fires on the next Advance, not in the current one, so a
// callback cannot keep an Advance going. Timers are never early: they fire on the first
// Advance whose `now` reaches their deadline. A deadline of kNever never comes.
//
// NextDeadline() is a lower bound: at most the earliest deadline armed, and never before
// it where that timer is on level 0. A timer on a higher level is reported at the start of
// its slot, where it moves down; that costs a wake-up that fires nothing, at most one per
// occupied slot and level, shared by every timer in the slot.
//
// Thread-compatible. A Timer must not be destroyed or moved while armed (Cancel it first),
// and belongs to at most one wheel at a time. Destroying the wheel leaves its timers'
// nodes dangling: cancel them first if they outlive it.
#ifndef RINGSIDE_REACTOR_TIMER_WHEEL_H_
#define RINGSIDE_REACTOR_TIMER_WHEEL_H_

#include <array>
#include <cstddef>
#include <cstdint>

namespace ringside {

class TimerWheel {
 public:
  static constexpr uint64_t kNever = UINT64_MAX;
  static constexpr int kSlotBits = 6;
  static constexpr int kSlots = 1 << kSlotBits;
  static constexpr int kLevels = (64 + kSlotBits - 1) / kSlotBits;  // 11: every uint64_t

  // Doubly linked, circular: a slot's list head is a Link of its own.
  struct Link {
    Link* prev = this;
    Link* next = this;
  };

  class Timer : private Link {
   public:
    Timer() = default;
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;

    bool armed() const { return where_ != kUnarmed; }
    // The deadline it was last armed with (meaningful while armed).
    uint64_t deadline() const { return deadline_; }

   private:
    friend class TimerWheel;
    static constexpr int16_t kUnarmed = -1;
    static constexpr int16_t kDue = -2;  // on the list an Advance is firing
    uint64_t deadline_ = 0;
    int16_t where_ = kUnarmed;  // level * kSlots + slot, or kDue / kUnarmed
  };

  struct Stats {
    uint64_t armed = 0;    // timers armed now
    uint64_t fired = 0;    // callbacks run, since the wheel was made
    uint64_t cascaded = 0; // timers moved down a level
    uint64_t slots_taken = 0;  // occupied slots Advance took (fired or moved down)
  };

  // `now`: the wheel's time at the start; deadlines before it are due at once.
  explicit TimerWheel(uint64_t now);
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  // Arms `t` (moving it if armed) to fire at the first Advance with now >= deadline.
  void Arm(Timer* t, uint64_t deadline);
  // Disarms `t`; a no-op if it is not armed. Allowed from a callback, for any timer.
  void Cancel(Timer* t);

  // Fires every timer whose deadline is at or before `now`, calling fire(Timer*) for each
  // once it is unlinked (it may Arm or Cancel any timer, this one included). Returns the
  // number fired. A `now` before the wheel's time counts as the wheel's time.
  template <typename Fire>
  size_t Advance(uint64_t now, Fire&& fire) {
    Link due;
    Collect(now, &due);
    size_t fired = 0;
    while (due.next != &due) {
      Timer* t = static_cast<Timer*>(due.next);
      Unlink(t);
      t->where_ = Timer::kUnarmed;
      --stats_.armed;
      ++stats_.fired;
      ++fired;
      fire(t);
    }
    return fired;
  }

  // The earliest time at which Advance may have something to do, kNever when no timer is
  // armed (see the header comment: a lower bound, possibly the start of a slot to move).
  uint64_t NextDeadline() const;

  uint64_t now() const { return now_; }
  const Stats& stats() const { return stats_; }
  size_t armed() const { return stats_.armed; }

 private:
  static void LinkBefore(Link* at, Link* node);
  static void Unlink(Link* node);
  // Links `t` at the level and slot its deadline falls in relative to now_, or at the
  // current level-0 slot if it is due already.
  void Place(Timer* t);
  // Moves every due timer (cascading higher slots as their time comes) onto `due`, in
  // deadline order, and sets now_ to max(now_, now).
  void Collect(uint64_t now, Link* due);
  // The first occupied slot at `level` (its index) and the time it starts, or false.
  bool FirstSlot(int level, int* slot, uint64_t* start) const;

  uint64_t now_;
  std::array<uint64_t, kLevels> occupied_{};  // bit s: slot s of that level has timers
  std::array<Link, kLevels * kSlots> slots_;
  Stats stats_;
};

}  // namespace ringside

#endif  // RINGSIDE_REACTOR_TIMER_WHEEL_H_
