// output_chain.h: a connection's unsent output, as an ordered chain of fragments that
// one writev/sendmsg sends without first copying them together.
//
// It replaces the std::string a connection used to append to and the reactor swapped and
// cleared: a cleared string keeps its capacity (100 idle connections that had each echoed
// an 8 MiB body held 826 MB), and a string cannot point at bytes that already exist. The
// model is Envoy's Buffer::OwnedImpl (slices plus external fragments). A fragment is one of
//  - copied bytes, in blocks from the reactor's BlockPool (Append, AppendBuffer/Commit);
//  - a BufferLease: received bytes sent in place, the lease released once they are sent;
//  - static bytes (AppendStatic), by reference;
//  - shared bytes kept alive by a std::shared_ptr (AppendShared), by reference.
//
//   ringside::BlockPool pool(16 * 1024, /*max_blocks=*/4096);  // one per reactor
//   ringside::OutputChain out(&pool);                            // one per connection
//   if (!out.Append("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")) {
//     /* pool at its cap: nothing was appended; stop reading this connection until
//        its output drains, or close it */
//   }
//   out.AppendLease(std::move(body_lease));    // echo a received body without a copy
//   out.AppendStatic("\r\n");                 // a literal: static storage duration
//   out.AppendShared(cached_response);        // std::shared_ptr<const std::string>
//
//   iovec iov[ringside::OutputChain::kRecommendedIovecs];
//   int n = out.FillIovecs(iov, ringside::OutputChain::kRecommendedIovecs);
//   ssize_t sent = writev(fd, iov, n);        // or an io_uring SENDMSG, see below
//   if (sent > 0) out.Consume(sent);          // a partial send resumes mid-fragment
//
// Formatting in place, without a temporary string:
//   std::span<char> buf = out.AppendBuffer(20);   // >= 20 writable bytes, or empty
//   if (!buf.empty()) {
//     auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), content_length);
//     out.Commit(end - buf.data());               // exactly once, even Commit(0)
//   }
//
// Append is all or nothing: it returns false, appending nothing and changing nothing
// but the pool's acquire_failures, when the pool cannot supply every block the bytes
// need. So a caller never has half a response queued; it can retry the same Append
// after Consume has returned blocks. An Append bigger than the whole pool
// (max_blocks * block_size minus what is in use) can never succeed: large bodies go in
// as leases or shared fragments, which take no blocks. AppendLease, AppendStatic and
// AppendShared cannot fail (short of std::bad_alloc growing the fragment array; if
// operator new throws inside an Append, the chain stays consistent but may hold a prefix
// of the bytes).
//
// Lifetime rules.
//  - A lease's bytes stay valid until the lease is released, and the chain releases it
//    exactly once: in the Consume that sends its last byte, or in Clear, or in the
//    destructor. An empty lease (size 0) is released at once.
//  - A static fragment's bytes must outlive the chain (string literals, static tables).
//  - A shared fragment's bytes stay valid while its shared_ptr is held; the chain drops
//    its reference when the bytes are sent or on Clear. The bytes must not be modified
//    while they are in a chain.
//  - The pool must outlive the chain.
//  - The iovecs from FillIovecs point into the fragments: they stay valid until the next
//    Consume, Clear or destruction (appends never move bytes already in the chain, even
//    when the fragment array grows). With io_uring, that means a chain with a send in
//    flight must not be Consumed past, or Cleared, until its completion arrives (and for
//    a zero-copy send, until its notification); a closing connection defers Clear.
//
// Memory. Per chain, inline: sizeof(OutputChain), 56 bytes on x86-64. On the heap,
// only while output is pending: the blocks holding copied bytes (charged to the pool,
// whose cap bounds them per reactor) and a ring of fragments, 56 bytes each, starting at
// 4 and doubling. Both go as the bytes are sent: a block returns to the pool once all its
// bytes are sent, and the ring is freed the moment the chain becomes empty, so an idle
// connection holds no output memory at all (memory_bytes() == 0; the tests check the
// process's live heap bytes). The price is one small allocation (224 bytes, within
// glibc's per-thread cache sizes; not benchmarked) per response burst on an idle
// connection; keeping 4 fragments inline instead would cost every connection 224 bytes
// more whether idle or not.
// Fragment count is not capped by the chain: callers bound it by bounding what they queue
// per connection (e.g. stop reading a connection whose size() is over a limit).
//
// Thread safety: thread-compatible. A chain belongs to its connection's reactor thread,
// the same thread that owns its BlockPool; every method must be called there. Leases
// are released on whichever thread calls Consume, Clear or the destructor (their
// ReleaseSink is thread-safe); shared fragments drop their references there too. Nothing
// in the chain is shared with other threads except through those two.
#ifndef RINGSIDE_REACTOR_OUTPUT_CHAIN_H_
#define RINGSIDE_REACTOR_OUTPUT_CHAIN_H_

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "ringside/buffers/buffer_lease.h"
#include "ringside/reactor/block_pool.h"

namespace ringside {

class OutputChain {
 public:
  // iovecs per writev/sendmsg the reactor should gather: 64 * 16 KiB blocks is 1 MiB,
  // more than a socket send buffer takes in one call, and 1 KiB of iovecs on the stack.
  // The kernel limit is UIO_MAXIOV (IOV_MAX), 1024; beyond it sendmsg fails with
  // EMSGSIZE and writev with EINVAL.
  static constexpr int kRecommendedIovecs = 64;

  // `pool` supplies the blocks for copied bytes and must outlive the chain.
  explicit OutputChain(BlockPool* pool) : pool_(pool) {}
  ~OutputChain() { Clear(); }

  // Moving takes over the fragments; the moved-from chain is empty (and holds nothing).
  OutputChain(OutputChain&& other) noexcept;
  OutputChain& operator=(OutputChain&& other) noexcept;
  OutputChain(const OutputChain&) = delete;
  OutputChain& operator=(const OutputChain&) = delete;

  // Copies `bytes` to the end: first into the room left in the last block (if the last
  // fragment is a block), then into new blocks. All or nothing: false, with nothing
  // appended, when the pool cannot supply every block needed. Empty `bytes`: true.
  bool Append(std::string_view bytes);

  // Append, or, when the pool is at its cap, a heap copy of `bytes` as a shared fragment:
  // the bytes are never refused. Returns false when it had to spill to the heap; the
  // caller then applies backpressure (a reactor stops reading that connection), which is
  // what keeps spills bounded.
  bool AppendOrSpill(std::string_view bytes);

  // Appends the lease's bytes by reference; see the lifetime rules above.
  void AppendLease(BufferLease lease);

  // Appends bytes with static storage duration (or that otherwise outlive the chain) by
  // reference. Nothing is copied.
  void AppendStatic(std::string_view bytes);

  // Appends `bytes`, which `owner` keeps alive, by reference. The reference is dropped
  // when the bytes are sent or the chain is cleared.
  void AppendShared(std::shared_ptr<const void> owner, std::string_view bytes);
  void AppendShared(std::shared_ptr<const std::string> s) {
    const std::string_view bytes = s ? std::string_view(*s) : std::string_view();
    AppendShared(std::shared_ptr<const void>(std::move(s)), bytes);
  }

  // Reserve-and-commit for producers that format in place. AppendBuffer returns at least
  // `min_size` writable bytes at the end of the chain (all the room left in the last
  // block if that is enough, otherwise a whole new block), or an empty span when the pool
  // is at its cap or min_size > the pool's block size. Then Commit(n), n <= the span's
  // size, appends the first n bytes written there; Commit(0) gives the space back. Exactly
  // one Commit must follow each non-empty AppendBuffer, with no other call on the chain in
  // between.
  std::span<char> AppendBuffer(size_t min_size = 1);
  void Commit(size_t n);

  // The unsent bytes, from the current position, as at most max_iov iovecs covering at
  // most max_bytes bytes (the first fragment from its offset, the last one possibly cut
  // short by max_bytes). Adjacent fragments that are contiguous in memory share an iovec.
  // Returns the number of iovecs filled (0 when empty). Does not change the chain.
  int FillIovecs(iovec* iov, int max_iov, size_t max_bytes = SIZE_MAX) const;

  // Marks the first `sent` unsent bytes as sent (sent <= size(); asserted in debug
  // builds, clamped otherwise). Blocks whose bytes are all sent go back to the pool,
  // leases are released and shared references dropped as their last byte is sent; when
  // the chain becomes empty its fragment ring is freed. The next FillIovecs resumes at
  // the exact fragment and offset.
  void Consume(size_t sent);

  // Drops all unsent output: blocks back to the pool, leases released, references
  // dropped, ring freed. The chain is then empty and holds no memory.
  void Clear();

  size_t size() const { return size_; }  // unsent bytes
  bool empty() const { return size_ == 0; }
  size_t fragments() const { return count_; }  // fragments holding unsent bytes
  size_t blocks() const { return blocks_; }    // pool blocks held
  // Heap bytes this chain holds itself: its blocks and its fragment ring (not the
  // leases' buffers or shared strings it references). 0 whenever empty().
  size_t memory_bytes() const;

  // An emptied chain's smallest fragment ring (4 fragments, 224 bytes) goes to a cache of
  // this thread's, up to 64 of them, for the next chain that needs one: without it every
  // response burst cost a malloc and a free. This frees the cache (tests, trimming).
  static void ReleaseCachedRings();

 private:
  // A run of unsent bytes [pos, end) and what keeps them alive: nothing (static), a pool
  // block (the block's start), a lease, or a shared owner.
  struct Fragment {
    const char* pos = nullptr;
    const char* end = nullptr;
    std::variant<std::monostate, char*, BufferLease, std::shared_ptr<const void>> holder;
  };

  Fragment& At(size_t i) { return ring_[(head_ + i) & (capacity_ - 1)]; }
  const Fragment& At(size_t i) const { return ring_[(head_ + i) & (capacity_ - 1)]; }
  // Makes room for `extra` more fragments (may throw std::bad_alloc; changes nothing then).
  void Reserve(size_t extra);
  void PushBack(Fragment&& f);  // room must have been reserved
  void PopFront();              // releases the front fragment's holder
  void Release(Fragment& f);    // returns/releases the holder, leaves f empty
  void FreeRingIfEmpty();
  // Writable room after the last fragment's bytes if it is a block, else 0.
  size_t TailRoom() const;

  BlockPool* pool_;
  std::unique_ptr<Fragment[]> ring_;  // capacity_ slots, a power of two, or null
  uint32_t capacity_ = 0;
  uint32_t head_ = 0;
  uint32_t count_ = 0;
  uint32_t blocks_ = 0;
  size_t size_ = 0;
  char* spare_ = nullptr;  // a block AppendBuffer handed out that Commit has not taken
  size_t reserved_ = 0;    // the size of the span AppendBuffer last returned (debug aid)
};

}  // namespace ringside

#endif  // RINGSIDE_REACTOR_OUTPUT_CHAIN_H_
