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
// Design. Every producer thread pushes into a lane of its own, a single-producer
// single-consumer ring, so a push is two plain stores (the item, then the lane's tail):
// no read-modify-write. The consumer visits the lanes round-robin. Lanes replaced a shared
// Vyukov cell array (one CAS per push to claim a position, a sequence number per cell),
// which measured well below moodycamel::ConcurrentQueue; like moodycamel's per-producer
// sub-queues, they also mean a stalled producer does not hold up the items other
// producers pushed after it.
//  - Lanes. A thread gets its lane on its first push to a queue and finds it again through
//    a thread_local table keyed by a queue id that is never reused, so a table entry for a
//    destroyed queue can never match a new queue at the same address. When the thread
//    exits, its lane stays with the queue (its items are still drained) and the next new
//    producer thread takes it over; there is one lane per producer thread alive at once,
//    with no fixed limit.
//  - Capacity. capacity() bounds the items in the whole queue, whatever the number of
//    producers. Room is counted in credits: a pool starts with capacity() of them, a push
//    spends one, and the consumer returns them as it drains. A producer takes credits from
//    the pool in batches (one CAS per batch) and keeps the unspent rest of a batch, so a
//    push can find the queue full while other live producers hold credits they have not
//    spent yet; a batch is at most capacity() / (16 * lanes), which keeps that held-back
//    room well below capacity() (about capacity() * ln(lanes) / 16 at worst). An exiting
//    thread parks its unspent credits in its lane, and a producer that finds the pool
//    empty takes parked credits back before it reports the queue full. With one producer,
//    or producers that exit or push steadily, the full capacity is usable.
//  - Memory. A lane's ring starts at min(1024, capacity()) items and doubles, up to
//    capacity(), when the lane's backlog outgrows it; the consumer frees an outgrown ring
//    once it has read past it. So a queue holds, per producer thread alive at once, about
//    300 bytes (a lane of four cache lines and a ring header) plus a ring of sizeof(T)
//    times that producer's largest backlog rounded up to a power of two (at least 1024).
//    A lane that once held capacity() items keeps a ring that size, so the worst case is
//    lanes * capacity() * sizeof(T), reached only if every producer in turn filled the
//    queue alone. The reactor's queues (capacity 65536, uint64_t or pointers, fed by a few
//    worker threads and the admin thread) take 8 KiB per producer until a backlog builds
//    up, against the 1 MiB the shared cell array took up front; a producer that backs up
//    the whole queue makes its lane 512 KiB.
//  - Across cores. The case that matters is a consumer on a core of its own fed by threads
//    on others (worker threads releasing buffers to a reactor): every item then moves from
//    a producer's cache to the consumer's, and so does every line that one side reads
//    after the other wrote it. Between the two vCPUs of the machine below one such move
//    takes about 150 ns (two threads bouncing an atomic: 300 ns a round trip), the time of
//    a hundred pushes, so the queue moves each line as few times as it can and overlaps
//    the moves it must make:
//    * A push's common case is inlined, saves no registers and stores only the item and
//      the tail. After the consumer has read the tail or the item line being filled, the
//      next store to each waits for the line to come back, and every store queued behind
//      it waits too, so each store a push adds costs more than it seems.
//    * A push prefetches for writing the ring line 512 bytes ahead, once a line, if it is
//      free room: the consumer read that line on the ring's last lap, and the first store
//      to it would otherwise wait for it.
//    * A producer reads the consumer's lines only when the credits or ring room it knows
//      of run out: once per credit batch (at most 256 items) and when its ring fills.
//    * Drain reads a lane's tail once per call, and only when the items it already knows
//      of fall short of `max`; it hands room back in batches (see Drain), never per item.
//    * What producers poll on a full queue (the count of credits returned, the parked
//      credits) is on lines of its own, not on the lines the consumer writes as it drains.
//
// Where the cross-core cost went. The guest below has no PMU: `perf stat -e
// cycles,instructions,cache-misses` reports <not supported> and perf c2c has nothing to
// sample. So the costs were found with `perf record -e cpu-clock` (which instructions the
// time piles up behind), the atomic ping-pong above, and by changing one thing at a time
// in runs that alternated old and new builds of //queue:mpsc_queue_benchmark (pinned, chrt
// -f 50, medians of 3 runs at 1, 2 and 4 producers, 3 alternations; figures are the range
// of those medians):
//  1. The producer's stores. The push was a function call of its own, and two fifths of
//     its samples sat on the register saves of its prologue: with the call's return
//     address and the value a const reference spills, a push made about nine stores where
//     two are needed, each waiting behind the lines the consumer had just read. With the
//     slow path split off, 52-73 Mops/s against 27-41 for the old queue in the same runs;
//     with the push inlined as well, 62-72 against 32-41.
//  2. The first store to each ring line, waiting for the line to come back from the
//     consumer. The write prefetch, 512 bytes ahead: 56-76 Mops/s became 77-236 (78-181
//     at 256 bytes, 78-256 at 1024).
//  3. Not the suspects, as measured: the credit pool's shared counter (the producer takes
//     from it once per batch; batches of 1024 and 4096 measured the same as 256) and the
//     consumer's acknowledgements (already per batch: a quarter of the capacity or the end
//     of a lane's turn). Reading each tail once per Drain rather than at least twice (the
//     old Drain went round the lanes until a round found nothing) was worth little: 34-44
//     Mops/s against 24-39 before 1 and 2, within the noise after them; it stays because
//     it halves the consumer's reads of lines producers are writing. Moving the lines producers poll on a full queue away
//     from the consumer's was not measured on its own.
//
// Measured on a 2-vCPU KVM guest (Intel Xeon, family 6 model 207, 2026-11), shared with
// other engineers' builds and tests, //queue:mpsc_queue_benchmark built with
// --config=opt: medians of 9 runs, lowest and highest in brackets, the queues interleaved
// in one process, "before" being this queue before the changes above. Pinned: consumer
// on CPU 0, producers on CPU 1. Under chrt -f 50, so that the other jobs on the machine
// do not preempt the threads (throughput in Mops/s):
//
//    producers  before             now                 moodycamel         mutex
//    1          36.2 [34.8-44.2]   112.9 [99.5-125.8]  58.9 [42.3-66.3]   8.5 [6.2-10.2]
//    2          34.4 [27.5-43.1]    96.7 [72.3-142.5]  52.9 [48.9-59.2]   8.8 [6.5-11.2]
//    4          38.6 [32.7-153.3]   93.1 [68.8-118.3]  54.7 [40.2-161.1]  5.1 [4.2-11.3]
//
// that is 1.92x, 1.83x, 1.70x moodycamel (0.61-0.71x before) and 13x, 11x, 18x the mutex
// queue. Without chrt, on the loaded machine: 1.66x, 1.49x, 1.47x moodycamel and 16x,
// 7.5x, 16x the mutex queue (before: 0.56-0.71x and 2.8-7.7x). In one run without chrt in
// which every queue ran about twice as fast (moodycamel at 133-147 Mops/s, as in the
// table of the issue that asked for this): 245, 239, 243 Mops/s, 1.65-1.85x moodycamel,
// 18-20x the mutex queue. Placed by the scheduler, the same-core-friendly case, without
// chrt: 1.58x, 1.42x, 1.41x moodycamel and 8.0x, 6.1x, 5.9x the mutex queue (before:
// 0.77-0.89x moodycamel). Latency at low load, one producer on CPU 1 pushing 1M items/s,
// the consumer polling on CPU 0, chrt -f 50, medians of 5 runs of 190,000 items, two such
// sets: from the push to the consumer holding the item, p50 357-382 ns (moodycamel
// 494-522, mutex 1.7-2.0 us), p99 3.7-4.7 us (moodycamel 5.7-13), p99.9 59-66 us
// (moodycamel 43-62); the tails are the virtual machine's, alike for all three queues.
//
// Thread safety: TryPush may be called from any number of threads at once; a thread's
// first push to a queue allocates its lane (unless it takes over one left by an exited
// thread), and a push that outgrows its lane's ring allocates a larger one; apart from
// the allocator, no push ever waits for another thread. TryPop and Drain must be called
// from one consumer thread at a time (externally serialised if that thread changes).
// ApproxSize, HighWater and capacity may be called from any thread; they are snapshots
// and can be stale by the time they return. Items from one producer thread arrive in the
// order it pushed them; items from different threads have no order, even when one push
// happened before the other. The queue must outlive every push and drain, but not the
// producer threads.
#ifndef RINGSIDE_QUEUE_MPSC_QUEUE_H_
#define RINGSIDE_QUEUE_MPSC_QUEUE_H_

#include "ringside/base/cxx20.h"  // first: below C++20, one clear error

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace ringside {

namespace mpsc_queue_internal {

// The producer's and the consumer's positions live on separate cache lines so that a
// push does not invalidate the line the consumer publishes to, and vice versa.
inline constexpr size_t kCacheLineSize = 64;

// The smallest power of two >= max(capacity, 2).
size_t RoundUpCapacity(size_t capacity);

// A number no other queue of this process has had.
uint64_t NewQueueId();

// The type-independent part of a lane: what a producer thread's exit and the queue's
// destruction need, which may come in either order. The queue and the thread that owns
// the lane each hold a reference.
class LaneBase {
 public:
  virtual ~LaneBase() = default;

  // Gives back the room the exiting owner took and did not use.
  virtual void ParkCredits() = 0;

  void Ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
  void Unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  // Ownership passes between threads through `owned_`: the acquire of a claim pairs with
  // the release of the previous owner's exit, so the new owner sees the lane's producer
  // state as the old one left it.
  bool TryClaim() {
    bool owned = false;
    return owned_.compare_exchange_strong(owned, true, std::memory_order_acquire,
                                          std::memory_order_relaxed);
  }
  void Disown() { owned_.store(false, std::memory_order_release); }

  // Set when the queue is destroyed; threads then drop the lane from their tables.
  void Orphan() { orphaned_.store(true, std::memory_order_relaxed); }
  bool orphaned() const { return orphaned_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int> refs_{2};
  std::atomic<bool> owned_{true};
  std::atomic<bool> orphaned_{false};
};

// The lane this thread found last, so that a thread pushing to one queue skips the table.
struct LastLane {
  uint64_t queue_id = 0;
  LaneBase* lane = nullptr;
};
inline thread_local LastLane last_lane;

// This thread's lane for the queue `queue_id`, or null if it has none yet.
LaneBase* FindLaneSlow(uint64_t queue_id);
inline LaneBase* FindLane(uint64_t queue_id) {
  if (last_lane.queue_id == queue_id) return last_lane.lane;
  return FindLaneSlow(queue_id);
}

// Adds `lane` to this thread's table, taking over a reference to it that the caller holds;
// the table disowns the lane and drops the reference when the thread exits. Drops the
// entries of destroyed queues on the way.
void RememberLane(uint64_t queue_id, LaneBase* lane);

}  // namespace mpsc_queue_internal

template <typename T>
class MpscQueue {
  // A slot is filled by exactly one producer and emptied by the consumer; moving the value
  // out must not throw, or an emptied slot could be left holding a half-moved object.
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "MpscQueue<T> requires a nothrow move constructor");

 public:
  // Rounds `capacity` up to a power of two, at least 2; capacity() reports the result.
  explicit MpscQueue(size_t capacity);
  ~MpscQueue();

  MpscQueue(const MpscQueue&) = delete;
  MpscQueue& operator=(const MpscQueue&) = delete;

  // Appends `value` unless the queue is full. Never blocks. Inlined: a call would add two
  // stores (the return address, and the value for a const reference) to each push.
  [[gnu::always_inline]] bool TryPush(const T& value) {
    // A copy that may throw is made before any room is spent on it.
    if constexpr (std::is_nothrow_copy_constructible_v<T>) {
      return Emplace(value);
    } else {
      return Emplace(T(value));
    }
  }
  [[gnu::always_inline]] bool TryPush(T&& value) { return Emplace(std::move(value)); }

  // Moves the next item into *out. Consumer only. False when every lane is empty.
  bool TryPop(T* out) {
    return Drain([out](T&& value) { *out = std::move(value); }, 1) == 1;
  }

  // Calls fn(T&&) on up to `max` items and returns how many it delivered: one round over
  // the lanes, starting after the lane the last call ended with, each lane's items in
  // order; then the calling thread's own lane again until it is empty. Every item pushed
  // before the call is delivered by it, up to `max`; items other threads push during it
  // may be left for the next call. Consumer only. fn must not pop from this queue; it may
  // push to it (those items are delivered by this call too, within `max`), but must not
  // wait for room, since only the consumer makes room. Freed room goes back to producers
  // every quarter of the capacity and when a lane's turn ends, even if fn throws (the
  // item fn was given stays consumed).
  template <typename F>
  size_t Drain(F&& fn, size_t max = SIZE_MAX);

  // Items pushed and not yet drained.
  size_t ApproxSize() const;
  // The largest size seen so far: by the consumer from the tails it knew of as it came to
  // each lane in a Drain, or by this call. It misses peaks that fall between those looks.
  size_t HighWater() const {
    return std::max(high_water_.load(std::memory_order_relaxed), ApproxSize());
  }
  size_t capacity() const { return mask_ + 1; }

 private:
  // Big enough that a producer seldom runs out of ring before the consumer's position
  // moves on (each time costs it a read of the consumer's line), small enough that a lane
  // for pointers costs 8 KiB.
  static constexpr size_t kFirstRingSize = 1024;
  // Credits a producer takes at once: fewer CASes on the pool, more room held back.
  static constexpr size_t kMaxCreditBatch = 256;
  // How far ahead a push asks for its ring's lines: 8 lines, 64 uint64_t items. 256 and
  // 1024 bytes measured alike; without the prefetch the pinned benchmark measured 56-76
  // Mops/s instead of 77-236.
  static constexpr size_t kPrefetchBytes = 8 * mpsc_queue_internal::kCacheLineSize;
  static constexpr size_t kLineItems =
      sizeof(T) >= mpsc_queue_internal::kCacheLineSize
          ? 1
          : std::bit_floor(mpsc_queue_internal::kCacheLineSize / sizeof(T));
  static constexpr size_t kPrefetchItems = std::max<size_t>(1, kPrefetchBytes / sizeof(T));

  struct Slot {
    alignas(T) unsigned char bytes[sizeof(T)];
  };

  // A power-of-two array of one lane's items, from position `base` on. When it is full
  // the producer links a larger ring after it and `end` says where this one stops.
  struct Ring {
    Ring(size_t size, size_t first_position)
        : mask(size - 1), base(first_position), slots(new Slot[size]) {}

    const size_t mask;
    const size_t base;
    size_t end = 0;  // written before `next` is published
    std::atomic<Ring*> next{nullptr};
    const std::unique_ptr<Slot[]> slots;
  };

  // One producer's single-producer single-consumer sub-queue. Positions count the lane's
  // items from 0 and run on across rings.
  struct Lane : mpsc_queue_internal::LaneBase {
    explicit Lane(Ring* ring)
        : room_end(ring->mask + 1),
          tail_slots(ring->slots.get()),
          tail_mask(ring->mask),
          tail_ring(ring),
          head_ring(ring) {}

    // Called on the owning thread as it exits: its unspent credits go where producers that
    // find the pool empty look for them.
    void ParkCredits() override {
      const size_t pushed = tail.load(std::memory_order_relaxed);
      parked_credits.fetch_add(credit_end - pushed, std::memory_order_relaxed);
      credit_end = pushed;
      limit = pushed;
    }

    // For the queue's destructor, once the lane is empty: a thread's table may keep the
    // lane itself a while longer, but not its rings.
    void FreeRings() {
      while (head_ring != nullptr) {
        delete std::exchange(head_ring, head_ring->next.load(std::memory_order_relaxed));
      }
    }

    // Producer's line: written on every push; the consumer reads `tail` once per turn.
    // A push below `limit` needs no check; there the producer has run out of credits
    // (`credit_end`) or of free slots in its ring (`room_end`), as far as it knows.
    alignas(mpsc_queue_internal::kCacheLineSize) std::atomic<size_t> tail{0};
    size_t limit = 0;
    size_t credit_end = 0;
    size_t room_end;
    Slot* tail_slots;  // tail_ring's, saving a hop per push
    size_t tail_mask;
    Ring* tail_ring;

    // Consumer's line. Its producer reads `head` only when its ring looks full.
    alignas(mpsc_queue_internal::kCacheLineSize) std::atomic<size_t> head{0};
    size_t known_tail = 0;  // the tail as the consumer last read it
    Ring* head_ring;

    // Read by every producer that finds the pool empty, so not on the consumer's line:
    // a producer polling a full queue would take that line away on every try. Set before
    // the lane is published, then never changed.
    alignas(mpsc_queue_internal::kCacheLineSize) Lane* next_lane = nullptr;
    // Credits left by exited owners, for any producer to take back.
    std::atomic<size_t> parked_credits{0};
  };

  // Publishes the consumer's position `to` in `lane`, which was at `from`, then returns the
  // room of the items in between to the pool; returns `to`.
  size_t Publish(Lane& lane, size_t from, size_t to) {
    if (to == from) return to;
    // Position first: a producer that gets the credits back must find its ring's room.
    lane.head.store(to, std::memory_order_release);
    const size_t returned = returned_credits_.load(std::memory_order_relaxed);
    returned_credits_.store(returned + (to - from), std::memory_order_release);
    return to;
  }

  // Constructs T from `value` in this thread's lane; T's constructor from U must not throw.
  template <typename U>
  [[gnu::always_inline]] inline bool Emplace(U&& value);
  // The rest of a push: this thread's first push to the queue, or one at its lane's limit.
  template <typename U>
  [[gnu::noinline]] bool EmplaceSlow(U&& value);

  // This thread's lane: the one an exited thread left, or a new one.
  Lane* Register();
  // Makes room for the item at `tail`, the lane's limit: takes credits from the pool, or
  // finds slots the consumer freed, or grows the ring. False when the pool is empty.
  bool MakeRoom(Lane& lane, size_t tail);
  // Moves a batch of credits from the pool to `lane`; false if the pool is empty.
  bool TakeCredits(Lane& lane, size_t tail);
  // Puts the credits exited producers parked back in the pool; false if there were none.
  bool UnparkCredits();
  // Links a ring twice the size after the full tail ring; the item at `tail` goes there.
  void Grow(Lane& lane, size_t tail);
  // Drains up to `max` items of `lane`; adds the lane's size as it knew it to *seen.
  template <typename F>
  size_t DrainLane(Lane& lane, F& fn, size_t max, size_t* seen);

  // Read-only after construction; shared by everyone.
  const size_t mask_;
  const uint64_t id_ = mpsc_queue_internal::NewQueueId();

  // Written when a producer registers, read by everyone.
  std::atomic<Lane*> lanes_{nullptr};  // newest first
  std::atomic<size_t> lane_count_{0};

  // The pool holds capacity() - (taken - returned) credits. Two counters rather than one,
  // so that giving credits back is a plain store of the consumer's, not a read-modify-
  // write on a line that producers also write. Producers take once per batch.
  alignas(mpsc_queue_internal::kCacheLineSize) std::atomic<size_t> taken_credits_{0};

  // Written by the consumer as it drains, read by producers that run out of credits (on
  // a full queue, on every failed push): alone on its line, so that their polling does
  // not take the consumer's other state away from it.
  alignas(mpsc_queue_internal::kCacheLineSize) std::atomic<size_t> returned_credits_{0};

  // Consumer's line. As the last member of a cache-aligned class, it keeps the line to
  // itself through tail padding.
  alignas(mpsc_queue_internal::kCacheLineSize) std::atomic<size_t> high_water_{0};
  Lane* next_turn_ = nullptr;  // the lane Drain starts with
};

// For the reactor: packed 64-bit buffer-release words (see buffers/release_word.h).
using MpscUlongQueue = MpscQueue<uint64_t>;

template <typename T>
MpscQueue<T>::MpscQueue(size_t capacity)
    : mask_(mpsc_queue_internal::RoundUpCapacity(capacity) - 1) {}

template <typename T>
MpscQueue<T>::~MpscQueue() {
  Drain([](T&&) {});
  for (Lane* lane = lanes_.load(std::memory_order_acquire); lane != nullptr;) {
    Lane* next = lane->next_lane;
    lane->FreeRings();
    lane->Orphan();
    lane->Unref();
    lane = next;
  }
}

template <typename T>
template <typename U>
inline bool MpscQueue<T>::Emplace(U&& value) {
  // The common case, small enough to be inlined and to need no saved registers: when the
  // consumer has just read the lines a push writes, the push's stores wait until those
  // lines come back, and any other store of the push (a register saved to the stack)
  // would wait behind them.
  if (mpsc_queue_internal::last_lane.queue_id == id_) {
    if (auto* lane = static_cast<Lane*>(mpsc_queue_internal::last_lane.lane); lane != nullptr) {
      const size_t tail = lane->tail.load(std::memory_order_relaxed);
      if (tail != lane->limit) {
        // Once a line, ask for the line kPrefetchBytes ahead, if it is free room: the
        // consumer read it on the ring's last lap, and its transfer back overlaps the pushes
        // in between instead of stalling the first store to it.
        if ((tail & (kLineItems - 1)) == 0 && tail + kPrefetchItems < lane->room_end) {
          __builtin_prefetch(lane->tail_slots[(tail + kPrefetchItems) & lane->tail_mask].bytes, 1);
        }
        new (lane->tail_slots[tail & lane->tail_mask].bytes) T(std::forward<U>(value));
        lane->tail.store(tail + 1, std::memory_order_release);
        return true;
      }
    }
  }
  return EmplaceSlow(std::forward<U>(value));
}

template <typename T>
template <typename U>
bool MpscQueue<T>::EmplaceSlow(U&& value) {
  auto* lane = static_cast<Lane*>(mpsc_queue_internal::FindLane(id_));
  if (lane == nullptr) lane = Register();
  const size_t tail = lane->tail.load(std::memory_order_relaxed);
  if (tail == lane->limit && !MakeRoom(*lane, tail)) return false;
  new (lane->tail_slots[tail & lane->tail_mask].bytes) T(std::forward<U>(value));
  lane->tail.store(tail + 1, std::memory_order_release);
  return true;
}

template <typename T>
bool MpscQueue<T>::MakeRoom(Lane& lane, size_t tail) {
  if (tail == lane.credit_end && !TakeCredits(lane, tail)) return false;
  if (tail == lane.room_end) {
    // Acquire pairs with the consumer's release, so the items it moved out are gone
    // before their slots are reused.
    const size_t head = lane.head.load(std::memory_order_acquire);
    const Ring& ring = *lane.tail_ring;
    lane.room_end = std::max(head, ring.base) + ring.mask + 1;
    if (tail == lane.room_end) Grow(lane, tail);
  }
  lane.limit = std::min(lane.credit_end, lane.room_end);
  return true;
}

template <typename T>
typename MpscQueue<T>::Lane* MpscQueue<T>::Register() {
  for (Lane* lane = lanes_.load(std::memory_order_acquire); lane != nullptr;
       lane = lane->next_lane) {
    if (lane->TryClaim()) {
      lane->Ref();
      mpsc_queue_internal::RememberLane(id_, lane);
      return lane;
    }
  }
  auto* lane = new Lane(new Ring(std::min(kFirstRingSize, capacity()), 0));
  mpsc_queue_internal::RememberLane(id_, lane);
  lane_count_.fetch_add(1, std::memory_order_relaxed);
  lane->next_lane = lanes_.load(std::memory_order_relaxed);
  while (!lanes_.compare_exchange_weak(lane->next_lane, lane, std::memory_order_release,
                                       std::memory_order_relaxed)) {
  }
  return lane;
}

template <typename T>
bool MpscQueue<T>::TakeCredits(Lane& lane, size_t tail) {
  const size_t lanes = lane_count_.load(std::memory_order_relaxed);
  const size_t batch = std::clamp<size_t>(capacity() / (16 * lanes), 1, kMaxCreditBatch);
  for (;;) {
    // Acquire pairs with the consumer's release, so this lane's head is at least as new as
    // the drain that returned these credits: with a credit in hand the lane holds fewer
    // than capacity() items, and a ring of capacity() slots always has room. Returned
    // first: every credit it counts was taken before, so `taken` is not behind it.
    const size_t returned = returned_credits_.load(std::memory_order_acquire);
    size_t taken = taken_credits_.load(std::memory_order_relaxed);
    const size_t free = capacity() - (taken - returned);
    if (free == 0) {
      if (UnparkCredits()) continue;
      return false;
    }
    const size_t take = std::min(free, batch);
    if (taken_credits_.compare_exchange_weak(taken, taken + take, std::memory_order_relaxed)) {
      lane.credit_end = tail + take;
      return true;
    }
  }
}

template <typename T>
bool MpscQueue<T>::UnparkCredits() {
  size_t unparked = 0;
  for (Lane* lane = lanes_.load(std::memory_order_acquire); lane != nullptr;
       lane = lane->next_lane) {
    if (lane->parked_credits.load(std::memory_order_relaxed) != 0) {
      unparked += lane->parked_credits.exchange(0, std::memory_order_relaxed);
    }
  }
  if (unparked == 0) return false;
  taken_credits_.fetch_sub(unparked, std::memory_order_relaxed);
  return true;
}

template <typename T>
void MpscQueue<T>::Grow(Lane& lane, size_t tail) {
  Ring* full = lane.tail_ring;
  auto* ring = new Ring(std::min(2 * (full->mask + 1), capacity()), tail);
  full->end = tail;
  full->next.store(ring, std::memory_order_release);
  lane.tail_ring = ring;
  lane.tail_slots = ring->slots.get();
  lane.tail_mask = ring->mask;
  lane.room_end = tail + ring->mask + 1;
}

template <typename T>
template <typename F>
size_t MpscQueue<T>::Drain(F&& fn, size_t max) {
  Lane* const newest = lanes_.load(std::memory_order_acquire);
  if (newest == nullptr) return 0;
  if (next_turn_ == nullptr) next_turn_ = newest;
  Lane* const first = next_turn_;
  size_t delivered = 0;
  size_t seen = 0;
  size_t seen_again = 0;  // the calling thread's lane again: already in `seen`
  size_t* lane_sizes = &seen;
  Lane* own = nullptr;  // set once the round is over
  // One round over the lanes, each read up to the tail it had when its turn came, then
  // the calling thread's own lane until it is empty: the items fn pushed to this queue
  // (through a lane that may be new) are delivered by this call too, as callers that post
  // to their own queue rely on. Nothing else is read again, since each look at a tail
  // that a producer is writing takes that line (and the item line beside it) away from
  // the producer.
  for (Lane* lane = first;;) {
    const size_t n = DrainLane(*lane, fn, max - delivered, lane_sizes);
    delivered += n;
    if (delivered == max) {
      if (own == nullptr) next_turn_ = lane->next_lane != nullptr ? lane->next_lane : newest;
      break;
    }
    if (own == nullptr) {
      lane = lane->next_lane != nullptr ? lane->next_lane : newest;
      if (lane != first) continue;
      next_turn_ = first;
      if (delivered == 0) break;
      own = static_cast<Lane*>(mpsc_queue_internal::FindLane(id_));
      if (own == nullptr) break;
      lane = own;
      lane_sizes = &seen_again;
    } else if (n == 0) {
      break;
    }
  }
  // Lanes are read one after another while producers refill the earlier ones, so the sum
  // can exceed what the queue held at any one time, but never the capacity.
  seen = std::min(seen, capacity());
  if (seen > high_water_.load(std::memory_order_relaxed)) {
    high_water_.store(seen, std::memory_order_relaxed);
  }
  return delivered;
}

template <typename T>
template <typename F>
size_t MpscQueue<T>::DrainLane(Lane& lane, F& fn, size_t max, size_t* seen) {
  const size_t start = lane.head.load(std::memory_order_relaxed);
  // The producer's tail is read only when the items already known of fall short of
  // `max`: each read takes the line away from a producer that is writing it.
  size_t tail = lane.known_tail;
  if (tail - start < max) {
    tail = lane.tail.load(std::memory_order_acquire);
    lane.known_tail = tail;
  }
  *seen += tail - start;
  const size_t stop = tail - start < max ? tail : start + max;
  const size_t quarter_mask = mask_ >> 2;
  size_t position = start;
  size_t published = start;
  // try/catch rather than a guard holding &position, which would keep the position in
  // memory across every fn call.
  try {
    while (position != stop) {
      Ring* ring = lane.head_ring;
      size_t ring_stop = stop;
      if (Ring* next = ring->next.load(std::memory_order_acquire); next != nullptr) {
        if (position == ring->end) {
          lane.head_ring = next;
          delete ring;
          continue;
        }
        ring_stop = std::min(stop, ring->end);
      }
      Slot* const slots = ring->slots.get();
      const size_t ring_mask = ring->mask;
      while (position != ring_stop) {
        T* stored = std::launder(reinterpret_cast<T*>(slots[position & ring_mask].bytes));
        T value(std::move(*stored));
        stored->~T();
        ++position;
        // Every quarter of the capacity, not every item: a producer that has run out of
        // room polls this line, and a store per item would pull it away each time.
        if ((position & quarter_mask) == 0) published = Publish(lane, published, position);
        fn(std::move(value));
      }
    }
  } catch (...) {
    Publish(lane, published, position);
    throw;
  }
  Publish(lane, published, position);
  return position - start;
}

template <typename T>
size_t MpscQueue<T>::ApproxSize() const {
  size_t size = 0;
  for (Lane* lane = lanes_.load(std::memory_order_acquire); lane != nullptr;
       lane = lane->next_lane) {
    // Head first, with acquire: the consumer read a tail at least this far before it
    // published this head, so the tail read below is not behind it.
    const size_t head = lane->head.load(std::memory_order_acquire);
    size += lane->tail.load(std::memory_order_relaxed) - head;
  }
  return std::min(size, capacity());
}

}  // namespace ringside

#endif  // RINGSIDE_QUEUE_MPSC_QUEUE_H_
