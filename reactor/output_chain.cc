#include "ringside/reactor/output_chain.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

namespace ringside {
namespace {

// Rings of the smallest capacity that emptied chains gave back, kept for the next chain of
// this thread: a connection's chain empties after every response burst, and a malloc and
// free per burst cost pipelined requests 0.06 mallocs each. Bounded, and only of empty
// fragments, so the cache holds at most kCachedRings * kMinCapacity * sizeof(Fragment).
constexpr size_t kMinCapacity = 4;
constexpr size_t kCachedRings = 64;

template <typename Fragment>
std::vector<std::unique_ptr<Fragment[]>>& RingCache() {
  thread_local std::vector<std::unique_ptr<Fragment[]>> cache;
  return cache;
}

}  // namespace

void OutputChain::ReleaseCachedRings() { RingCache<Fragment>().clear(); }


OutputChain::OutputChain(OutputChain&& other) noexcept
    : pool_(other.pool_),
      ring_(std::move(other.ring_)),
      capacity_(std::exchange(other.capacity_, 0)),
      head_(std::exchange(other.head_, 0)),
      count_(std::exchange(other.count_, 0)),
      blocks_(std::exchange(other.blocks_, 0)),
      size_(std::exchange(other.size_, 0)),
      spare_(std::exchange(other.spare_, nullptr)),
      reserved_(std::exchange(other.reserved_, 0)) {}

OutputChain& OutputChain::operator=(OutputChain&& other) noexcept {
  if (this != &other) {
    Clear();
    pool_ = other.pool_;
    ring_ = std::move(other.ring_);
    capacity_ = std::exchange(other.capacity_, 0);
    head_ = std::exchange(other.head_, 0);
    count_ = std::exchange(other.count_, 0);
    blocks_ = std::exchange(other.blocks_, 0);
    size_ = std::exchange(other.size_, 0);
    spare_ = std::exchange(other.spare_, nullptr);
    reserved_ = std::exchange(other.reserved_, 0);
  }
  return *this;
}

void OutputChain::Reserve(size_t extra) {
  const size_t needed = size_t{count_} + extra;
  if (needed <= capacity_) return;
  size_t capacity = std::max<size_t>(capacity_, kMinCapacity);
  while (capacity < needed) capacity *= 2;
  auto& cache = RingCache<Fragment>();
  if (capacity == kMinCapacity && capacity_ == 0 && !cache.empty()) {
    ring_ = std::move(cache.back());
    cache.pop_back();
    capacity_ = kMinCapacity;
    head_ = 0;
    return;
  }
  auto ring = std::make_unique<Fragment[]>(capacity);  // may throw: nothing changed yet
  for (uint32_t i = 0; i < count_; ++i) ring[i] = std::move(At(i));
  ring_ = std::move(ring);
  capacity_ = static_cast<uint32_t>(capacity);
  head_ = 0;
}

void OutputChain::PushBack(Fragment&& f) {
  assert(count_ < capacity_);
  assert(f.pos < f.end);
  At(count_) = std::move(f);
  ++count_;
}

void OutputChain::Release(Fragment& f) {
  if (char** block = std::get_if<char*>(&f.holder)) {
    pool_->Release(*block);
    --blocks_;
  }
  f.holder = std::monostate();  // releases a lease, drops a shared reference
  f.pos = f.end = nullptr;
}

void OutputChain::PopFront() {
  assert(count_ > 0);
  Release(At(0));
  head_ = (head_ + 1) & (capacity_ - 1);
  --count_;
}

void OutputChain::FreeRingIfEmpty() {
  if (count_ != 0) return;
  auto& cache = RingCache<Fragment>();
  if (capacity_ == kMinCapacity && cache.size() < kCachedRings) {
    cache.push_back(std::move(ring_));  // its fragments are empty: Release left them so
  }
  ring_.reset();
  capacity_ = 0;
  head_ = 0;
}

size_t OutputChain::TailRoom() const {
  if (count_ == 0) return 0;
  const Fragment& last = At(count_ - 1);
  char* const* block = std::get_if<char*>(&last.holder);
  if (block == nullptr) return 0;
  return static_cast<size_t>(*block + pool_->block_size() - last.end);
}

bool OutputChain::AppendOrSpill(std::string_view bytes) {
  if (Append(bytes)) return true;
  auto copy = std::make_shared<const std::string>(bytes);
  AppendShared(std::move(copy));
  return false;
}

bool OutputChain::Append(std::string_view bytes) {
  assert(spare_ == nullptr && "Append between AppendBuffer and Commit");
  if (bytes.empty()) return true;
  const size_t block_size = pool_->block_size();
  const size_t room = TailRoom();
  const size_t rest = bytes.size() > room ? bytes.size() - room : 0;
  const size_t new_blocks = (rest + block_size - 1) / block_size;

  if (new_blocks > pool_->available()) {
    // Refused before anything is allocated; AcquireN counts the failure.
    pool_->AcquireN(new_blocks, [](char*) {});
    return false;
  }
  Reserve(new_blocks);

  // The tail block's room first.
  const char* src = bytes.data();
  size_t left = bytes.size();
  if (room > 0) {
    Fragment& last = At(count_ - 1);
    const size_t n = std::min(room, left);
    std::memcpy(const_cast<char*>(last.end), src, n);
    last.end += n;
    size_ += n;
    src += n;
    left -= n;
  }
  const bool acquired = pool_->AcquireN(new_blocks, [&](char* block) {
    const size_t n = std::min(block_size, left);
    std::memcpy(block, src, n);
    src += n;
    left -= n;
    Fragment f;
    f.pos = block;
    f.end = block + n;
    f.holder = block;
    PushBack(std::move(f));
    ++blocks_;
    size_ += n;  // as we go, so a std::bad_alloc mid-way leaves a consistent prefix
  });
  assert(acquired && left == 0);
  (void)acquired;
  return true;
}

void OutputChain::AppendLease(BufferLease lease) {
  assert(spare_ == nullptr && "AppendLease between AppendBuffer and Commit");
  if (lease.size() == 0) return;  // released here, by the parameter's destructor
  Reserve(1);
  Fragment f;
  f.pos = lease.data();
  f.end = lease.data() + lease.size();
  size_ += lease.size();
  f.holder = std::move(lease);
  PushBack(std::move(f));
}

void OutputChain::AppendStatic(std::string_view bytes) {
  assert(spare_ == nullptr && "AppendStatic between AppendBuffer and Commit");
  if (bytes.empty()) return;
  Reserve(1);
  Fragment f;
  f.pos = bytes.data();
  f.end = bytes.data() + bytes.size();
  PushBack(std::move(f));
  size_ += bytes.size();
}

void OutputChain::AppendShared(std::shared_ptr<const void> owner, std::string_view bytes) {
  assert(spare_ == nullptr && "AppendShared between AppendBuffer and Commit");
  if (bytes.empty()) return;
  Reserve(1);
  Fragment f;
  f.pos = bytes.data();
  f.end = bytes.data() + bytes.size();
  f.holder = std::move(owner);
  PushBack(std::move(f));
  size_ += bytes.size();
}

std::span<char> OutputChain::AppendBuffer(size_t min_size) {
  assert(spare_ == nullptr && "AppendBuffer twice without Commit");
  const size_t block_size = pool_->block_size();
  if (min_size > block_size) return {};
  const size_t room = TailRoom();
  if (room > 0 && room >= min_size) {
    reserved_ = room;
    const Fragment& last = At(count_ - 1);
    return {const_cast<char*>(last.end), room};
  }
  Reserve(1);  // now, so that Commit cannot fail
  char* block = pool_->Acquire();
  if (block == nullptr) {
    FreeRingIfEmpty();
    return {};
  }
  spare_ = block;
  reserved_ = block_size;
  return {block, block_size};
}

void OutputChain::Commit(size_t n) {
  assert(n <= reserved_ && "Commit of more than AppendBuffer returned");
  n = std::min(n, reserved_);
  reserved_ = 0;
  if (spare_ != nullptr) {
    char* block = std::exchange(spare_, nullptr);
    if (n == 0) {
      pool_->Release(block);
      FreeRingIfEmpty();
      return;
    }
    Fragment f;
    f.pos = block;
    f.end = block + n;
    f.holder = block;
    PushBack(std::move(f));  // room reserved by AppendBuffer
    ++blocks_;
  } else if (n > 0) {
    At(count_ - 1).end += n;
  }
  size_ += n;
}

int OutputChain::FillIovecs(iovec* iov, int max_iov, size_t max_bytes) const {
  int n = 0;
  size_t bytes = 0;
  for (uint32_t i = 0; i < count_ && bytes < max_bytes; ++i) {
    const Fragment& f = At(i);
    const size_t len = std::min(static_cast<size_t>(f.end - f.pos), max_bytes - bytes);
    if (n > 0 && static_cast<const char*>(iov[n - 1].iov_base) + iov[n - 1].iov_len == f.pos) {
      iov[n - 1].iov_len += len;  // contiguous with the previous fragment
    } else {
      if (n == max_iov) break;
      iov[n].iov_base = const_cast<char*>(f.pos);
      iov[n].iov_len = len;
      ++n;
    }
    bytes += len;
  }
  return n;
}

void OutputChain::Consume(size_t sent) {
  assert(sent <= size_ && "Consume of more than was pending");
  assert(spare_ == nullptr && "Consume between AppendBuffer and Commit");
  sent = std::min(sent, size_);
  size_ -= sent;
  while (sent > 0) {
    Fragment& f = At(0);
    const size_t len = static_cast<size_t>(f.end - f.pos);
    if (sent < len) {
      f.pos += sent;
      break;
    }
    sent -= len;
    PopFront();
  }
  FreeRingIfEmpty();
}

void OutputChain::Clear() {
  if (spare_ != nullptr) {
    pool_->Release(std::exchange(spare_, nullptr));
    reserved_ = 0;
  }
  while (count_ > 0) PopFront();
  size_ = 0;
  FreeRingIfEmpty();
}

size_t OutputChain::memory_bytes() const {
  static_assert(sizeof(Fragment) == 56 || sizeof(void*) != 8,
                "output_chain.h states 56 bytes per fragment");
  return size_t{blocks_} * pool_->block_size() + size_t{capacity_} * sizeof(Fragment);
}

}  // namespace ringside
