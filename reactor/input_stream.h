// input_stream.h: a connection's received-but-unconsumed bytes, kept contiguous.
//
// Receives arrive as BufferLeases. In incremental mode successive receives of one
// connection land back to back in the same buffer, so the stream just widens its view and
// a request spanning two completions is parsed in place. Only when unconsumed bytes
// straddle two buffers (a buffer retired mid-request, or shared mode) are they copied
// into an owned string; as soon as the copied prefix is consumed the stream returns to
// viewing the newest buffer directly.
//
// A reader that wants to keep bytes past its call (a request head, a body segment) takes
// them with Lend(): a lease of their own, valid until released, on any thread. Lent bytes
// are zero-copy when they lie in one ring buffer; joined (straddling) bytes, and every
// lent byte of a stream that must not pin ring buffers now (set_pin_buffers(false): the
// shared ring, which belongs to every connection, while more than half of it is out), are
// copied once into a SharedBytes. Pending (unlent) bytes never stay in the shared ring
// past a handler call: Unpin() copies them.
//
//   stream.Append(std::move(lease));
//   while (parse(stream.pending()) completes n bytes) stream.Consume(n);
//   BufferLease body = stream.Lend(body_size);   // kept, released later from any thread
//   stream.Unpin();   // shared mode, end of the iteration: the rest moves to our own copy
//
// An empty stream holds no state but its counter: the views, leases and copy buffer live in
// a State taken from this thread's free list when bytes arrive and given back when the last
// is consumed, so an idle connection's stream is 24 bytes, not 136.
//
// Thread-compatible: owned by the connection's reactor thread (Lend() too: it retains the
// buffer on the manager's owning thread). The leases it lends may go anywhere.
#ifndef RINGSIDE_REACTOR_INPUT_STREAM_H_
#define RINGSIDE_REACTOR_INPUT_STREAM_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ringside/buffers/buffer_lease.h"

namespace ringside {

class InputStream {
 public:
  InputStream() = default;
  ~InputStream() { Clear(); }
  InputStream(const InputStream&) = delete;
  InputStream& operator=(const InputStream&) = delete;

  void Append(BufferLease lease);
  std::string_view pending() const;
  void Consume(size_t n);
  // The first `n` pending bytes (n <= size()) as a lease of their own; they leave the stream.
  BufferLease Lend(size_t n);
  // Appends the first `n` pending bytes (n <= size()) to `out` and consumes them: a copy,
  // counted in copied_bytes() like the stream's own (a reader that keeps bytes it cannot
  // hold as leases).
  void CopyOut(size_t n, std::string* out);
  // Releases every ring buffer the stream holds; the pending bytes move to its own copy.
  void Unpin();
  // Drops everything (connection closing or going idle).
  void Clear();
  // False: Lend() copies instead of sharing ring buffers (a connection on the shared ring
  // while most of the ring's buffers are out, see the reactor's SharedRingCanLend).
  void set_pin_buffers(bool pin) { pin_buffers_ = pin; }

  bool empty() const { return pending().empty(); }
  size_t size() const { return pending().size(); }
  bool holds_buffer() const {
    return s_ != nullptr && (s_->current.holds_buffer() || s_->tail.holds_buffer());
  }
  uint64_t copied_bytes() const { return copied_bytes_; }
  // The pending bytes straddle ring buffers and live in the stream's own copy, where every
  // byte appended is copied too, until a Consume() passes the newest buffer's start.
  bool copying() const { return s_ != nullptr && !s_->copy.empty(); }

 private:
  // Zero-copy mode: the bytes are current.data()[begin, end).
  // Copy mode (copy non-empty): the bytes are copy[begin..]; tail holds the newest
  // buffer, whose bytes copy[tail_at..] also are, contiguously, from tail.data().
  struct State {
    BufferLease current;
    size_t begin = 0;
    size_t end = 0;
    std::string copy;
    BufferLease tail;
    size_t tail_at = 0;
  };
  using FreeList = std::vector<std::unique_ptr<State>>;
  static FreeList& FreeStates();
  State& Hold();  // s_, taken from the free list if the stream held none

  std::unique_ptr<State> s_;  // null while the stream is empty and holds no buffer
  uint64_t copied_bytes_ = 0;
  bool pin_buffers_ = true;
};

}  // namespace ringside

#endif  // RINGSIDE_REACTOR_INPUT_STREAM_H_
