#include "ringside/buffers/buffer_manager.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"

namespace ringside {
namespace {

// mmap + register for the ring page, mmap for the slab; the reverse to destroy.
constexpr uint64_t kSyscallsPerRingSetup = 3;
constexpr uint64_t kSyscallsPerRingTeardown = 3;

}  // namespace

BufferManager::BufferManager(io_uring* ring, const BufferManagerConfig& config,
                             Mailbox<uint64_t>* releases)
    : uring_(ring),
      config_(config),
      releases_(releases),
      owner_(pthread_self()),
      gids_(config.first_bgid, config.last_bgid) {}

BufferManager::~BufferManager() {
  // Rings unregister in their destructors; the io_uring must still be alive here.
  slots_.clear();
  pool_.clear();
  pool_released_ = 0;
}

absl::Status BufferManager::Init() {
  if (config_.incremental) {
    absl::StatusOr<RingId> probe = AttachRing();
    if (probe.ok()) {
      DetachRing(*probe);
    } else if (absl::IsUnimplemented(probe.status())) {
      fallback_reason_ = std::string(probe.status().message());
      config_.incremental = false;
    } else {
      return probe.status();
    }
  }
  return InitShared();
}

absl::Status BufferManager::InitShared() {
  BufferRingConfig ring_config{.bgid = config_.shared_bgid,
                               .entries = config_.shared_entries,
                               .buffer_size = config_.buffer_size,
                               .incremental = false,
                               .recycles = &stats_.recycles};
  absl::StatusOr<std::unique_ptr<BufferRing>> ring = BufferRing::Create(uring_, ring_config);
  if (!ring.ok()) return ring.status();
  stats_.ring_syscalls += kSyscallsPerRingSetup;
  ++stats_.rings_created;
  shared_ = Occupy(*std::move(ring));
  // In incremental mode rings_live counts connections' own rings; the shared ring's use
  // shows in the reactor's count of connections that fell back to it.
  if (!config_.incremental) ++stats_.rings_live;
  return absl::OkStatus();
}

size_t BufferManager::RingBytes() const {
  return size_t{config_.connection_entries} * config_.buffer_size;
}

absl::StatusOr<std::unique_ptr<BufferRing>> BufferManager::NewConnectionRing() {
  if (!pool_.empty()) {
    std::unique_ptr<BufferRing> ring = std::move(pool_.back());
    pool_.pop_back();
    pool_released_ = std::min(pool_released_, pool_.size());
    ++stats_.pool_reuses;
    return ring;
  }
  if (stats_.reserved_bytes + RingBytes() > config_.budget_bytes) {
    ++stats_.budget_refusals;
    return absl::ResourceExhaustedError(absl::StrCat(
        "buffer memory budget of ", config_.budget_bytes, " bytes reached (",
        stats_.reserved_bytes / RingBytes(), " rings of ", RingBytes(), " bytes)"));
  }
  std::optional<uint16_t> bgid = gids_.Acquire();
  if (!bgid) {
    ++stats_.bgid_refusals;
    return absl::ResourceExhaustedError(absl::StrCat(
        "no buffer group ids left (", gids_.capacity(), " in use)"));
  }
  BufferRingConfig ring_config{.bgid = *bgid,
                               .entries = config_.connection_entries,
                               .buffer_size = config_.buffer_size,
                               .incremental = true,
                               .simulate_incremental_unsupported =
                                   config_.simulate_incremental_unsupported,
                               .recycles = &stats_.recycles};
  absl::StatusOr<std::unique_ptr<BufferRing>> ring = BufferRing::Create(uring_, ring_config);
  if (!ring.ok()) {
    gids_.Release(*bgid).IgnoreError();
    if (absl::IsResourceExhausted(ring.status())) ++stats_.memory_refusals;
    return ring.status();
  }
  stats_.ring_syscalls += kSyscallsPerRingSetup;
  ++stats_.rings_created;
  stats_.reserved_bytes += RingBytes();
  return ring;
}

absl::StatusOr<RingId> BufferManager::AttachRing() {
  if (!config_.incremental) return shared_;
  absl::StatusOr<std::unique_ptr<BufferRing>> ring = NewConnectionRing();
  if (!ring.ok()) return ring.status();
  ++stats_.rings_live;
  return Occupy(*std::move(ring));
}

RingId BufferManager::Occupy(std::unique_ptr<BufferRing> ring) {
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& s = slots_[slot];
  s.ring = std::move(ring);
  s.state = SlotState::kLive;
  return RingId{slot, s.generation};
}

void BufferManager::DetachRing(RingId id) {
  if (IsShared(id) || ring(id) == nullptr) return;
  Slot& s = slots_[id.slot];
  --stats_.rings_live;
  if (s.ring->has_readers()) {
    s.state = SlotState::kAwaitingRelease;
    ++stats_.rings_awaiting_release;
    return;
  }
  Vacate(id.slot);
}

void BufferManager::Vacate(uint32_t slot) {
  Slot& s = slots_[slot];
  s.ring->Flush();
  ReturnToPool(std::move(s.ring));
  s.state = SlotState::kFree;
  s.dirty = false;
  // A new owner of this slot must not accept words meant for the old one.
  s.generation = (s.generation + 1) & ReleaseWord::kGenerationMask;
  free_slots_.push_back(slot);
}

void BufferManager::ReturnToPool(std::unique_ptr<BufferRing> ring) {
  if (pool_.size() >= config_.pool_max_rings) {
    Destroy(std::move(ring));
    return;
  }
  pool_.push_back(std::move(ring));
  // The pool is taken from its end, so only its last pool_resident_rings stay resident: the
  // ring this push moved below them gives its slab back, unless it has done so already.
  // Returning the ring just pushed instead (the next one to be reused) cost a madvise on
  // nearly every close of a churning load whose pool hovered above the watermark (21,531
  // madvise calls in 36,000 connections), and a page fault on its next receive.
  if (pool_.size() > config_.pool_resident_rings) {
    const size_t leaving = pool_.size() - config_.pool_resident_rings - 1;
    if (leaving >= pool_released_) {
      pool_[leaving]->ReleaseMemory();
      ++stats_.ring_syscalls;
    }
    pool_released_ = leaving + 1;
  }
}

void BufferManager::Destroy(std::unique_ptr<BufferRing> ring) {
  const uint16_t bgid = ring->bgid();
  ring.reset();
  gids_.Release(bgid).IgnoreError();
  stats_.ring_syscalls += kSyscallsPerRingTeardown;
  ++stats_.rings_destroyed;
  stats_.reserved_bytes -= RingBytes();
}

BufferRing* BufferManager::ring(RingId id) {
  if (id.slot >= slots_.size()) return nullptr;
  Slot& s = slots_[id.slot];
  if (s.state != SlotState::kLive || s.generation != id.generation) return nullptr;
  return s.ring.get();
}

BufferLease BufferManager::Receive(RingId id, int32_t res, uint32_t cqe_flags) {
  BufferRing* r = ring(id);
  if (r == nullptr) return {};
  const RecvSlice slice = r->OnRecv(res, cqe_flags);
  MarkDirty(id.slot);
  if (slice.len == 0) return {};
  const ReleaseWord word{static_cast<uint16_t>(slice.bid), id.slot, id.generation};
  return BufferLease(this, word.Pack(), slice.data, slice.len);
}

void BufferManager::Release(uint64_t release_word) {
  if (pthread_equal(pthread_self(), owner_)) {
    ApplyRelease(release_word);
    return;
  }
  // A full queue makes the releasing thread wait (yielding) for room: never dropped.
  releases_->Push(release_word);
}

void BufferManager::Retain(uint64_t release_word) {
  const ReleaseWord word = ReleaseWord::Unpack(release_word);
  // The caller holds a lease on this buffer, so its slot is live or awaiting release and
  // the buffer has a reader: a second reader cannot revive a recycled buffer.
  slots_[word.slot].ring->Retain(word.bid);
}

void BufferManager::DrainReleases() {
  stats_.releases_queued += releases_->Drain([this](uint64_t&& word) { ApplyRelease(word); });
}

void BufferManager::ApplyRelease(uint64_t release_word) {
  const ReleaseWord word = ReleaseWord::Unpack(release_word);
  if (word.slot >= slots_.size()) {
    ++stats_.stale_releases;
    return;
  }
  Slot& s = slots_[word.slot];
  if (s.state == SlotState::kFree || s.generation != word.generation) {
    ++stats_.stale_releases;
    return;
  }
  s.ring->Release(word.bid);
  if (s.state == SlotState::kAwaitingRelease) {
    // The connection is gone; this lease only kept the memory alive.
    ++stats_.stale_releases;
    if (!s.ring->has_readers()) {
      --stats_.rings_awaiting_release;
      Vacate(word.slot);
    }
    return;
  }
  MarkDirty(word.slot);
}

void BufferManager::MarkDirty(uint32_t slot) {
  Slot& s = slots_[slot];
  if (s.dirty) return;
  s.dirty = true;
  dirty_slots_.push_back(slot);
}

void BufferManager::Flush(const std::function<void(RingId)>& returned) {
  for (uint32_t slot : dirty_slots_) {
    Slot& s = slots_[slot];
    if (!s.dirty) continue;
    s.dirty = false;
    if (s.state != SlotState::kLive) continue;
    if (s.ring->Flush() && returned) returned(RingId{slot, s.generation});
  }
  dirty_slots_.clear();
}

BufferManagerStats BufferManager::stats() const {
  BufferManagerStats out = stats_;
  out.rings_pooled = pool_.size();
  out.release_queue_full_retries = releases_->full_retries();
  out.bgids_in_use = gids_.in_use();
  out.bgids_free = gids_.capacity() - gids_.in_use();
  return out;
}

}  // namespace ringside
