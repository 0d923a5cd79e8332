// block_pool.h: a reactor's pool of fixed-size blocks for output bytes, with a hard cap.
//
// OutputChain copies the bytes a handler formats (response headers, small bodies) into
// blocks from this pool. The pool bounds that memory per reactor: at most max_blocks()
// blocks exist at once, in use and cached together, and Acquire() past the cap returns
// null, so output backpressure is a return value the caller handles (stop parsing that
// connection until its output drains, or close it), never a crash and never unbounded
// growth. A released block is cached for reuse; Decay(), called by the owner once an
// interval, frees the cached blocks beyond retain_blocks that no Acquire needed during
// the whole interval. So a steady load (64 keep-alive connections each holding a block
// while its response is sent) reuses the same blocks instead of going to malloc for most
// of them, and two intervals after a burst the pool holds retain_blocks blocks again, not
// the burst's peak.
//
//   ringside::BlockPool pool(/*block_size=*/16 * 1024, /*max_blocks=*/4096);
//   char* block = pool.Acquire();           // block_size() writable bytes, or null
//   if (block == nullptr) { /* over the cap: pool.stats().acquire_failures counts it */ }
//   ...
//   pool.Release(block);                    // cached until Decay finds it unneeded
//   if (pool.Decay()) { /* blocks beyond retain_blocks are cached: call again later */ }
//
// Design. A block is one ::operator new(block_size) allocation (16-byte aligned; the size
// need not be a power of two). The free cache is a vector of pointers. A free list
// threaded through the free blocks themselves would save those 8 bytes a cached block but
// forbid blocks smaller than a pointer, which the tests use to cross block boundaries at
// every byte. Measured (keep-alive, 64 connections, 16 KiB blocks): when the cache kept a
// fixed 16 blocks, 0.36 mallocs a request went to the heap, and glibc's trim of the
// thread's arena turned the frees into madvise calls and the next mallocs into page
// faults, up to 3.4% of the server's CPU in some runs; with Decay, none.
//
// Memory: at most max_blocks * block_size bytes in blocks, in use and cached together
// (a block is allocated only when the cache is empty), plus the cache's pointer vector,
// which grows with the cache (a Release that cannot grow it frees the block instead).
// After a load ends, two Decay intervals bring the cache down to retain_blocks.
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

  // block_size >= 1 bytes per block; at most max_blocks in existence at once (0 makes
  // every Acquire fail); retain_blocks free blocks are kept however long they go unused.
  // Allocates only the cache's pointer array; no block is allocated until it is first
  // acquired.
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

  // Returns a block that Acquire or AcquireN handed out. It is cached (Decay frees it
  // once it has gone unneeded for an interval). Never throws.
  void Release(char* block);

  // Ends an interval: frees the cached blocks beyond retain_blocks that stayed cached for
  // the whole interval since the previous call (the cache never dipped into them).
  // Returns whether more than retain_blocks are still cached, i.e. whether the owner
  // should call again after another interval.
  bool Decay();

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
  void FreeCachedDownTo(size_t count);

  const size_t block_size_;
  const size_t max_blocks_;
  const size_t retain_blocks_;
  size_t in_use_ = 0;
  size_t peak_in_use_ = 0;
  uint64_t acquire_failures_ = 0;
  std::vector<char*> cache_;
  // The fewest blocks cached at any moment since the last Decay: the blocks below the top
  // `cache_low_` were not needed in the interval.
  size_t cache_low_ = 0;
};

}  // namespace ringside

#endif  // RINGSIDE_REACTOR_BLOCK_POOL_H_
