#include "ringside/reactor/block_pool.h"

#include <algorithm>
#include <cassert>
#include <new>

namespace ringside {

BlockPool::BlockPool(size_t block_size, size_t max_blocks, size_t retain_blocks)
    : block_size_(std::max<size_t>(block_size, 1)),
      max_blocks_(max_blocks),
      retain_blocks_(retain_blocks) {
  cache_.reserve(retain_blocks_);
}

BlockPool::~BlockPool() {
  assert(in_use_ == 0 && "a BlockPool must outlive every block it handed out");
  Trim();
}

char* BlockPool::Acquire() {
  if (in_use_ == max_blocks_) {
    ++acquire_failures_;
    return nullptr;
  }
  return TakeBlock();
}

char* BlockPool::TakeBlock() {
  char* block;
  if (!cache_.empty()) {
    block = cache_.back();
    cache_.pop_back();
    cache_low_ = std::min(cache_low_, cache_.size());
  } else {
    block = static_cast<char*>(::operator new(block_size_));
  }
  ++in_use_;
  peak_in_use_ = std::max(peak_in_use_, in_use_);
  return block;
}

void BlockPool::Release(char* block) {
  assert(block != nullptr);
  assert(in_use_ > 0 && "Release of a block this pool did not hand out");
  --in_use_;
  if (cache_.size() == cache_.capacity()) {
    try {
      cache_.reserve(std::max<size_t>(2 * cache_.capacity(), 16));
    } catch (const std::bad_alloc&) {
      ::operator delete(block);  // no room to remember it: the heap takes it back
      return;
    }
  }
  cache_.push_back(block);
}

bool BlockPool::Decay() {
  // The blocks at the bottom of the cache are the ones no Acquire reached this interval.
  FreeCachedDownTo(cache_.size() - (std::max(cache_low_, retain_blocks_) - retain_blocks_));
  cache_low_ = cache_.size();
  return cache_.size() > retain_blocks_;
}

void BlockPool::Trim() {
  FreeCachedDownTo(0);
  cache_low_ = 0;
}

void BlockPool::FreeCachedDownTo(size_t count) {
  if (count >= cache_.size()) return;
  for (size_t i = 0; i < cache_.size() - count; ++i) ::operator delete(cache_[i]);
  cache_.erase(cache_.begin(), cache_.begin() + static_cast<ptrdiff_t>(cache_.size() - count));
  if (cache_.capacity() > 2 * std::max<size_t>(cache_.size(), 16)) cache_.shrink_to_fit();
}

BlockPool::Stats BlockPool::stats() const {
  Stats s;
  s.block_size = block_size_;
  s.blocks_in_use = in_use_;
  s.blocks_cached = cache_.size();
  s.max_blocks = max_blocks_;
  s.peak_blocks_in_use = peak_in_use_;
  s.acquire_failures = acquire_failures_;
  s.bytes_in_use = in_use_ * block_size_;
  s.bytes_cached = cache_.size() * block_size_;
  return s;
}

}  // namespace ringside
