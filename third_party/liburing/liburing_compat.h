// liburing_compat.h: what liburing 2.3 (Debian bookworm) lacks for kernels >= 6.12.
//
// Include this instead of <liburing.h>. It adds the incremental-consumption defines
// (IOU_PBUF_RING_INC, IORING_CQE_F_BUF_MORE), names the registration flags field that
// 2.3 still calls `pad`, and provides SetupBufRing()/FreeBufRing(), the page-aligned
// equivalent of io_uring_setup_buf_ring()/io_uring_free_buf_ring() that 2.3 does not have.
// All functions are thread-compatible: they touch only the io_uring they are given.
#ifndef RINGSIDE_THIRD_PARTY_LIBURING_LIBURING_COMPAT_H_
#define RINGSIDE_THIRD_PARTY_LIBURING_LIBURING_COMPAT_H_

#include <liburing.h>

#include <cstdint>

#ifndef IOU_PBUF_RING_MMAP
#define IOU_PBUF_RING_MMAP 1
#endif
#ifndef IOU_PBUF_RING_INC
#define IOU_PBUF_RING_INC 2
#endif
#ifndef IORING_CQE_F_BUF_MORE
#define IORING_CQE_F_BUF_MORE (1U << 4)
#endif
#ifndef IORING_RECVSEND_BUNDLE
#define IORING_RECVSEND_BUNDLE (1U << 4)
#endif

namespace ringside::uring_compat {

// Sets the registration flags of `reg`, whichever name the installed header gives the field
// (`flags` since liburing 2.4, `pad` before; same offset).
template <typename Reg>
void SetBufRegFlags(Reg& reg, uint16_t flags) {
  if constexpr (requires { reg.flags; }) {
    reg.flags = flags;
  } else {
    reg.pad = flags;
  }
}

// Bytes of page-aligned memory a ring of `entries` descriptors occupies.
size_t BufRingBytes(unsigned entries);

// Maps a page-aligned ring of `entries` descriptors (a power of two), registers it under
// `bgid` with `flags` (0 or IOU_PBUF_RING_INC) and initialises its tail. On failure returns
// nullptr and sets *err to the negative errno (-EINVAL for a kernel that refuses the flags).
io_uring_buf_ring* SetupBufRing(io_uring* ring, unsigned entries, uint16_t bgid,
                                uint16_t flags, int* err);

// Unregisters `bgid` and unmaps the ring. Returns 0 or the negative errno of unregistering;
// the memory is unmapped either way.
int FreeBufRing(io_uring* ring, io_uring_buf_ring* br, unsigned entries, uint16_t bgid);

}  // namespace ringside::uring_compat

#endif  // RINGSIDE_THIRD_PARTY_LIBURING_LIBURING_COMPAT_H_
