// mpsc_queue.h: a bounded, lock-free, multi-producer single-consumer queue.
//
// The reactor owns one of these per thread: any thread pushes work for it (most often a
// packed 64-bit buffer-release word, hence MpscUlongQueue) and the reactor drains it on
// its own loop. Neither side ever blocks: a full queue makes TryPush return false and the
// producer decides what to do (retry, yield, count a stall).
//
//   ringside::MpscUlongQueue q(1024);
//   // any thread:
//   if (!q.TryPush(word)) { /* full: retry later */ }
//   // the consumer thread:
//   q.Drain([](uint64_t&& word) { Handle(word); });
//
// The design is Dmitry Vyukov's bounded MPMC array, where every cell carries a sequence
// number that says which position's item it holds, specialised for one consumer: the
// consumer owns its position outright (no CAS) and never writes to a cell, so cell lines
// only travel from producers to the consumer. It frees cells by publishing its position,
// every quarter of the capacity and at the end of each Drain batch. Producers judge
// fullness from a cached copy of that position and read the real one only when the copy
// says full; they claim a position with a CAS only after seeing room for it, so a push that
// fails on a full queue has changed nothing. The capacity is a power of two (a requested
// capacity is rounded up, minimum 2) so that a position maps to its cell with a mask.
//
// Thread safety: TryPush may be called from any number of threads at once. TryPop and
// Drain must be called from one consumer thread at a time (externally serialised if that
// thread changes). ApproxSize, HighWater and capacity may be called from any thread.
// ApproxSize and HighWater are snapshots: they can be stale by the time they return, and
// while a Drain batch runs they count up to a quarter of the capacity of items it has
// taken but not yet published; producers likewise see that space as still occupied. The
// queue is lock-free except that a producer preempted between claiming and filling a cell
// holds up the consumer at that cell until it resumes; later cells wait in FIFO order.
#ifndef RINGSIDE_QUEUE_MPSC_QUEUE_H_
#define RINGSIDE_QUEUE_MPSC_QUEUE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace ringside {

namespace mpsc_queue_internal {

// Positions written by different sides live on separate cache lines so that a producer's
// CAS does not invalidate the line the consumer is publishing to, and vice versa.
inline constexpr size_t kCacheLineSize = 64;

// The smallest power of two >= max(capacity, 2).
size_t RoundUpCapacity(size_t capacity);

}  // namespace mpsc_queue_internal

template <typename T>
class MpscQueue {
  // A cell is filled by exactly one producer and emptied by the consumer; moving the value
  // out must not throw, or an emptied cell could be left holding a half-moved object.
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "MpscQueue<T> requires a nothrow move constructor");

 public:
  // Rounds `capacity` up to a power of two, at least 2; capacity() reports the result.
  explicit MpscQueue(size_t capacity);
  ~MpscQueue();

  MpscQueue(const MpscQueue&) = delete;
  MpscQueue& operator=(const MpscQueue&) = delete;

  // Appends `value` unless the queue is full. Never blocks.
  bool TryPush(const T& value) {
    // A copy that may throw is made before claiming a cell, so that it cannot leave a
    // claimed, never-filled cell behind to stall the consumer.
    if constexpr (std::is_nothrow_copy_constructible_v<T>) {
      return Emplace(value);
    } else {
      return Emplace(T(value));
    }
  }
  bool TryPush(T&& value) { return Emplace(std::move(value)); }

  // Moves the oldest item into *out. Consumer only. False when empty, or when the oldest
  // claimed cell is not filled yet.
  bool TryPop(T* out) {
    return Drain([out](T&& value) { *out = std::move(value); }, 1) == 1;
  }

  // Calls fn(T&&) on up to `max` items in FIFO order and returns how many it delivered.
  // Consumer only. fn must not pop from this queue; it may push to it, but must not wait
  // for room, since only the consumer makes room. Freed cells go back to producers every
  // quarter of the capacity and when the batch ends, even if fn throws (the item fn was
  // given stays consumed).
  template <typename F>
  size_t Drain(F&& fn, size_t max = SIZE_MAX);

  // Items pushed (or being pushed) and not yet drained.
  size_t ApproxSize() const;
  // The largest ApproxSize a producer saw just before publishing its item.
  size_t HighWater() const { return high_water_.load(std::memory_order_relaxed); }
  size_t capacity() const { return mask_ + 1; }

 private:
  struct Cell {
    // position + 1 once the item of `position` is in place. Written only by producers:
    // the consumer frees a cell by advancing its own position instead.
    std::atomic<size_t> sequence;
    alignas(T) unsigned char storage[sizeof(T)];

    T* value() { return std::launder(reinterpret_cast<T*>(storage)); }
  };

  // Publishes the consumer's position when a Drain batch ends, also when fn throws.
  class PublishOnExit {
   public:
    PublishOnExit(std::atomic<size_t>* published, const size_t* position)
        : published_(published), position_(position) {}
    ~PublishOnExit() { published_->store(*position_, std::memory_order_release); }
    PublishOnExit(const PublishOnExit&) = delete;
    PublishOnExit& operator=(const PublishOnExit&) = delete;

   private:
    std::atomic<size_t>* published_;
    const size_t* position_;
  };

  // Constructs T from `value` in a claimed cell; T's constructor from U must not throw.
  template <typename U>
  bool Emplace(U&& value);

  // Reads the consumer's position and shares it with the other producers. Acquire pairs
  // with the consumer's release so that the items it has moved out of their cells are gone
  // before a producer reuses those cells; the release lets other producers inherit that.
  size_t RefreshConsumerView() {
    const size_t head = dequeue_position_.load(std::memory_order_acquire);
    consumer_view_.store(head, std::memory_order_release);
    return head;
  }

  void RaiseHighWater(size_t size) {
    size_t seen = high_water_.load(std::memory_order_relaxed);
    while (size > seen &&
           !high_water_.compare_exchange_weak(seen, size, std::memory_order_relaxed)) {
    }
  }

  // Read-only after construction; shared by everyone.
  const size_t mask_;
  const std::unique_ptr<Cell[]> cells_;

  // Producers' line: every push has just written it with its CAS, so the other two cost
  // nothing to read. consumer_view_ lags dequeue_position_ (racing producers may even move
  // it back), which is safe: an old consumer position only makes the queue look fuller.
  alignas(mpsc_queue_internal::kCacheLineSize) std::atomic<size_t> enqueue_position_{0};
  std::atomic<size_t> consumer_view_{0};
  std::atomic<size_t> high_water_{0};

  // Consumer's line. Producers read it only when their view says full or the high-water
  // mark might rise, so the consumer's stores normally hit its own cache. As the last
  // member of a cache-aligned class, it keeps the line to itself through tail padding.
  alignas(mpsc_queue_internal::kCacheLineSize) std::atomic<size_t> dequeue_position_{0};
};

// For the reactor: packed 64-bit buffer-release words (see buffers/release_word.h).
using MpscUlongQueue = MpscQueue<uint64_t>;

template <typename T>
MpscQueue<T>::MpscQueue(size_t capacity)
    : mask_(mpsc_queue_internal::RoundUpCapacity(capacity) - 1), cells_(new Cell[mask_ + 1]) {
  // Cell i first holds position i, so anything but i + 1 reads as empty.
  for (size_t i = 0; i <= mask_; ++i) {
    cells_[i].sequence.store(i, std::memory_order_relaxed);
  }
}

template <typename T>
MpscQueue<T>::~MpscQueue() {
  Drain([](T&&) {});
}

template <typename T>
template <typename U>
bool MpscQueue<T>::Emplace(U&& value) {
  const auto capacity = static_cast<std::ptrdiff_t>(mask_ + 1);
  size_t position = enqueue_position_.load(std::memory_order_relaxed);
  size_t head = consumer_view_.load(std::memory_order_acquire);
  for (;;) {
    // Signed: `position` may be older than `head`; the CAS below then fails and reloads it.
    if (static_cast<std::ptrdiff_t>(position - head) >= capacity) {
      head = RefreshConsumerView();
      // Still full. A stale `position` only understates how full, so this is real.
      if (static_cast<std::ptrdiff_t>(position - head) >= capacity) return false;
    }
    if (enqueue_position_.compare_exchange_weak(position, position + 1,
                                                std::memory_order_relaxed)) {
      break;
    }
  }
  Cell& cell = cells_[position & mask_];
  new (cell.storage) T(std::forward<U>(value));
  // `head` is at most the consumer's position, so this is an upper bound of the size;
  // only when it would raise the mark is the real size worth a read of the consumer's line.
  // The consumer cannot pass `position` before the release store below, so size >= 1.
  if (position + 1 - head > high_water_.load(std::memory_order_relaxed)) {
    RaiseHighWater(position + 1 - RefreshConsumerView());
  }
  cell.sequence.store(position + 1, std::memory_order_release);
  return true;
}

template <typename T>
template <typename F>
size_t MpscQueue<T>::Drain(F&& fn, size_t max) {
  const size_t start = dequeue_position_.load(std::memory_order_relaxed);
  size_t position = start;
  PublishOnExit publish(&dequeue_position_, &position);
  while (position - start < max) {
    Cell& cell = cells_[position & mask_];
    if (cell.sequence.load(std::memory_order_acquire) != position + 1) break;
    T* stored = cell.value();
    T value(std::move(*stored));
    stored->~T();
    ++position;
    // Every quarter lap, not every item: producers facing a full queue poll this line, and
    // a store per item would pull it away from them each time. A quarter lap still keeps a
    // long batch from hiding most of the ring from them.
    if ((position & (mask_ >> 2)) == 0) {
      dequeue_position_.store(position, std::memory_order_release);
    }
    fn(std::move(value));
  }
  return position - start;
}

template <typename T>
size_t MpscQueue<T>::ApproxSize() const {
  // Consumer first: both only grow, so the later producer read is normally not below it,
  // nor more than capacity() above it; the clamps absorb reads that interleave otherwise.
  const size_t dequeued = dequeue_position_.load(std::memory_order_relaxed);
  const size_t enqueued = enqueue_position_.load(std::memory_order_relaxed);
  if (enqueued <= dequeued) return 0;
  return enqueued - dequeued < capacity() ? enqueued - dequeued : capacity();
}

}  // namespace ringside

#endif  // RINGSIDE_QUEUE_MPSC_QUEUE_H_
