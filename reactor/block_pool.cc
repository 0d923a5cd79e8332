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
  if (cache_.size() < retain_blocks_) {
    cache_.push_back(block);  // within the reserved capacity: never allocates
  } else {
    ::operator delete(block);
  }
}

void BlockPool::Trim() {
  for (char* block : cache_) ::operator delete(block);
  cache_.clear();
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
