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

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

#include "buffers/buffer_lease.h"

namespace ringside {

class SharedBytes final : public ReleaseSink {
 public:
  // A lease on a new copy of `bytes`; an empty lease for empty bytes.
  static BufferLease Copy(std::string_view bytes) {
    if (bytes.empty()) return BufferLease();
    auto* shared = new SharedBytes(bytes);
    return BufferLease(shared, 0, shared->data_.get(), static_cast<uint32_t>(bytes.size()));
  }

  void Retain(uint64_t) override { refs_.fetch_add(1, std::memory_order_relaxed); }
  void Release(uint64_t) override {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

 private:
  explicit SharedBytes(std::string_view bytes)
      : data_(new char[bytes.size()]) {
    std::copy(bytes.begin(), bytes.end(), data_.get());
  }
  ~SharedBytes() = default;

  std::atomic<uint32_t> refs_{1};
  std::unique_ptr<char[]> data_;
};

}  // namespace ringside

#endif  // RINGSIDE_BUFFERS_SHARED_BYTES_H_
