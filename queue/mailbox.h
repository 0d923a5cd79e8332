// mailbox.h: a consumer thread's inbox — an MpscQueue plus the wake-up protocol around it.
//
// A reactor sleeps in io_uring_enter and a worker on a futex; other threads hand them work
// (buffer releases, tasks, batches) through a queue and must wake them, but a wake-up is a
// system call (an eventfd write, a futex wake), so it should cost one per batch or less,
// not one per item. Mailbox is that protocol, once. A `pending` flag is set while the
// consumer is sure to look at the queue again before it sleeps; a producer wakes the
// consumer only when it turns the flag from false to true. When the flag is cleared is the
// policy:
//  - kAfterEachDrain (the default): Drain clears it BEFORE it drains, so an item pushed
//    after the clear wakes the consumer again and none can sit in the queue while it
//    sleeps. One wake-up per drain that found work pushed after it.
//  - kWhenAsleep: only ReadyToSleep clears it, when the consumer is about to sleep, and
//    looks at the queue once more in the same step: an item pushed before the clear is
//    seen by that look, one pushed after it wakes the consumer. A busy consumer (a reactor
//    under load, a worker sharing the reactor's core) is never woken at all. The consumer
//    must call ReadyToSleep before every sleep.
// A full queue never drops an item: the producer wakes the consumer (so it drains) and
// retries, counting the retries.
//
//   Mailbox<uint64_t> releases(65536, [&] { eventfd_write(wake_fd, 1); });
//   releases.Push(word);                            // any thread but the consumer
//   releases.Drain([](uint64_t&& w) { Apply(w); }); // the consumer, once per loop
//
//   Mailbox<Task> tasks(1024, [&] { WakeThread(); }, WakePolicy::kWhenAsleep);
//   // the consumer's loop: drain, then sleep only if nothing came meanwhile
//   tasks.Drain(Run);
//   if (tasks.ReadyToSleep()) Sleep();
//
// PushQuietly() delivers without waking a sleeping consumer, and Wake() wakes it later:
// a producer posting a burst wakes it once, after the burst.
//
// The consumer must not Push to its own mailbox when it may be full (it would wait for
// itself): it uses TryPush and keeps what does not fit.
//
// Thread-safety: Push, PushQuietly, TryPush and Wake from any thread; Drain and
// ReadyToSleep from the one consumer thread; full_retries and queue() (for its stats) from
// any thread.
#ifndef RINGSIDE_QUEUE_MAILBOX_H_
#define RINGSIDE_QUEUE_MAILBOX_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <thread>
#include <utility>

#include "ringside/queue/mpsc_queue.h"

namespace ringside {

// When a Mailbox's consumer counts as asleep (see above).
enum class WakePolicy : uint8_t { kAfterEachDrain, kWhenAsleep };

template <typename T>
class Mailbox {
 public:
  Mailbox(size_t capacity, std::function<void()> wake,
          WakePolicy policy = WakePolicy::kAfterEachDrain)
      : queue_(capacity), wake_(std::move(wake)), policy_(policy) {}
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  // Delivers `item`, waiting (yielding, never blocking the consumer) while the queue is full.
  void Push(T item) {
    PushQuietly(std::move(item));
    Wake();
  }

  // Push() that leaves a sleeping consumer asleep until Wake() (or another Push).
  void PushQuietly(T item) {
    while (!queue_.TryPush(std::move(item))) {
      full_retries_.fetch_add(1, std::memory_order_relaxed);
      wake_();  // only the consumer makes room
      std::this_thread::yield();
    }
  }

  // Wakes the consumer unless it is sure to look at the queue before it sleeps.
  void Wake() {
    if (!pending_.exchange(true, std::memory_order_acq_rel)) wake_();
  }

  // Delivers `item` if there is room; a failed push changes nothing and wakes no one.
  bool TryPush(T& item) {
    if (!queue_.TryPush(item)) return false;
    Wake();
    return true;
  }

  // Consumer: calls fn(T&&) for every item delivered so far, and for items pushed while it
  // runs (fn may push to this mailbox through TryPush). Returns how many.
  template <typename F>
  size_t Drain(F&& fn) {
    if (policy_ == WakePolicy::kAfterEachDrain) {
      // Cleared before draining: an item pushed after this store wakes the consumer again.
      pending_.store(false, std::memory_order_seq_cst);
    }
    return queue_.Drain(std::forward<F>(fn));
  }

  // Consumer, just before it sleeps: true if it may, since nothing is waiting and every
  // push from now on wakes it; false if items came in, which it should drain first (it
  // counts as awake again). Either policy. Both this and Wake() exchange the flag, so
  // they are ordered:
  // if a producer's exchange came first, this one reads it (acquire) and the item pushed
  // before it is in the size looked at; if this one came first, the producer's reads
  // false and wakes.
  bool ReadyToSleep() {
    pending_.exchange(false, std::memory_order_acq_rel);
    if (queue_.ApproxSize() == 0) return true;
    // An exchange, not a store: a store would end the release sequences of the producers'
    // exchanges before it, and the next ReadyToSleep must still synchronize with them.
    pending_.exchange(true, std::memory_order_acq_rel);
    return false;
  }

  uint64_t full_retries() const { return full_retries_.load(std::memory_order_relaxed); }
  const MpscQueue<T>& queue() const { return queue_; }

 private:
  MpscQueue<T> queue_;
  const std::function<void()> wake_;
  const WakePolicy policy_;
  std::atomic<bool> pending_{false};
  std::atomic<uint64_t> full_retries_{0};
};

}  // namespace ringside

#endif  // RINGSIDE_QUEUE_MAILBOX_H_
