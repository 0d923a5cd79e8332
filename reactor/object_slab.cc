#include "ringside/reactor/object_slab.h"

#include <sys/mman.h>

#include <cassert>
#include <cstdint>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RINGSIDE_SLAB_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define RINGSIDE_SLAB_ASAN 1
#endif

#ifdef RINGSIDE_SLAB_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/lsan_interface.h>
#define RINGSIDE_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define RINGSIDE_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define RINGSIDE_POISON(p, n) ((void)(p), (void)(n))
#define RINGSIDE_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace ringside {

struct ObjectSlab::Chunk {
  ObjectSlab* owner = nullptr;
  Chunk* prev = nullptr;  // on the list of chunks with room
  Chunk* next = nullptr;
  void* free_list = nullptr;  // freed objects, each holding the next one's address
  uint32_t bumped = 0;        // objects handed out from fresh memory, in order
  uint32_t live = 0;
  bool linked = false;
};

namespace {

size_t RoundUp(size_t n, size_t to) { return (n + to - 1) / to * to; }

}  // namespace

ObjectSlab::ObjectSlab(size_t object_size, size_t alignment)
    : object_size_(RoundUp(object_size, alignment < alignof(void*) ? alignof(void*) : alignment)),
      first_offset_(RoundUp(sizeof(Chunk), alignment)),
      objects_per_chunk_((kChunkBytes - first_offset_) / object_size_) {
  assert(object_size >= 1 && object_size <= kChunkBytes / 4);
  assert(alignment != 0 && (alignment & (alignment - 1)) == 0 && alignment <= 4096);
}

ObjectSlab::~ObjectSlab() {
  if (spare_ != nullptr) UnmapChunk(spare_);
  assert(stats_.objects == 0);
}

void* ObjectSlab::Allocate() {
  Chunk* chunk = open_head_;
  if (chunk == nullptr) {
    if (spare_ != nullptr) {
      chunk = spare_;
      spare_ = nullptr;
    } else {
      chunk = MapChunk();
    }
    Link(chunk);
  }
  char* object;
  if (chunk->free_list != nullptr) {
    object = static_cast<char*>(chunk->free_list);
    RINGSIDE_UNPOISON(object, object_size_);
    chunk->free_list = *reinterpret_cast<void**>(object);
  } else {
    object = reinterpret_cast<char*>(chunk) + first_offset_ + chunk->bumped * object_size_;
    RINGSIDE_UNPOISON(object, object_size_);
    ++chunk->bumped;
  }
  ++chunk->live;
  ++stats_.objects;
  if (chunk->free_list == nullptr && chunk->bumped == objects_per_chunk_) Unlink(chunk);
  return object;
}

void ObjectSlab::Free(void* p) {
  if (p == nullptr) return;
  auto* chunk = reinterpret_cast<Chunk*>(reinterpret_cast<uintptr_t>(p) & ~(kChunkBytes - 1));
  assert(chunk->owner == this && chunk->live > 0);
  *static_cast<void**>(p) = chunk->free_list;
  chunk->free_list = p;
  RINGSIDE_POISON(p, object_size_);
  --chunk->live;
  --stats_.objects;
  if (chunk->live == 0) {
    if (chunk->linked) Unlink(chunk);
    if (spare_ == nullptr) {
      spare_ = chunk;
    } else {
      UnmapChunk(chunk);
    }
  } else if (!chunk->linked) {
    Link(chunk);
  }
}

ObjectSlab::Stats ObjectSlab::stats() const { return stats_; }

ObjectSlab::Chunk* ObjectSlab::MapChunk() {
  // Twice the size, then the misaligned ends unmapped: the kernel aligns to pages only.
  void* mapped = mmap(nullptr, 2 * kChunkBytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapped == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<uintptr_t>(mapped);
  const uintptr_t aligned = RoundUp(start, kChunkBytes);
  if (aligned > start) munmap(mapped, aligned - start);
  const uintptr_t end = start + 2 * kChunkBytes;
  if (end > aligned + kChunkBytes) {
    munmap(reinterpret_cast<void*>(aligned + kChunkBytes), end - (aligned + kChunkBytes));
  }
  void* memory = reinterpret_cast<void*>(aligned);
#ifdef RINGSIDE_SLAB_ASAN
  __lsan_register_root_region(memory, kChunkBytes);
  RINGSIDE_POISON(static_cast<char*>(memory) + first_offset_, kChunkBytes - first_offset_);
#endif
  ++stats_.chunks;
  ++stats_.chunks_mapped;
  Chunk* chunk = new (memory) Chunk;
  chunk->owner = this;
  return chunk;
}

void ObjectSlab::UnmapChunk(Chunk* chunk) {
#ifdef RINGSIDE_SLAB_ASAN
  RINGSIDE_UNPOISON(chunk, kChunkBytes);
  __lsan_unregister_root_region(chunk, kChunkBytes);
#endif
  munmap(chunk, kChunkBytes);
  --stats_.chunks;
  ++stats_.chunks_unmapped;
}

void ObjectSlab::Link(Chunk* chunk) {
  chunk->prev = open_tail_;
  chunk->next = nullptr;
  (open_tail_ != nullptr ? open_tail_->next : open_head_) = chunk;
  open_tail_ = chunk;
  chunk->linked = true;
}

void ObjectSlab::Unlink(Chunk* chunk) {
  (chunk->prev != nullptr ? chunk->prev->next : open_head_) = chunk->next;
  (chunk->next != nullptr ? chunk->next->prev : open_tail_) = chunk->prev;
  chunk->prev = chunk->next = nullptr;
  chunk->linked = false;
}

}  // namespace ringside
