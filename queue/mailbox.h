// mailbox.h: a consumer thread's inbox — an MpscQueue plus the wake-up protocol around it.
//
// A reactor sleeps in io_uring_enter; other threads hand it work (buffer releases, tasks)
// through a queue and must wake it, but a wake-up is a syscall (an eventfd write), so it
// should cost one per batch, not one per item. Mailbox is that protocol, once: a producer
// wakes the consumer only when it turns the `pending` flag from false to true; the consumer
// clears the flag BEFORE it drains, so an item pushed after the clear wakes it again and
// no item can sit in the queue while the consumer sleeps. A full queue never drops an
// item: the producer wakes the consumer (so it drains) and retries, counting the retries.
//
//   Mailbox<uint64_t> releases(65536, [&] { eventfd_write(wake_fd, 1); });
//   releases.Push(word);                            // any thread but the consumer
//   releases.Drain([](uint64_t&& w) { Apply(w); }); // the consumer, once per loop
//
// The consumer must not Push to its own mailbox when it may be full (it would wait for
// itself): it uses TryPush and keeps what does not fit.
//
// Thread-safety: Push and TryPush from any thread; Drain from the one consumer thread;
// full_retries and queue() (for its stats) from any thread.
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

template <typename T>
class Mailbox {
 public:
  Mailbox(size_t capacity, std::function<void()> wake)
      : queue_(capacity), wake_(std::move(wake)) {}
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  // Delivers `item`, waiting (yielding, never blocking the consumer) while the queue is full.
  void Push(T item) {
    while (!queue_.TryPush(item)) {
      full_retries_.fetch_add(1, std::memory_order_relaxed);
      wake_();
      std::this_thread::yield();
    }
    if (!pending_.exchange(true, std::memory_order_acq_rel)) wake_();
  }

  // Delivers `item` if there is room; a failed push changes nothing and wakes no one.
  bool TryPush(T& item) {
    if (!queue_.TryPush(item)) return false;
    if (!pending_.exchange(true, std::memory_order_acq_rel)) wake_();
    return true;
  }

  // Consumer: calls fn(T&&) for every item delivered so far, and for items pushed while it
  // runs (fn may push to this mailbox through TryPush). Returns how many.
  template <typename F>
  size_t Drain(F&& fn) {
    // Cleared before draining: an item pushed after this store wakes the consumer again.
    pending_.store(false, std::memory_order_seq_cst);
    return queue_.Drain(std::forward<F>(fn));
  }

  uint64_t full_retries() const { return full_retries_.load(std::memory_order_relaxed); }
  const MpscQueue<T>& queue() const { return queue_; }

 private:
  MpscQueue<T> queue_;
  const std::function<void()> wake_;
  std::atomic<bool> pending_{false};
  std::atomic<uint64_t> full_retries_{0};
};

}  // namespace ringside

#endif  // RINGSIDE_QUEUE_MAILBOX_H_
