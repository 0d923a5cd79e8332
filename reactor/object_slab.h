// object_slab.h: fixed-size objects in mmap'd chunks of their own, each chunk unmapped as
// soon as its last object is freed.
//
// Why: objects that live as long as a connection (the reactor's Connection, a handler)
// share glibc's arena with objects that come and go (a connection's buffer ring, its
// tables). When a burst of short-lived objects is freed between long-lived ones, the holes
// are smaller than a page and no page can go back to the kernel, not even by malloc_trim():
// 10,000 idle connections kept ~3 MB of such holes. In a slab, long-lived objects sit
// packed among their own kind, with no malloc header, and the arena's transient objects
// coalesce when freed. SlabAllocated<T> gives a final class operator new/delete from a slab
// of its size per thread.
//
//   class Connection final : public SlabAllocated<Connection> { ... };
//   auto c = std::make_unique<Connection>(...);  // from the slab; delete gives it back
//
//   ObjectSlab slab(sizeof(Thing), alignof(Thing));  // or an explicit slab
//   void* p = slab.Allocate();
//   slab.Free(p);
//
// Design. A chunk is kChunkBytes of anonymous memory aligned to its size, so Free() finds
// an object's chunk by masking its address; the chunk's header holds its free list (threaded
// through freed objects), a bump index (the rest of a new chunk is never touched, so never
// resident) and a count of live objects. Chunks with room are kept on a list, Allocate()
// takes from its front and a chunk that gets room again joins its back, so a chunk that
// started to drain is refilled last. A chunk whose
// last object is freed is unmapped, except one kept spare so that churn across a chunk
// boundary does not map and unmap at every step.
//
// Memory: the chunks holding live objects (at worst one object each after a peak, as in any
// slab; at best objects_per_chunk() each) plus one spare chunk. Mapping a chunk costs up to
// three syscalls (mmap, and munmap of the misaligned ends), unmapping one one, at most once
// per objects_per_chunk() allocations or frees.
//
// Thread-safety: thread-compatible, and no lock: a reactor thread takes none on its hot
// path (DESIGN.md, invariant 9). An ObjectSlab is used by one thread at a time.
// SlabAllocated<T> keeps one slab per thread: an object must be freed on the thread that
// allocated it, before that thread ends (a reactor's Connections and handlers are made and
// destroyed on its thread: TearDown destroys the last ones). A thread's slab is destroyed
// when the thread ends, giving back its spare chunk; a chunk that still holds objects is
// never unmapped. Debug builds assert that an object is freed into the slab it came from.
// Under AddressSanitizer, free and never-allocated objects are poisoned, and chunks are
// LeakSanitizer root regions (the malloc'd memory that slab objects point to is not leaked).
#ifndef RINGSIDE_REACTOR_OBJECT_SLAB_H_
#define RINGSIDE_REACTOR_OBJECT_SLAB_H_

#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>

namespace ringside {

class ObjectSlab {
 public:
  static constexpr size_t kChunkBytes = size_t{64} << 10;

  struct Stats {
    size_t objects = 0;          // allocated and not yet freed
    size_t chunks = 0;           // mapped now, the spare included
    uint64_t chunks_mapped = 0;  // since construction
    uint64_t chunks_unmapped = 0;
  };

  // Objects of `object_size` bytes (1..kChunkBytes / 4), aligned to `alignment` (a power of
  // two, at most 4096).
  ObjectSlab(size_t object_size, size_t alignment);
  // Unmaps the spare chunk. Chunks that still hold objects stay mapped (and are lost): an
  // object freed late is a bug, but one that reads freed memory rather than unmapped.
  ~ObjectSlab();
  ObjectSlab(const ObjectSlab&) = delete;
  ObjectSlab& operator=(const ObjectSlab&) = delete;

  // Uninitialised memory for one object; throws std::bad_alloc when no chunk can be mapped.
  void* Allocate();
  // `p` came from Allocate() of this slab (asserted in debug builds).
  void Free(void* p);

  Stats stats() const;
  size_t objects_per_chunk() const { return objects_per_chunk_; }

 private:
  struct Chunk;
  Chunk* MapChunk();
  void UnmapChunk(Chunk* chunk);
  void Link(Chunk* chunk);  // onto the back of the list of chunks with room
  void Unlink(Chunk* chunk);

  const size_t object_size_;
  const size_t first_offset_;  // of the first object from the chunk's start
  const size_t objects_per_chunk_;
  Chunk* open_head_ = nullptr;  // chunks with room, in the order they got it
  Chunk* open_tail_ = nullptr;
  Chunk* spare_ = nullptr;      // an empty chunk kept mapped (not on the list)
  Stats stats_;
};

// A base that gives the final class T operator new and delete from the calling thread's
// ObjectSlab of sizeof(T) bytes. See the thread-safety note above.
template <typename T>
class SlabAllocated {
 public:
  static void* operator new(size_t size) {
    static_assert(std::is_final_v<T>, "a derived class would not fit the slab's objects");
    (void)size;  // sizeof(T): T is final
    return Slab().Allocate();
  }
  static void operator delete(void* p) { Slab().Free(p); }

  // The calling thread's slab's.
  static ObjectSlab::Stats SlabStats() { return Slab().stats(); }

 private:
  static ObjectSlab& Slab() {
    thread_local ObjectSlab slab(sizeof(T), alignof(T));
    return slab;
  }
};

}  // namespace ringside

#endif  // RINGSIDE_REACTOR_OBJECT_SLAB_H_
