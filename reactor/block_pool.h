// block_pool.h: a reactor's pool of fixed-size blocks for output bytes, with a hard cap.
//
// OutputChain copies the bytes a handler formats (response headers, small bodies) into
// blocks from this pool. The pool bounds that memory per reactor: at most max_blocks()
// blocks are out at once, and Acquire() past the cap returns null, so output backpressure
// is a return value the caller handles (stop parsing that connection until its output
// drains, or close it), never a crash and never unbounded growth. Released blocks are
// kept for reuse up to retain_blocks and freed beyond that, so after a burst the pool
// holds at most retain_blocks * block_size bytes, not the burst's peak.
//
//   ringside::BlockPool pool(/*block_size=*/16 * 1024, /*max_blocks=*/4096);
//   char* block = pool.Acquire();           // block_size() writable bytes, or null
//   if (block == nullptr) { /* over the cap: pool.stats().acquire_failures counts it */ }
//   ...
//   pool.Release(block);                    // cached, or freed beyond retain_blocks
//
// Design. A block is one ::operator new(block_size) allocation (16-byte aligned; the size
// need not be a power of two). The free cache is a vector of pointers whose capacity,
// retain_blocks pointers, is reserved up front and never grows, so Release never
// allocates. A free list threaded through the free blocks themselves would save those
// retain_blocks * 8 bytes but forbid blocks smaller than a pointer, which the tests use to
// cross block boundaries at every byte; 512 bytes per reactor at the default was judged
// not worth it. Nothing here was benchmarked: Acquire and Release are a compare, a
// vector push/pop and, on a cache miss or overflow, one malloc or free.
//
// Memory: at most max_blocks * block_size bytes in blocks out at once, plus at most
// retain_blocks * block_size cached (max_blocks caps blocks in use only; cached blocks
// are not counted against it), plus retain_blocks * sizeof(char*) for the cache.
//
// Thread safety: thread-compatible. A pool belongs to one reactor thread and every method,
// including Release and stats(), must be called on that thread (or be externally
// serialised). A block may be written by whoever holds it but must come back through
// Release on the owning thread. The pool must outlive every block it handed out: its
// destructor frees the cache and asserts (debug builds) that no block is still in use.
#ifndef RINGSIDE_REACTOR_BLOCK_POOL_H_
#define RINGSIDE_REACTOR_BLOCK_POOL_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ringside {

class BlockPool {
 public:
  static constexpr size_t kDefaultBlockSize = 16 * 1024;
  static constexpr size_t kDefaultRetainBlocks = 64;

  struct Stats {
    size_t block_size = 0;
    size_t blocks_in_use = 0;  // handed out and not yet released
    size_t blocks_cached = 0;  // free, kept for reuse (<= retain_blocks)
    size_t max_blocks = 0;     // the cap on blocks_in_use
    size_t peak_blocks_in_use = 0;
    uint64_t acquire_failures = 0;  // Acquire/AcquireN calls refused at the cap
    size_t bytes_in_use = 0;        // blocks_in_use * block_size
    size_t bytes_cached = 0;        // blocks_cached * block_size
  };

  // block_size >= 1 bytes per block; at most max_blocks in use at once (0 makes every
  // Acquire fail); at most retain_blocks free blocks cached. Allocates only the cache's
  // pointer array; no block is allocated until it is first acquired.
  BlockPool(size_t block_size, size_t max_blocks, size_t retain_blocks = kDefaultRetainBlocks);
  ~BlockPool();

  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;

  // A block of block_size() bytes (contents unspecified), or null when max_blocks() are in
  // use (counted in acquire_failures). May throw std::bad_alloc if the heap is exhausted.
  char* Acquire();

  // All or nothing: if `count` more blocks fit under the cap, calls out(block) for each of
  // them and returns true; otherwise takes none, counts one acquire failure and returns
  // false. `out` must not throw and must not call back into the pool.
  template <typename F>
  bool AcquireN(size_t count, F&& out) {
    if (count > max_blocks_ - in_use_) {
      ++acquire_failures_;
      return false;
    }
    for (size_t i = 0; i < count; ++i) out(TakeBlock());
    return true;
  }

  // Returns a block that Acquire or AcquireN handed out. It is cached if fewer than
  // retain_blocks are, otherwise freed. Never allocates.
  void Release(char* block);

  // Frees every cached block now (e.g. on a memory-pressure signal).
  void Trim();

  size_t block_size() const { return block_size_; }
  size_t max_blocks() const { return max_blocks_; }
  size_t retain_blocks() const { return retain_blocks_; }
  size_t blocks_in_use() const { return in_use_; }
  size_t blocks_cached() const { return cache_.size(); }
  // How many more blocks Acquire could hand out now.
  size_t available() const { return max_blocks_ - in_use_; }
  uint64_t acquire_failures() const { return acquire_failures_; }
  Stats stats() const;

 private:
  // A block from the cache or the heap; the caller has checked the cap.
  char* TakeBlock();

  const size_t block_size_;
  const size_t max_blocks_;
  const size_t retain_blocks_;
  size_t in_use_ = 0;
  size_t peak_in_use_ = 0;
  uint64_t acquire_failures_ = 0;
  std::vector<char*> cache_;  // capacity retain_blocks_, reserved once
};

}  // namespace ringside

#endif  // RINGSIDE_REACTOR_BLOCK_POOL_H_
