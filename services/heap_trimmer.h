// HeapTrimmer: gives memory the server freed back to the kernel, so a server that has come
// through a burst (thousands of connections, megabyte bodies) goes back to the resident size
// of what it still holds instead of keeping its peak for the rest of its life.
//
// glibc keeps freed memory in its arenas. Two of its defaults make that costly for a server:
// the threshold above which a block gets its own mapping rises to the size of the largest
// mapped block freed so far (so after one 2 MiB response every later one lives in an arena),
// and free pages in the middle of an arena are only returned by malloc_trim(). HeapTrimmer
// fixes the threshold when it is made and trims when the arenas hold enough free memory to
// be worth the page faults of getting it back.
//
//   HeapTrimmer trimmer({});        // once, in main()
//   ...
//   trimmer.MaybeTrim();            // from a low-rate tick, e.g. once a second
//
// Thread-safety: the allocator policy is process-wide. Construct one HeapTrimmer per process;
// MaybeTrim() may be called from any one thread at a time (glibc locks each arena it trims).
// Under AddressSanitizer the sanitizer's allocator is in charge and MaybeTrim() finds nothing.
#ifndef RINGSIDE_SERVICES_HEAP_TRIMMER_H_
#define RINGSIDE_SERVICES_HEAP_TRIMMER_H_

#include <cstddef>
#include <cstdint>

namespace ringside {

struct HeapTrimmerConfig {
  // Blocks at least this large are mapped on their own and unmapped when freed.
  size_t mmap_threshold = size_t{256} << 10;
  // MaybeTrim() trims when the arenas hold more free bytes than this.
  size_t trim_above = size_t{2} << 20;
};

class HeapTrimmer {
 public:
  explicit HeapTrimmer(HeapTrimmerConfig config);
  HeapTrimmer(const HeapTrimmer&) = delete;
  HeapTrimmer& operator=(const HeapTrimmer&) = delete;

  // Free bytes the arenas hold (what a trim could give back, at most).
  static size_t FreeBytes();

  // Trims if FreeBytes() is above the configured mark; returns whether it trimmed.
  bool MaybeTrim();

  uint64_t trims() const { return trims_; }

 private:
  const HeapTrimmerConfig config_;
  uint64_t trims_ = 0;
};

}  // namespace ringside

#endif  // RINGSIDE_SERVICES_HEAP_TRIMMER_H_
