#include "ringside/buffers/buffer_ring.h"

#include <sys/mman.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ringside/buffers/locked_memory.h"

namespace ringside {
namespace {

absl::Status RegistrationError(int err, const BufferRingConfig& config) {
  const std::string what = absl::StrCat("registering buffer ring bgid ", config.bgid, " (",
                                        config.entries, " x ", config.buffer_size, " bytes)");
  switch (-err) {
    case EEXIST:
      return absl::AlreadyExistsError(absl::StrCat(what, ": ", std::strerror(-err)));
    case ENOMEM:
      return LockedMemoryError(what, uring_compat::BufRingBytes(config.entries));
    default:
      return absl::InternalError(absl::StrCat(what, ": ", std::strerror(-err)));
  }
}

absl::Status IncrementalUnsupported(const BufferRingConfig& config) {
  return absl::UnimplementedError(absl::StrCat(
      "incremental buffer consumption (IOU_PBUF_RING_INC) unsupported by this kernel "
      "(bgid ",
      config.bgid, "); use shared rings"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<BufferRing>> BufferRing::Create(io_uring* ring,
                                                               const BufferRingConfig& config) {
  if (config.entries == 0 || config.entries > 32768 || !std::has_single_bit(config.entries)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "buffer ring entries must be a power of two in [1, 32768], got ", config.entries));
  }
  if (config.buffer_size == 0 || config.buffer_size > (1u << 30)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "buffer size must be in [1, 1 GiB], got ", config.buffer_size));
  }
  if (config.incremental && config.simulate_incremental_unsupported) {
    return IncrementalUnsupported(config);
  }
  int err = 0;
  io_uring_buf_ring* br = uring_compat::SetupBufRing(
      ring, config.entries, config.bgid, config.incremental ? IOU_PBUF_RING_INC : 0, &err);
  if (br == nullptr && err == -EINVAL && config.incremental) {
    // EINVAL has several causes; the ring is "unsupported" only if it registers without INC.
    int plain_err = 0;
    io_uring_buf_ring* plain =
        uring_compat::SetupBufRing(ring, config.entries, config.bgid, 0, &plain_err);
    if (plain != nullptr) {
      uring_compat::FreeBufRing(ring, plain, config.entries, config.bgid);
      return IncrementalUnsupported(config);
    }
  }
  if (br == nullptr) return RegistrationError(err, config);

  const size_t slab_bytes = size_t{config.entries} * config.buffer_size;
  void* slab = mmap(nullptr, slab_bytes, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (slab == MAP_FAILED) {
    const int mmap_errno = errno;
    uring_compat::FreeBufRing(ring, br, config.entries, config.bgid);
    return absl::ResourceExhaustedError(absl::StrCat("reserving ", slab_bytes,
                                                     " bytes of buffer slab: ",
                                                     std::strerror(mmap_errno)));
  }
  return std::unique_ptr<BufferRing>(new BufferRing(ring, config, br, static_cast<char*>(slab)));
}

BufferRing::BufferRing(io_uring* ring, const BufferRingConfig& config, io_uring_buf_ring* br,
                       char* slab)
    : ring_(ring),
      config_(config),
      br_(br),
      slab_(slab),
      mask_(io_uring_buf_ring_mask(config.entries)),
      buffers_(config.entries) {
  for (uint32_t bid = 0; bid < config_.entries; ++bid) {
    io_uring_buf_ring_add(br_, buffer_base(bid), config_.buffer_size, bid, mask_, bid);
  }
  io_uring_buf_ring_advance(br_, config_.entries);
}

BufferRing::~BufferRing() {
  uring_compat::FreeBufRing(ring_, br_, config_.entries, config_.bgid);
  munmap(slab_, slab_bytes());
}

RecvSlice BufferRing::OnRecv(int32_t res, uint32_t cqe_flags) {
  if ((cqe_flags & IORING_CQE_F_BUFFER) == 0) return {};
  const uint32_t bid = cqe_flags >> IORING_CQE_BUFFER_SHIFT;
  if (bid >= config_.entries) return {};
  BufferState& buffer = buffers_[bid];
  if (res <= 0) {
    // An incremental ring's kernel consumed nothing and keeps the buffer; a shared ring's
    // buffer was taken off the ring and must come back or it leaks.
    if (!config_.incremental) {
      buffer.offset = 0;
      buffer.kernel_done = true;
      ++retired_unrecycled_;
      Recycle(bid);
    }
    return {};
  }
  const uint32_t len = static_cast<uint32_t>(res);
  char* data = buffer_base(bid) + (config_.incremental ? buffer.offset : 0);
  const bool more = config_.incremental && (cqe_flags & IORING_CQE_F_BUF_MORE) != 0;
  buffer.offset = config_.incremental ? buffer.offset + len : len;
  if (more) {
    ++stats_.buf_more_completions;
  } else {
    buffer.kernel_done = true;
    ++retired_unrecycled_;
  }
  ++buffer.readers;
  ++readers_total_;
  ++stats_.recv_completions;
  stats_.recv_bytes += len;
  return RecvSlice{bid, data, len};
}

void BufferRing::Retain(uint32_t bid) {
  ++buffers_[bid].readers;
  ++readers_total_;
}

bool BufferRing::Release(uint32_t bid) {
  if (bid >= config_.entries || buffers_[bid].readers == 0) {
    ++stats_.stale_releases;
    return false;
  }
  BufferState& buffer = buffers_[bid];
  --buffer.readers;
  --readers_total_;
  if (buffer.readers == 0 && buffer.kernel_done) Recycle(bid);
  return true;
}

void BufferRing::Recycle(uint32_t bid) {
  BufferState& buffer = buffers_[bid];
  ++stats_.buffers_recycled;
  stats_.retired_bytes += buffer.offset;
  buffer.offset = 0;
  buffer.kernel_done = false;
  --retired_unrecycled_;
  io_uring_buf_ring_add(br_, buffer_base(bid), config_.buffer_size, bid, mask_, pending_adds_++);
}

bool BufferRing::Flush() {
  if (pending_adds_ == 0) return false;
  io_uring_buf_ring_advance(br_, pending_adds_);
  pending_adds_ = 0;
  return true;
}

void BufferRing::ReleaseMemory() { madvise(slab_, slab_bytes(), MADV_DONTNEED); }

}  // namespace ringside
