// buffer_manager.h: one reactor's buffer rings — a shared ring, or one small incremental
// ring per connection — with pooling, a memory budget and cross-thread releases.
//
// Shared mode registers one ring (bgid 0 by default) that every connection of the reactor
// receives into. Incremental mode gives each connection its own IOU_PBUF_RING_INC ring under
// a bgid from a GidAllocator, and registers the shared ring too: a connection that cannot
// have a ring of its own (no bgid left, over the budget, or the kernel refused the ring's
// locked memory — RLIMIT_MEMLOCK, see locked_memory.h) receives into the shared ring
// instead. If the kernel refuses IOU_PBUF_RING_INC, Init() falls back to shared mode and
// fallback_reason() says why.
//
//   Mailbox<uint64_t> releases(65536, [&] { WakeReactor(); });
//   BufferManager manager(&uring, config, &releases);
//   if (absl::Status s = manager.Init(); !s.ok()) return s;
//   absl::StatusOr<RingId> own = manager.AttachRing();   // per connection
//   RingId ring = own.ok() ? *own : manager.shared();    // no ring of its own to be had
//   ... prep a multishot recv with buffer select on manager.bgid(*ring) ...
//   BufferLease lease = manager.Receive(*ring, cqe->res, cqe->flags);
//   ... once per loop iteration:
//   manager.DrainReleases();            // apply releases sent by other threads
//   manager.Flush([&](RingId id) { ... buffers came back: re-arm parked receives ... });
//   manager.DetachRing(*ring);          // connection closed or idle
//
// Torn-down rings go to a pool, registered and with their bgid, so connection churn costs
// no syscalls; pooled slabs below the pool's last pool_resident_rings (the pool is taken
// from its end) are madvise()d back to the kernel, once each, and
// beyond a second watermark rings are unregistered and unmapped. A ring detached while
// leases still point into it stays mapped until the last lease is released.
//
// Thread-safety: everything but Release() runs on the owning (reactor) thread — the thread
// that constructed the manager, or the one that last called BindToCurrentThread().
// Release() (reached through BufferLease) is thread-safe: on the owner it applies at once,
// elsewhere it travels as one 64-bit ReleaseWord (see release_word.h) in the reactor's
// Mailbox (queue/mailbox.h); when the queue is full the releasing thread backs off and
// retries, so no release is lost. Retain() (reached through BufferLease::Share) runs on the
// owner only: a retain queued behind a release applied at once could recycle a buffer that
// is still being read.
#ifndef RINGSIDE_BUFFERS_BUFFER_MANAGER_H_
#define RINGSIDE_BUFFERS_BUFFER_MANAGER_H_

#include <pthread.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ringside/buffers/buffer_lease.h"
#include "ringside/buffers/buffer_ring.h"
#include "ringside/buffers/gid_allocator.h"
#include "ringside/queue/mailbox.h"

namespace ringside {

struct BufferManagerConfig {
  bool incremental = true;
  uint32_t buffer_size = 16384;
  uint32_t shared_entries = 1024;      // shared mode: buffers of the reactor's ring
  uint16_t shared_bgid = 0;
  uint32_t connection_entries = 8;     // incremental mode: buffers per connection ring
  uint16_t first_bgid = 2;             // incremental bgids come from [first, last]
  uint16_t last_bgid = 65535;
  size_t budget_bytes = size_t{4} << 30;  // slab bytes of all rings, live and pooled
  size_t pool_max_rings = 64;             // pooled rings kept registered
  size_t pool_resident_rings = 64;        // pooled rings whose slab stays resident
  bool simulate_incremental_unsupported = false;
};

// Names a ring instance: a slot and that slot's generation when the ring was attached.
struct RingId {
  uint32_t slot = 0;
  uint32_t generation = 0;
  friend bool operator==(const RingId&, const RingId&) = default;
};

struct BufferManagerStats {
  uint64_t rings_live = 0;  // connections' own rings; in shared mode, the shared ring
  uint64_t rings_pooled = 0;
  uint64_t rings_awaiting_release = 0;  // detached with leases outstanding
  uint64_t rings_created = 0;
  uint64_t rings_destroyed = 0;
  uint64_t pool_reuses = 0;
  uint64_t ring_syscalls = 0;  // mmap/munmap/register/unregister/madvise issued for rings
  uint64_t stale_releases = 0;  // releases that found no live ring (after teardown/reuse)
  uint64_t budget_refusals = 0;
  uint64_t bgid_refusals = 0;
  // Connection rings the kernel refused for lack of memory: RLIMIT_MEMLOCK for the ring's
  // descriptor pages (or address space for its slab).
  uint64_t memory_refusals = 0;
  uint64_t release_queue_full_retries = 0;
  uint64_t releases_queued = 0;  // releases that came from other threads through the queue
  uint64_t reserved_bytes = 0;  // slab bytes of every ring this manager holds
  uint64_t bgids_in_use = 0;
  uint64_t bgids_free = 0;
  RecycleHistogram recycles;  // every ring's recycled buffers, by completions served
};

class BufferManager final : public ReleaseSink {
 public:
  // `releases` carries other threads' releases to the owner; it must outlive the manager.
  BufferManager(io_uring* ring, const BufferManagerConfig& config,
                Mailbox<uint64_t>* releases);
  ~BufferManager();
  BufferManager(const BufferManager&) = delete;
  BufferManager& operator=(const BufferManager&) = delete;

  // Probes incremental support (falling back to shared mode), then registers the shared
  // ring. Fails when the kernel refuses either (ResourceExhausted names RLIMIT_MEMLOCK).
  absl::Status Init();
  void BindToCurrentThread() { owner_ = pthread_self(); }

  bool incremental() const { return config_.incremental; }
  const std::string& fallback_reason() const { return fallback_reason_; }
  const BufferManagerConfig& config() const { return config_; }

  // A ring for a new or re-attaching connection: its own ring in incremental mode, the
  // shared ring otherwise. ResourceExhausted when bgids, the budget or locked memory run
  // out; the connection can receive into shared() instead.
  absl::StatusOr<RingId> AttachRing();
  // The connection no longer receives into this ring (closed, or idle). Incremental rings
  // return to the pool once their last lease is released. No-op for the shared ring.
  void DetachRing(RingId id);

  // The live ring `id` names, or nullptr when it was detached.
  BufferRing* ring(RingId id);
  // The shared ring, in both modes (see the header comment); never detached.
  RingId shared() const { return shared_; }
  bool IsShared(RingId id) const { return id == shared_; }
  BufferRing* shared_ring() { return ring(shared_); }
  uint16_t bgid(RingId id) { return ring(id)->bgid(); }

  // Accounts a recv CQE on ring `id`. The lease is empty when the CQE carried no bytes.
  BufferLease Receive(RingId id, int32_t res, uint32_t cqe_flags);

  // Thread-safe; see the header comment.
  void Release(uint64_t release_word) override;
  // Owner thread only: one more reader on the buffer of a lease the caller holds.
  void Retain(uint64_t release_word) override;
  // Owner thread: applies releases queued by other threads.
  void DrainReleases();
  // Owner thread: publishes recycled buffers to the kernel, one tail store per ring, and
  // calls `returned` for each ring that got buffers back.
  void Flush(const std::function<void(RingId)>& returned);

  BufferManagerStats stats() const;

 private:
  enum class SlotState : uint8_t { kFree, kLive, kAwaitingRelease };
  struct Slot {
    std::unique_ptr<BufferRing> ring;
    uint32_t generation = 0;
    SlotState state = SlotState::kFree;
    bool dirty = false;
  };

  absl::Status InitShared();
  absl::StatusOr<std::unique_ptr<BufferRing>> NewConnectionRing();
  RingId Occupy(std::unique_ptr<BufferRing> ring);
  void Vacate(uint32_t slot);
  void ReturnToPool(std::unique_ptr<BufferRing> ring);
  void Destroy(std::unique_ptr<BufferRing> ring);
  void ApplyRelease(uint64_t word);
  void MarkDirty(uint32_t slot);
  size_t RingBytes() const;

  io_uring* const uring_;
  BufferManagerConfig config_;
  Mailbox<uint64_t>* const releases_;
  pthread_t owner_;

  std::string fallback_reason_;
  GidAllocator gids_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
  std::vector<uint32_t> dirty_slots_;
  std::vector<std::unique_ptr<BufferRing>> pool_;
  // pool_[0, pool_released_) have given their slabs back (and were not reused since).
  size_t pool_released_ = 0;
  RingId shared_{.slot = UINT32_MAX};  // names no slot until InitShared
  BufferManagerStats stats_;
};

}  // namespace ringside

#endif  // RINGSIDE_BUFFERS_BUFFER_MANAGER_H_
