#include "ringside/third_party/liburing/liburing_compat.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ringside::uring_compat {

size_t BufRingBytes(unsigned entries) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t bytes = static_cast<size_t>(entries) * sizeof(io_uring_buf);
  return (bytes + page - 1) / page * page;
}

io_uring_buf_ring* SetupBufRing(io_uring* ring, unsigned entries, uint16_t bgid,
                                uint16_t flags, int* err) {
  const size_t bytes = BufRingBytes(entries);
  void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) {
    *err = -errno;
    return nullptr;
  }
  auto* br = static_cast<io_uring_buf_ring*>(mem);
  io_uring_buf_reg reg;
  std::memset(&reg, 0, sizeof(reg));
  reg.ring_addr = reinterpret_cast<uint64_t>(br);
  reg.ring_entries = entries;
  reg.bgid = bgid;
  SetBufRegFlags(reg, flags);
  const int ret = io_uring_register_buf_ring(ring, &reg, 0);
  if (ret != 0) {
    munmap(mem, bytes);
    *err = ret;
    return nullptr;
  }
  io_uring_buf_ring_init(br);
  *err = 0;
  return br;
}

int FreeBufRing(io_uring* ring, io_uring_buf_ring* br, unsigned entries, uint16_t bgid) {
  const int ret = io_uring_unregister_buf_ring(ring, bgid);
  munmap(br, BufRingBytes(entries));
  return ret;
}

}  // namespace ringside::uring_compat
