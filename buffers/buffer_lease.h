// buffer_lease.h: a reader's view into a received buffer, which holds that buffer back
// from the kernel until the view is released.
//
// A BufferLease is what the receive path hands to readers: `view()` is the bytes, and
// destroying or Reset()-ing the lease releases its reference, from any thread. The
// buffer returns to the kernel once it is kernel-done and its last lease is gone. A lease
// may also hold bytes the receive path had to copy (SharedBytes, shared_bytes.h): readers
// cannot tell the two apart.
//
//   BufferLease lease = manager.Receive(ring_id, cqe->res, cqe->flags);
//   Parse(lease.view());
//   BufferLease body = lease.Share(head_size, lease.size() - head_size);  // a second view
//   worker_queue.push(std::move(lease));  // released later on a worker thread
//
// Thread-safety: a lease is a move-only value owned by one thread at a time; it may be
// released on any thread. Share() must run on the thread that owns the sink (the reactor,
// for a received buffer). Its ReleaseSink (the BufferManager) must outlive it.
#ifndef RINGSIDE_BUFFERS_BUFFER_LEASE_H_
#define RINGSIDE_BUFFERS_BUFFER_LEASE_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

#include "ringside/buffers/release_word.h"

namespace ringside {

// Where a lease's release goes. Release() is thread-safe; Retain() adds a reader to what a
// lease the caller holds names (on the sink's owning thread, for a BufferManager).
class ReleaseSink {
 public:
  virtual void Release(uint64_t release_word) = 0;
  virtual void Retain(uint64_t release_word) = 0;

 protected:
  ~ReleaseSink() = default;
};

class BufferLease {
 public:
  BufferLease() = default;
  BufferLease(ReleaseSink* sink, uint64_t release_word, const char* data, uint32_t len)
      : sink_(sink), word_(release_word), data_(data), len_(len) {}
  BufferLease(BufferLease&& other) noexcept
      : sink_(std::exchange(other.sink_, nullptr)),
        word_(other.word_),
        data_(std::exchange(other.data_, nullptr)),
        len_(std::exchange(other.len_, 0)) {}
  BufferLease& operator=(BufferLease&& other) noexcept {
    if (this != &other) {
      Reset();
      sink_ = std::exchange(other.sink_, nullptr);
      word_ = other.word_;
      data_ = std::exchange(other.data_, nullptr);
      len_ = std::exchange(other.len_, 0);
    }
    return *this;
  }
  BufferLease(const BufferLease&) = delete;
  BufferLease& operator=(const BufferLease&) = delete;
  ~BufferLease() { Reset(); }

  // Releases the reference now; the lease becomes empty.
  void Reset() {
    if (sink_ != nullptr) std::exchange(sink_, nullptr)->Release(word_);
    data_ = nullptr;
    len_ = 0;
  }

  // A second lease on `len` bytes at `offset` of this one's view, holding its own reference.
  BufferLease Share(size_t offset, size_t len) const {
    if (sink_ != nullptr) sink_->Retain(word_);
    return BufferLease(sink_, word_, data_ + offset, static_cast<uint32_t>(len));
  }

  bool holds_buffer() const { return sink_ != nullptr; }
  std::string_view view() const { return {data_, len_}; }
  const char* data() const { return data_; }
  uint32_t size() const { return len_; }
  uint64_t release_word() const { return word_; }
  uint32_t bid() const { return ReleaseWord::Unpack(word_).bid; }

 private:
  ReleaseSink* sink_ = nullptr;
  uint64_t word_ = 0;
  const char* data_ = nullptr;
  uint32_t len_ = 0;
};

}  // namespace ringside

#endif  // RINGSIDE_BUFFERS_BUFFER_LEASE_H_
