// shared_bytes.h: bytes the receive path had to copy, handed out as BufferLeases.
//
// A reader gets received bytes as a BufferLease. Most point into a ring buffer; some cannot:
// bytes that straddled two buffers and were joined, or bytes a shared-mode connection keeps
// past the loop iteration (a shared ring's buffers belong to every connection, so one
// connection must not pin them while its request is incomplete). Those are copied once into
// a SharedBytes, and the lease works the same: Share() adds a reference, the last Release()
// frees the copy, on any thread.
//
//   BufferLease lease = SharedBytes::Copy(joined);
//   BufferLease part = lease.Share(0, 10);
//
// Thread-safety: Retain and Release are atomic; any thread may hold or drop a reference.
#ifndef RINGSIDE_BUFFERS_SHARED_BYTES_H_
#define RINGSIDE_BUFFERS_SHARED_BYTES_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "ringside/buffers/buffer_lease.h"

namespace ringside {

class SharedBytes final : public ReleaseSink {
 public:
  // A lease on a new copy of `bytes`; an empty lease for empty bytes.
  static BufferLease Copy(std::string_view bytes) { return Adopt(std::string(bytes)); }
  // A lease on `bytes` themselves, taken over without a copy (bytes a reader had already
  // joined into a string of its own).
  static BufferLease Adopt(std::string bytes) {
    if (bytes.empty()) return BufferLease();
    auto* shared = new SharedBytes(std::move(bytes));
    return BufferLease(shared, 0, shared->bytes_.data(),
                       static_cast<uint32_t>(shared->bytes_.size()));
  }

  void Retain(uint64_t) override { refs_.fetch_add(1, std::memory_order_relaxed); }
  void Release(uint64_t) override {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

 private:
  explicit SharedBytes(std::string bytes) : bytes_(std::move(bytes)) {}
  ~SharedBytes() = default;

  std::atomic<uint32_t> refs_{1};
  const std::string bytes_;
};

}  // namespace ringside

#endif  // RINGSIDE_BUFFERS_SHARED_BYTES_H_
