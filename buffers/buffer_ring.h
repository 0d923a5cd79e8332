// buffer_ring.h: one provided-buffer ring registered on an io_uring, and its slab.
//
// A BufferRing registers `entries` buffers of `buffer_size` bytes under one buffer group id
// (bgid), with or without incremental consumption (IOU_PBUF_RING_INC). It turns a recv
// CQE's result and flags into the slice of bytes it delivered, counts readers per buffer,
// and gives a buffer back to the kernel only when the kernel is done with it and its last
// reader let go (DESIGN.md, "The receive path").
//
//   auto ring = BufferRing::Create(&uring, {.bgid = 7, .entries = 8,
//                                           .buffer_size = 16384, .incremental = true});
//   // per recv CQE:
//   RecvSlice slice = (*ring)->OnRecv(cqe->res, cqe->flags);  // slice holds one reader
//   ... read slice.data[0..slice.len) ...
//   (*ring)->Release(slice.bid);    // last reader of a kernel-done buffer recycles it
//   (*ring)->Flush();               // once per batch: publish recycled buffers to the kernel
//
// The slab is reserved with mmap and only becomes resident where the kernel writes, so an
// idle ring costs its one page of descriptors. Incremental mode tracks each buffer's fill
// offset itself (the kernel fills a buffer over many CQEs; IORING_CQE_F_BUF_MORE means it
// will write more into it).
//
// Thread-safety: thread-compatible. Every call comes from the thread that owns the
// io_uring; cross-thread releases are routed by BufferManager. Stats are plain counters read
// on that thread (the reactor publishes snapshots).
#ifndef RINGSIDE_BUFFERS_BUFFER_RING_H_
#define RINGSIDE_BUFFERS_BUFFER_RING_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ringside/third_party/liburing/liburing_compat.h"

namespace ringside {

struct BufferRingConfig {
  uint16_t bgid = 0;
  uint32_t entries = 8;         // power of two, 1..32768
  uint32_t buffer_size = 16384; // bytes per buffer, 1..(1 << 30)
  bool incremental = true;      // register with IOU_PBUF_RING_INC
  // Behaves as a kernel that refuses IOU_PBUF_RING_INC (tests, forced fallback).
  bool simulate_incremental_unsupported = false;
};

// What one recv CQE delivered. `len == 0` and `bid == kNoBuffer` when it carried no buffer.
struct RecvSlice {
  static constexpr uint32_t kNoBuffer = UINT32_MAX;
  uint32_t bid = kNoBuffer;
  char* data = nullptr;
  uint32_t len = 0;
  bool has_buffer() const { return bid != kNoBuffer; }
};

struct BufferRingStats {
  uint64_t recv_completions = 0;
  uint64_t recv_bytes = 0;
  uint64_t buf_more_completions = 0;
  uint64_t buffers_recycled = 0;
  uint64_t retired_bytes = 0;   // bytes buffers held when recycled, summed
  uint64_t stale_releases = 0;  // releases of a buffer that had no reader
};

struct BufferState {
  uint32_t offset = 0;     // bytes the kernel has written into the buffer
  uint32_t readers = 0;    // outstanding views
  bool kernel_done = false;
};

class BufferRing {
 public:
  // Registers the ring. Errors: InvalidArgument for bad sizes, Unimplemented ("unsupported")
  // when the kernel refuses IOU_PBUF_RING_INC, AlreadyExists for a bgid in use,
  // ResourceExhausted for ENOMEM (RLIMIT_MEMLOCK: see locked_memory.h), Internal for any
  // other registration failure.
  static absl::StatusOr<std::unique_ptr<BufferRing>> Create(io_uring* ring,
                                                            const BufferRingConfig& config);
  ~BufferRing();
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;

  // Accounts one recv CQE on this ring's bgid. The returned slice, if it has a buffer and
  // bytes, holds one reader on its buffer that the caller must Release().
  RecvSlice OnRecv(int32_t res, uint32_t cqe_flags);

  // Adds a reader to a buffer that already has one (a second view of held bytes).
  void Retain(uint32_t bid);
  // Drops a reader. Returns false, counting a stale release, when the buffer had none.
  bool Release(uint32_t bid);
  // Publishes the buffers recycled since the last call with one tail store. Returns whether
  // any were published.
  bool Flush();

  // Returns pages of the slab to the kernel (they read back as zeros); requires no readers.
  void ReleaseMemory();

  bool has_readers() const { return readers_total_ > 0; }
  // Buffers the kernel can still fill (not retired, or recycled).
  uint32_t buffers_with_kernel() const { return config_.entries - retired_unrecycled_; }
  uint16_t bgid() const { return config_.bgid; }
  const BufferRingConfig& config() const { return config_; }
  const BufferRingStats& stats() const { return stats_; }
  const std::vector<BufferState>& buffers() const { return buffers_; }
  char* buffer_base(uint32_t bid) const { return slab_ + size_t{bid} * config_.buffer_size; }
  // The descriptor ring the kernel reads: what Flush published, at the tail. Fuzzing plays
  // the kernel's side of it.
  io_uring_buf_ring* descriptors() const { return br_; }
  size_t slab_bytes() const { return size_t{config_.entries} * config_.buffer_size; }

 private:
  BufferRing(io_uring* ring, const BufferRingConfig& config, io_uring_buf_ring* br, char* slab);
  void Recycle(uint32_t bid);

  io_uring* const ring_;
  const BufferRingConfig config_;
  io_uring_buf_ring* const br_;
  char* const slab_;
  const int mask_;
  std::vector<BufferState> buffers_;
  int pending_adds_ = 0;
  uint32_t retired_unrecycled_ = 0;
  uint64_t readers_total_ = 0;
  BufferRingStats stats_;
};

}  // namespace ringside

#endif  // RINGSIDE_BUFFERS_BUFFER_RING_H_
