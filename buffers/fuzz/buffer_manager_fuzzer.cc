// buffer_manager_fuzzer.cc: libFuzzer target for the receive-buffer accounting of
// BufferManager, BufferRing and ReleaseWord, checked against a model.
//
// The rings are real (registered on a real io_uring) but no recv is ever submitted: the
// fuzzer plays the kernel. It takes buffers from each ring's descriptors the way the kernel
// does (at its own head, up to the tail the application published; with IOU_PBUF_RING_INC
// it writes into the head buffer at the descriptor's address and shrinks the descriptor, and
// posts IORING_CQE_F_BUF_MORE until the buffer is used up), writes recognisable bytes, and
// hands the manager the CQE the kernel would post. So every CQE is one the kernel could
// produce, and what the manager publishes back is read from the descriptors themselves.
//
// Input: two configuration bytes (mode, ring sizes, pool, budget, bgid range, forced
// fallback; see ConfigFor), then one operation per byte, with its arguments in the
// following bytes: attach, detach, a recv CQE (data, ENOBUFS, EOF or error, an empty CQE
// that names a buffer), release of a lease on the owner thread or on another one (through
// the release queue), a second lease on held bytes, moving one lease over another,
// DrainReleases, Flush, forged stale release words (old generation, unknown slot, a buffer
// nobody holds) and CQEs for a detached ring.
//
// After every operation the model must match: each buffer's offset, readers and
// kernel_done; the descriptors between the kernel's head and the tail are exactly the
// buffers the kernel owns, each once, at the right address and length; the tail moves only
// on Flush (or when a ring is vacated); Flush reports exactly the rings that got buffers
// back; every statistic of the rings and the manager; and the bytes of every lease are
// still the bytes the kernel wrote. At the end all leases go, and every buffer must be back
// with the kernel.
#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ringside/buffers/buffer_lease.h"
#include "ringside/buffers/buffer_manager.h"
#include "ringside/buffers/buffer_ring.h"
#include "ringside/buffers/release_word.h"
#include "ringside/buffers/test_sockets.h"
#include "ringside/queue/mpsc_queue.h"
#include "ringside/third_party/liburing/liburing_compat.h"
#include "ringside/tools/fuzz/fuzz_check.h"

namespace ringside {
namespace {

constexpr uint64_t kSyscallsPerRing = 3;  // mmap + register + mmap, and the reverse
constexpr size_t kQueueCapacity = 4;

// The fuzz input, a byte at a time; zeros once it runs out.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ == size_; }
  uint8_t Byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  // An index below `n` (> 0).
  size_t Pick(size_t n) { return Byte() % n; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// One io_uring for the whole run: rings register on it and unregister when each input's
// manager is destroyed, so a leaked registration fails the next input.
io_uring* Uring() {
  static testing::TestUring* const uring = new testing::TestUring(8);
  return uring->get();
}

// What the kernel and the application side of one BufferRing should look like.
struct RingModel {
  explicit RingModel(uint32_t entries)
      : tail(static_cast<uint16_t>(entries)), buffers(entries), in_window(entries, true) {}

  uint16_t head = 0;  // the kernel's next descriptor
  uint16_t tail;      // what the application must have published
  std::vector<BufferState> buffers;
  std::vector<bool> in_window;   // between head and tail
  std::vector<uint32_t> pending;  // recycled, not yet published
  uint64_t readers = 0;
  BufferRingStats stats;
};

void ModelRecycle(RingModel& m, uint32_t bid) {
  BufferState& b = m.buffers[bid];
  ++m.stats.buffers_recycled;
  m.stats.retired_bytes += b.offset;
  b = BufferState{};
  m.pending.push_back(bid);
}

// Returns whether any buffer was published.
bool ModelFlush(RingModel& m) {
  for (uint32_t bid : m.pending) m.in_window[bid] = true;
  m.tail = static_cast<uint16_t>(m.tail + m.pending.size());
  const bool any = !m.pending.empty();
  m.pending.clear();
  return any;
}

void ModelRelease(RingModel& m, uint32_t bid) {
  if (bid >= m.buffers.size() || m.buffers[bid].readers == 0) {
    ++m.stats.stale_releases;
    return;
  }
  BufferState& b = m.buffers[bid];
  --b.readers;
  --m.readers;
  if (b.readers == 0 && b.kernel_done) ModelRecycle(m, bid);
}

void CheckRing(const BufferRing& ring, const RingModel& m) {
  const BufferRingConfig& config = ring.config();
  uint32_t kernel_done = 0;
  for (uint32_t bid = 0; bid < config.entries; ++bid) {
    const BufferState& got = ring.buffers()[bid];
    const BufferState& want = m.buffers[bid];
    FUZZ_CHECK(got.offset == want.offset);
    FUZZ_CHECK(got.readers == want.readers);
    FUZZ_CHECK(got.completions == want.completions);
    FUZZ_CHECK(got.kernel_done == want.kernel_done);
    kernel_done += want.kernel_done;
  }
  FUZZ_CHECK(ring.has_readers() == (m.readers > 0));
  FUZZ_CHECK(ring.buffers_with_kernel() == config.entries - kernel_done);
  const BufferRingStats& s = ring.stats();
  FUZZ_CHECK(s.recv_completions == m.stats.recv_completions);
  FUZZ_CHECK(s.recv_bytes == m.stats.recv_bytes);
  FUZZ_CHECK(s.buf_more_completions == m.stats.buf_more_completions);
  FUZZ_CHECK(s.buffers_recycled == m.stats.buffers_recycled);
  FUZZ_CHECK(s.retired_bytes == m.stats.retired_bytes);
  FUZZ_CHECK(s.stale_releases == m.stats.stale_releases);

  // The kernel's view: the descriptors it may still use, each buffer at most once.
  io_uring_buf_ring* br = ring.descriptors();
  const uint16_t tail = __atomic_load_n(&br->tail, __ATOMIC_ACQUIRE);
  FUZZ_CHECK(tail == m.tail);
  const uint16_t window = static_cast<uint16_t>(tail - m.head);
  FUZZ_CHECK(window <= config.entries);
  std::vector<bool> seen(config.entries, false);
  for (uint16_t i = 0; i < window; ++i) {
    const io_uring_buf& d = br->bufs[static_cast<uint16_t>(m.head + i) & (config.entries - 1)];
    FUZZ_CHECK(d.bid < config.entries && !seen[d.bid] && m.in_window[d.bid]);
    seen[d.bid] = true;
    const uint32_t offset = m.buffers[d.bid].offset;
    FUZZ_CHECK(d.addr == reinterpret_cast<uintptr_t>(ring.buffer_base(d.bid) + offset));
    FUZZ_CHECK(d.len == config.buffer_size - offset);
  }
  FUZZ_CHECK(std::count(m.in_window.begin(), m.in_window.end(), true) ==
             static_cast<ptrdiff_t>(window));
}

// A CQE as the kernel would post it for a multishot recv on `ring`.
struct Cqe {
  int32_t res;
  uint32_t flags;
};

// The kernel receives up to `want` bytes (at least one) into the head buffer, or fails
// with ENOBUFS when the application published none.
Cqe KernelRecv(BufferRing& ring, RingModel& m, uint32_t want, uint8_t* fill) {
  if (m.head == m.tail) return {-ENOBUFS, 0};
  io_uring_buf& d = ring.descriptors()->bufs[m.head & (ring.config().entries - 1)];
  const uint32_t bid = d.bid;
  const uint32_t n = 1 + want % d.len;
  char* data = reinterpret_cast<char*>(static_cast<uintptr_t>(d.addr));
  for (uint32_t i = 0; i < n; ++i) data[i] = static_cast<char>((*fill)++);
  bool more = false;
  BufferState& b = m.buffers[bid];
  if (ring.config().incremental) {
    d.len -= n;
    more = d.len > 0;
    if (more) d.addr += n;
    b.offset += n;
  } else {
    b.offset = n;
  }
  if (more) {
    ++m.stats.buf_more_completions;
  } else {
    ++m.head;
    m.in_window[bid] = false;
    b.kernel_done = true;
  }
  ++b.readers;
  ++b.completions;
  ++m.readers;
  ++m.stats.recv_completions;
  m.stats.recv_bytes += n;
  return {static_cast<int32_t>(n), IORING_CQE_F_BUFFER | (bid << IORING_CQE_BUFFER_SHIFT) |
                                       IORING_CQE_F_MORE | (more ? IORING_CQE_F_BUF_MORE : 0)};
}

// A CQE with no bytes that still names the head buffer. A shared ring's kernel took that
// buffer off the ring, so the application must give it back; an incremental ring's kernel
// keeps it (BufferRing::OnRecv).
Cqe KernelEmptyWithBuffer(BufferRing& ring, RingModel& m, int32_t res) {
  const uint32_t bid = ring.descriptors()->bufs[m.head & (ring.config().entries - 1)].bid;
  if (!ring.config().incremental) {
    ++m.head;
    m.in_window[bid] = false;
    ModelRecycle(m, bid);
  }
  return {res, IORING_CQE_F_BUFFER | (bid << IORING_CQE_BUFFER_SHIFT)};
}

// Stands for every thread but the reactor. One thread, not one per release: the release
// queue keeps each producer's order but none between producers, and the model applies the
// queued words in the order they were pushed.
class OtherThread {
 public:
  OtherThread() : thread_([this] { Serve(); }) {}
  ~OtherThread() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  // Runs `fn` on the other thread; returns once it has.
  void Run(const std::function<void()>& fn) {
    std::unique_lock<std::mutex> lock(mu_);
    task_ = &fn;
    cv_.notify_all();
    cv_.wait(lock, [&] { return task_ == nullptr; });
  }

 private:
  void Serve() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return stop_ || task_ != nullptr; });
      if (task_ == nullptr) return;
      (*task_)();
      task_ = nullptr;
      cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  const std::function<void()>* task_ = nullptr;
  bool stop_ = false;
  std::thread thread_;  // last: it starts using the members above at once
};

// A lease the fuzzer holds, with the bytes the kernel wrote for it.
struct Held {
  BufferLease lease;
  std::string bytes;
};

class Harness {
 public:
  explicit Harness(const BufferManagerConfig& config)
      : config_(config),
        queue_(kQueueCapacity, [this] { wakes_.fetch_add(1); }),
        manager_(Uring(), config, &queue_) {}

  void Init();
  void Step(Input& in);
  void Finish();

 private:
  enum class SlotState { kFree, kLive, kAwaitingRelease };
  struct Slot {
    BufferRing* ring = nullptr;
    uint32_t generation = 0;
    SlotState state = SlotState::kFree;
  };

  size_t RingBytes() const { return size_t{config_.connection_entries} * config_.buffer_size; }
  size_t GidCapacity() const { return config_.last_bgid - config_.first_bgid + 1; }
  // Connection rings live or pooled: every ring but the shared one, which has no bgid of
  // the allocator's.
  uint64_t ConnectionRingsInUse() const {
    return stats_.rings_created - stats_.rings_destroyed - 1;
  }
  RingModel& ModelOf(BufferRing* ring) { return rings_.at(ring); }

  void Attach();
  void Detach(Input& in);
  void Receive(Input& in);
  void ReleaseOnOwner(Input& in);
  void ReleaseOnOtherThread(Input& in);
  void Retain(Input& in);
  void MoveLease(Input& in);
  void DrainReleases();
  void Flush();
  void ForgeRelease(Input& in);
  void ReceiveOnDetached(Input& in);

  // The model's side of BufferManager's private operations of the same names.
  void ModelApplyRelease(uint64_t word);
  // The slot the manager gives the next ring: freed ones last-freed first, else a new one.
  uint32_t ModelTakeSlot();
  void ModelVacate(uint32_t slot);
  void ModelReturnToPool(BufferRing* ring);

  void CheckAll();

  const BufferManagerConfig config_;
  bool incremental_ = false;  // after Init: false also when the manager fell back
  Mailbox<uint64_t> queue_;
  std::atomic<uint64_t> wakes_{0};
  BufferManager manager_;
  std::vector<Held> held_;  // declared after manager_: leases release into it
  OtherThread other_;       // after queue_: it may hold a producer lane of it

  BufferManagerStats stats_;  // expected; the derived fields are computed in CheckAll
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
  std::vector<BufferRing*> pool_;  // nullptr: Init's probe ring, not seen yet
  size_t pool_released_ = 0;  // pool_[0, pool_released_) madvised and not reused since
  std::map<BufferRing*, RingModel> rings_;
  RingId shared_;
  std::vector<RingId> live_;     // attached connections (shared_ for those on the shared ring)
  std::vector<RingId> retired_;  // detached ids, to replay stale CQEs and words
  std::vector<uint64_t> queued_;  // release words in the queue, in order
  bool wake_pending_ = false;
  uint64_t expected_wakes_ = 0;
  uint8_t fill_ = 0;
};

void Harness::Init() {
  FUZZ_CHECK(manager_.Init().ok());
  incremental_ = manager_.incremental();
  // A kernel without IOU_PBUF_RING_INC (simulated) means shared mode, and says why.
  FUZZ_CHECK(incremental_ ==
             (config_.incremental && !config_.simulate_incremental_unsupported));
  FUZZ_CHECK(manager_.fallback_reason().empty() ==
             (!config_.incremental || incremental_));
  if (incremental_) {
    // Init probed with one connection ring, then pooled it (or destroyed it without a pool).
    stats_.rings_created = 1;
    stats_.ring_syscalls = kSyscallsPerRing;
    stats_.reserved_bytes = RingBytes();
    slots_.push_back({nullptr, 0, SlotState::kLive});
    ModelVacate(0);
  }
  // Then the shared ring, in both modes: in incremental mode connections refused a ring of
  // their own receive into it. Only shared mode counts it live.
  ++stats_.rings_created;
  stats_.ring_syscalls += kSyscallsPerRing;
  if (!incremental_) stats_.rings_live = 1;
  const uint32_t slot = ModelTakeSlot();
  shared_ = {slot, slots_[slot].generation};
  FUZZ_CHECK(manager_.shared() == shared_ && manager_.IsShared(shared_));
  BufferRing* ring = manager_.ring(shared_);
  FUZZ_CHECK(ring != nullptr && ring->bgid() == config_.shared_bgid &&
             !ring->config().incremental);
  slots_[slot] = {ring, shared_.generation, SlotState::kLive};
  rings_.emplace(ring, RingModel(config_.shared_entries));
  CheckAll();
}

void Harness::Step(Input& in) {
  switch (in.Byte() % 12) {
    case 0:
      Attach();
      break;
    case 1:
      Detach(in);
      break;
    case 2:
    case 3:
      Receive(in);
      break;
    case 4:
      ReleaseOnOwner(in);
      break;
    case 5:
      ReleaseOnOtherThread(in);
      break;
    case 6:
      Retain(in);
      break;
    case 7:
      MoveLease(in);
      break;
    case 8:
      DrainReleases();
      break;
    case 9:
      Flush();
      break;
    case 10:
      ForgeRelease(in);
      break;
    case 11:
      ReceiveOnDetached(in);
      break;
  }
  CheckAll();
}

void Harness::Attach() {
  absl::StatusOr<RingId> id = manager_.AttachRing();
  if (!incremental_) {
    FUZZ_CHECK(id.ok() && *id == shared_);
    live_.push_back(*id);
    return;
  }
  BufferRing* reused = nullptr;
  if (!pool_.empty()) {
    reused = pool_.back();
    pool_.pop_back();
    pool_released_ = std::min(pool_released_, pool_.size());
    ++stats_.pool_reuses;
  } else if (stats_.reserved_bytes + RingBytes() > config_.budget_bytes) {
    ++stats_.budget_refusals;
    FUZZ_CHECK(absl::IsResourceExhausted(id.status()));
    live_.push_back(shared_);  // the connection receives into the shared ring instead
    return;
  } else if (ConnectionRingsInUse() == GidCapacity()) {
    ++stats_.bgid_refusals;
    FUZZ_CHECK(absl::IsResourceExhausted(id.status()));
    live_.push_back(shared_);
    return;
  } else {
    ++stats_.rings_created;
    stats_.ring_syscalls += kSyscallsPerRing;
    stats_.reserved_bytes += RingBytes();
  }
  FUZZ_CHECK(id.ok());
  // Slots are reused last-freed first; a reused slot's generation was bumped on vacating.
  const uint32_t slot = ModelTakeSlot();
  FUZZ_CHECK(id->slot == slot && id->generation == slots_[slot].generation);
  for (const RingId& old : retired_) FUZZ_CHECK(!(old == *id));
  BufferRing* ring = manager_.ring(*id);
  FUZZ_CHECK(ring != nullptr && ring->config().incremental);
  if (reused != nullptr) {
    FUZZ_CHECK(ring == reused);
  } else {
    // A new ring, or Init's probe ring seen for the first time: all its buffers are with
    // the kernel. A destroyed ring's model is gone, so an address reused is a new ring.
    FUZZ_CHECK(rings_.count(ring) == 0);
    rings_.emplace(ring, RingModel(config_.connection_entries));
  }
  slots_[slot] = {ring, id->generation, SlotState::kLive};
  ++stats_.rings_live;
  live_.push_back(*id);
}

void Harness::Detach(Input& in) {
  if (live_.empty()) return;
  const size_t i = in.Pick(live_.size());
  const RingId id = live_[i];
  manager_.DetachRing(id);
  if (id == shared_) return;  // the shared ring stays
  live_.erase(live_.begin() + static_cast<ptrdiff_t>(i));
  retired_.push_back(id);
  Slot& s = slots_[id.slot];
  --stats_.rings_live;
  if (ModelOf(s.ring).readers > 0) {
    s.state = SlotState::kAwaitingRelease;
    ++stats_.rings_awaiting_release;
  } else {
    ModelVacate(id.slot);
  }
}

void Harness::Receive(Input& in) {
  if (live_.empty()) return;
  const RingId id = live_[in.Pick(live_.size())];
  BufferRing* ring = slots_[id.slot].ring;
  RingModel& m = ModelOf(ring);
  const uint8_t kind = in.Byte();
  const uint32_t want = in.Byte() | (kind & 0xf0) << 4;
  Cqe cqe;
  switch (kind % 8) {
    case 0:  // the peer closed
      cqe = {0, 0};
      break;
    case 1:
      cqe = {-ECONNRESET, 0};
      break;
    case 2:
      if (m.head == m.tail) return;
      cqe = KernelEmptyWithBuffer(*ring, m, (kind & 0x10) != 0 ? 0 : -ECONNRESET);
      break;
    default:
      cqe = KernelRecv(*ring, m, want, &fill_);
      break;
  }
  BufferLease lease = manager_.Receive(id, cqe.res, cqe.flags);
  if (cqe.res <= 0) {
    FUZZ_CHECK(!lease.holds_buffer() && lease.size() == 0);
    return;
  }
  const uint32_t bid = cqe.flags >> IORING_CQE_BUFFER_SHIFT;
  FUZZ_CHECK(lease.holds_buffer() && lease.size() == static_cast<uint32_t>(cqe.res));
  FUZZ_CHECK(lease.bid() == bid);
  FUZZ_CHECK(ReleaseWord::Unpack(lease.release_word()) ==
             (ReleaseWord{static_cast<uint16_t>(bid), id.slot, id.generation}));
  // The bytes the kernel just wrote, where it wrote them.
  FUZZ_CHECK(lease.data() + lease.size() ==
             ring->buffer_base(bid) + m.buffers[bid].offset);
  std::string bytes(lease.view());
  held_.push_back({std::move(lease), std::move(bytes)});
}

void Harness::ReleaseOnOwner(Input& in) {
  if (held_.empty()) return;
  const size_t i = in.Pick(held_.size());
  const uint64_t word = held_[i].lease.release_word();
  held_[i].lease.Reset();
  FUZZ_CHECK(!held_[i].lease.holds_buffer());
  held_.erase(held_.begin() + static_cast<ptrdiff_t>(i));
  ModelApplyRelease(word);
}

void Harness::ReleaseOnOtherThread(Input& in) {
  if (held_.empty()) return;
  // The fuzzer is the reactor too: it drains before a push could find the queue full.
  if (queued_.size() == queue_.queue().capacity()) DrainReleases();
  const size_t i = in.Pick(held_.size());
  const uint64_t word = held_[i].lease.release_word();
  BufferLease lease = std::move(held_[i].lease);
  held_.erase(held_.begin() + static_cast<ptrdiff_t>(i));
  other_.Run([&lease] { lease.Reset(); });
  queued_.push_back(word);
  if (!wake_pending_) {
    wake_pending_ = true;
    ++expected_wakes_;
  }
}

void Harness::Retain(Input& in) {
  if (held_.empty()) return;
  const Held& original = held_[in.Pick(held_.size())];
  const ReleaseWord word = ReleaseWord::Unpack(original.lease.release_word());
  BufferRing* ring = manager_.ring({word.slot, word.generation});
  if (ring == nullptr) return;  // a detached ring takes no new readers
  ring->Retain(word.bid);
  RingModel& m = ModelOf(ring);
  ++m.buffers[word.bid].readers;
  ++m.readers;
  held_.push_back({BufferLease(&manager_, original.lease.release_word(), original.lease.data(),
                               original.lease.size()),
                   original.bytes});
}

void Harness::MoveLease(Input& in) {
  if (held_.size() < 2) return;
  const size_t to = in.Pick(held_.size());
  const size_t from = (to + 1 + in.Pick(held_.size() - 1)) % held_.size();
  const uint64_t overwritten = held_[to].lease.release_word();
  held_[to].lease = std::move(held_[from].lease);  // releases what `to` held
  FUZZ_CHECK(!held_[from].lease.holds_buffer());
  held_[to].bytes = std::move(held_[from].bytes);
  held_.erase(held_.begin() + static_cast<ptrdiff_t>(from));
  ModelApplyRelease(overwritten);
}

void Harness::DrainReleases() {
  manager_.DrainReleases();
  wake_pending_ = false;
  for (uint64_t word : queued_) ModelApplyRelease(word);
  queued_.clear();
}

void Harness::Flush() {
  std::vector<std::pair<uint32_t, uint32_t>> returned;
  manager_.Flush([&](RingId id) { returned.emplace_back(id.slot, id.generation); });
  std::sort(returned.begin(), returned.end());
  std::vector<std::pair<uint32_t, uint32_t>> expected;
  for (uint32_t slot = 0; slot < slots_.size(); ++slot) {
    Slot& s = slots_[slot];
    if (s.state == SlotState::kLive && ModelFlush(ModelOf(s.ring))) {
      expected.emplace_back(slot, s.generation);
    }
  }
  FUZZ_CHECK(returned == expected);
}

void Harness::ForgeRelease(Input& in) {
  const uint8_t kind = in.Byte();
  ReleaseWord word;
  switch (kind % 3) {
    case 0:  // a slot the manager never reaches
      word = {in.Byte(), static_cast<uint32_t>(ReleaseWord::kMaxSlots - 1 - in.Pick(16)), 0};
      break;
    case 1: {  // an old ring of a slot that moved on
      if (retired_.empty()) return;
      const RingId id = retired_[in.Pick(retired_.size())];
      if (slots_[id.slot].state != SlotState::kFree &&
          slots_[id.slot].generation == id.generation) {
        return;  // still awaiting releases: a real lease may hold this word
      }
      word = {in.Byte(), id.slot, id.generation};
      break;
    }
    default: {  // a buffer of a current ring that nobody holds (a double release)
      const uint32_t slot = static_cast<uint32_t>(in.Pick(slots_.size()));
      const Slot& s = slots_[slot];
      if (s.state == SlotState::kFree) return;
      const uint16_t bid = static_cast<uint16_t>(in.Byte() | in.Byte() << 8);
      const RingModel& m = ModelOf(s.ring);
      if (bid < m.buffers.size() && m.buffers[bid].readers > 0) return;
      word = {bid, slot, s.generation};
      break;
    }
  }
  FUZZ_CHECK(ReleaseWord::Unpack(word.Pack()) == word);
  // Only a word that stays stale may wait in the queue: by the time it is drained, the
  // buffer of a double release may have a reader again.
  if ((kind & 0x80) != 0 && kind % 3 != 2 && queued_.size() < queue_.queue().capacity()) {
    // As another thread's release would arrive, wake-up included.
    other_.Run([&] {
      uint64_t packed = word.Pack();
      FUZZ_CHECK(queue_.TryPush(packed));
    });
    queued_.push_back(word.Pack());
    if (!wake_pending_) {
      wake_pending_ = true;
      ++expected_wakes_;
    }
  } else {
    manager_.Release(word.Pack());
    ModelApplyRelease(word.Pack());
  }
}

void Harness::ReceiveOnDetached(Input& in) {
  if (retired_.empty()) return;
  const RingId id = retired_[in.Pick(retired_.size())];
  const uint32_t flags = IORING_CQE_F_BUFFER | (in.Byte() % 8) << IORING_CQE_BUFFER_SHIFT |
                         ((in.Byte() & 1) != 0 ? IORING_CQE_F_BUF_MORE : 0);
  // Nothing may change: the id names no live ring, whatever its slot holds now.
  BufferLease lease = manager_.Receive(id, 1 + in.Byte(), flags);
  FUZZ_CHECK(!lease.holds_buffer());
}

void Harness::ModelApplyRelease(uint64_t word) {
  const ReleaseWord w = ReleaseWord::Unpack(word);
  if (w.slot >= slots_.size() || slots_[w.slot].state == SlotState::kFree ||
      slots_[w.slot].generation != w.generation) {
    ++stats_.stale_releases;
    return;
  }
  Slot& s = slots_[w.slot];
  RingModel& m = ModelOf(s.ring);
  ModelRelease(m, w.bid);
  if (s.state == SlotState::kAwaitingRelease) {
    ++stats_.stale_releases;
    if (m.readers == 0) {
      --stats_.rings_awaiting_release;
      ModelVacate(w.slot);
    }
  }
}

uint32_t Harness::ModelTakeSlot() {
  if (free_slots_.empty()) {
    slots_.emplace_back();
    return static_cast<uint32_t>(slots_.size() - 1);
  }
  const uint32_t slot = free_slots_.back();
  free_slots_.pop_back();
  return slot;
}

void Harness::ModelVacate(uint32_t slot) {
  Slot& s = slots_[slot];
  if (s.ring != nullptr) ModelFlush(ModelOf(s.ring));
  ModelReturnToPool(s.ring);
  s.ring = nullptr;
  s.state = SlotState::kFree;
  s.generation = (s.generation + 1) & ReleaseWord::kGenerationMask;
  free_slots_.push_back(slot);
}

void Harness::ModelReturnToPool(BufferRing* ring) {
  if (pool_.size() >= config_.pool_max_rings) {
    rings_.erase(ring);
    ++stats_.rings_destroyed;
    stats_.ring_syscalls += kSyscallsPerRing;
    stats_.reserved_bytes -= RingBytes();
    return;
  }
  pool_.push_back(ring);
  // The ring that moved below the last pool_resident_rings madvises, once.
  if (pool_.size() > config_.pool_resident_rings) {
    const size_t leaving = pool_.size() - config_.pool_resident_rings - 1;
    if (leaving >= pool_released_) ++stats_.ring_syscalls;
    pool_released_ = leaving + 1;
  }
}

void Harness::CheckAll() {
  const BufferManagerStats got = manager_.stats();
  FUZZ_CHECK(got.rings_live == stats_.rings_live);
  FUZZ_CHECK(got.rings_pooled == pool_.size());
  FUZZ_CHECK(got.rings_awaiting_release == stats_.rings_awaiting_release);
  FUZZ_CHECK(got.rings_created == stats_.rings_created);
  FUZZ_CHECK(got.rings_destroyed == stats_.rings_destroyed);
  FUZZ_CHECK(got.pool_reuses == stats_.pool_reuses);
  FUZZ_CHECK(got.ring_syscalls == stats_.ring_syscalls);
  FUZZ_CHECK(got.stale_releases == stats_.stale_releases);
  FUZZ_CHECK(got.budget_refusals == stats_.budget_refusals);
  FUZZ_CHECK(got.bgid_refusals == stats_.bgid_refusals);
  FUZZ_CHECK(got.release_queue_full_retries == 0);
  FUZZ_CHECK(got.reserved_bytes == stats_.reserved_bytes);
  FUZZ_CHECK(got.memory_refusals == 0);
  const uint64_t bgids = incremental_ ? ConnectionRingsInUse() : 0;
  FUZZ_CHECK(got.bgids_in_use == bgids);
  FUZZ_CHECK(got.bgids_free == GidCapacity() - bgids);
  FUZZ_CHECK(wakes_.load() == expected_wakes_);

  std::vector<uint16_t> bgids_seen;
  for (const auto& [ring, model] : rings_) {
    CheckRing(*ring, model);
    bgids_seen.push_back(ring->bgid());
    if (incremental_ && ring != slots_[shared_.slot].ring) {
      FUZZ_CHECK(ring->bgid() >= config_.first_bgid && ring->bgid() <= config_.last_bgid);
    }
  }
  std::sort(bgids_seen.begin(), bgids_seen.end());
  FUZZ_CHECK(std::adjacent_find(bgids_seen.begin(), bgids_seen.end()) == bgids_seen.end());
  for (uint32_t slot = 0; slot < slots_.size(); ++slot) {
    const Slot& s = slots_[slot];
    BufferRing* live = manager_.ring({slot, s.generation});
    FUZZ_CHECK(live == (s.state == SlotState::kLive ? s.ring : nullptr));
  }
  for (const RingId& id : retired_) FUZZ_CHECK(manager_.ring(id) == nullptr);
  for (const Held& h : held_) FUZZ_CHECK(h.lease.view() == h.bytes);
}

void Harness::Finish() {
  while (!held_.empty()) {
    const uint64_t word = held_.back().lease.release_word();
    held_.pop_back();
    ModelApplyRelease(word);
  }
  DrainReleases();
  Flush();
  CheckAll();
  // Every buffer is back with the kernel, published once.
  for (const auto& [ring, model] : rings_) {
    FUZZ_CHECK(model.readers == 0 && model.pending.empty());
    FUZZ_CHECK(static_cast<uint16_t>(model.tail - model.head) == ring->config().entries);
  }
  for (const RingId& id : live_) manager_.DetachRing(id);
  const BufferManagerStats got = manager_.stats();
  FUZZ_CHECK(got.rings_live == (incremental_ ? 0 : 1));
  FUZZ_CHECK(got.rings_awaiting_release == 0);
}

// The manager's configuration from the input's first two bytes: small rings, pools,
// budgets and bgid ranges, so that every limit is reached within a few operations.
//   a: bit 0 incremental, bits 1-2 buffer size, bits 3-4 entries (1 to 8), bits 5-6 bgids
//      (1 to 4), bit 7 a kernel without IOU_PBUF_RING_INC (the manager falls back)
//   b: bits 0-1 pooled rings kept, bits 2-3 of them resident, bits 4-5 budget in rings
BufferManagerConfig ConfigFor(uint8_t a, uint8_t b) {
  BufferManagerConfig config;
  config.incremental = (a & 1) != 0;
  config.simulate_incremental_unsupported = (a & 0x80) != 0;
  config.buffer_size = std::array<uint32_t, 4>{1, 3, 16, 100}[(a >> 1) & 3];
  config.shared_entries = config.connection_entries = 1u << ((a >> 3) & 3);
  config.first_bgid = 2;
  config.last_bgid = static_cast<uint16_t>(config.first_bgid + ((a >> 5) & 3));
  config.pool_max_rings = b & 3;
  config.pool_resident_rings = (b >> 2) % 3;
  const size_t ring_bytes = size_t{config.connection_entries} * config.buffer_size;
  config.budget_bytes = ((b >> 4) & 3) == 3 ? SIZE_MAX : ring_bytes * (1 + ((b >> 4) & 3));
  return config;
}

}  // namespace
}  // namespace ringside

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  ringside::Input in(data + 2, size - 2);
  ringside::Harness harness(ringside::ConfigFor(data[0], data[1]));
  harness.Init();
  while (!in.empty()) harness.Step(in);
  harness.Finish();
  return 0;
}
