#include "ringside/reactor/timer_wheel.h"

namespace ringside {
namespace {

// now_ with the bits of groups 0..level cleared: where the current block of `level` starts.
uint64_t BlockBase(uint64_t now, int level) {
  const int bits = (level + 1) * TimerWheel::kSlotBits;
  return bits >= 64 ? 0 : (now >> bits) << bits;
}

}  // namespace

TimerWheel::TimerWheel(uint64_t now) : now_(now) {}

void TimerWheel::LinkBefore(Link* at, Link* node) {
  node->prev = at->prev;
  node->next = at;
  at->prev->next = node;
  at->prev = node;
}

void TimerWheel::Unlink(Link* node) {
  node->prev->next = node->next;
  node->next->prev = node->prev;
  node->prev = node->next = node;
}

void TimerWheel::Place(Timer* t) {
  int level = 0;
  int slot = static_cast<int>(now_ & (kSlots - 1));  // due already: the current slot
  if (t->deadline_ > now_) {
    // The highest group of six bits in which the deadline differs from now_.
    level = (63 - __builtin_clzll(t->deadline_ ^ now_)) / kSlotBits;
    slot = static_cast<int>((t->deadline_ >> (level * kSlotBits)) & (kSlots - 1));
  }
  const int where = level * kSlots + slot;
  LinkBefore(&slots_[where], t);
  t->where_ = static_cast<int16_t>(where);
  occupied_[level] |= uint64_t{1} << slot;
}

void TimerWheel::Arm(Timer* t, uint64_t deadline) {
  Cancel(t);
  t->deadline_ = deadline;
  Place(t);
  ++stats_.armed;
}

void TimerWheel::Cancel(Timer* t) {
  if (t->where_ == Timer::kUnarmed) return;
  const int where = t->where_;
  Unlink(t);
  t->where_ = Timer::kUnarmed;
  --stats_.armed;
  if (where >= 0 && slots_[where].next == &slots_[where]) {
    occupied_[where / kSlots] &= ~(uint64_t{1} << (where % kSlots));
  }
}

bool TimerWheel::FirstSlot(int level, int* slot, uint64_t* start) const {
  const uint64_t bits = occupied_[level];
  if (bits == 0) return false;
  // Every occupied slot of a level lies at or after the current one (no wrap-around):
  // a slot is taken as soon as the time reaches its start.
  *slot = __builtin_ctzll(bits);
  *start = BlockBase(now_, level) | (uint64_t(*slot) << (level * kSlotBits));
  return true;
}

uint64_t TimerWheel::NextDeadline() const {
  // A lower level's timers all come before a higher level's: they share the higher groups
  // of bits with now_, which the higher level's do not.
  for (int level = 0; level < kLevels; ++level) {
    int slot;
    uint64_t start;
    if (FirstSlot(level, &slot, &start)) return start;
  }
  return kNever;
}

void TimerWheel::Collect(uint64_t now, Link* due) {
  if (now < now_) now = now_;
  for (;;) {
    int level = 0;
    while (level < kLevels && occupied_[level] == 0) ++level;
    if (level == kLevels) break;
    int slot;
    uint64_t start;
    FirstSlot(level, &slot, &start);
    if (start > now) break;
    if (start > now_) now_ = start;
    Link& head = slots_[level * kSlots + slot];
    occupied_[level] &= ~(uint64_t{1} << slot);
    ++stats_.slots_taken;
    // Detach the slot's list, then fire (level 0) or move down each of its timers.
    Link* first = head.next;
    Link* last = head.prev;
    head.prev = head.next = &head;
    first->prev = last;  // a circular list without a head, walked from `first`
    last->next = first;
    Link* node = first;
    bool more = true;
    while (more) {
      Link* next = node->next;
      more = node != last;
      Timer* t = static_cast<Timer*>(node);
      if (level == 0) {
        LinkBefore(due, t);
        t->where_ = Timer::kDue;
      } else {
        ++stats_.cascaded;
        Place(t);  // its deadline is within this slot: a lower level, or due now
      }
      node = next;
    }
  }
  now_ = now;
}

}  // namespace ringside
