#include "ringside/reactor/input_stream.h"

#include <utility>

#include "ringside/buffers/shared_bytes.h"

namespace ringside {
namespace {

constexpr size_t kRetainedCopyCapacity = 16 << 10;
// States a thread keeps for the next streams that receive: one per connection holding
// unconsumed bytes at once is what a reactor needs; more are freed.
constexpr size_t kKeptStates = 64;

}  // namespace

InputStream::FreeList& InputStream::FreeStates() {
  thread_local FreeList free_states;
  return free_states;
}

InputStream::State& InputStream::Hold() {
  if (s_ == nullptr) {
    FreeList& free_states = FreeStates();
    if (free_states.empty()) {
      s_ = std::make_unique<State>();
    } else {
      s_ = std::move(free_states.back());
      free_states.pop_back();
    }
  }
  return *s_;
}

std::string_view InputStream::pending() const {
  if (s_ == nullptr) return {};
  const State& s = *s_;
  if (!s.copy.empty()) return std::string_view(s.copy).substr(s.begin);
  return std::string_view(s.current.data() + s.begin, s.end - s.begin);
}

void InputStream::Append(BufferLease lease) {
  if (lease.size() == 0) return;
  State& s = Hold();
  if (s.copy.empty()) {
    if (s.begin == s.end) {
      s.current = std::move(lease);
      s.begin = 0;
      s.end = s.current.size();
      return;
    }
    if (lease.release_word() == s.current.release_word() &&
        lease.data() == s.current.data() + s.end) {
      // Same buffer, right behind the pending bytes: widen the view; current already
      // holds the buffer. (Adjacent bids are adjacent in memory too, hence the word check.)
      s.end += lease.size();
      return;
    }
    s.copy.assign(s.current.data() + s.begin, s.end - s.begin);
    copied_bytes_ += s.end - s.begin;
    s.current.Reset();
    s.begin = 0;
  } else if (s.tail.holds_buffer() && lease.release_word() == s.tail.release_word() &&
             lease.data() == s.tail.data() + (s.copy.size() - s.tail_at)) {
    s.copy.append(lease.data(), lease.size());
    copied_bytes_ += lease.size();
    return;
  }
  s.tail_at = s.copy.size();
  s.copy.append(lease.data(), lease.size());
  copied_bytes_ += lease.size();
  s.tail = std::move(lease);
}

void InputStream::Consume(size_t n) {
  if (s_ == nullptr) return;
  State& s = *s_;
  s.begin += n;
  if (s.copy.empty()) {
    if (s.begin == s.end) Clear();
    return;
  }
  if (s.begin == s.copy.size()) {
    Clear();
    return;
  }
  if (s.tail.holds_buffer() && s.begin >= s.tail_at) {
    // The straddling prefix is gone: view the newest buffer directly again.
    const size_t skip = s.begin - s.tail_at;
    const size_t len = s.copy.size() - s.tail_at;
    s.current = std::move(s.tail);
    s.begin = skip;
    s.end = len;
    s.copy.clear();
  }
}

BufferLease InputStream::Lend(size_t n) {
  BufferLease lent;
  if (n == 0) return lent;
  State& s = *s_;
  if (pin_buffers_ && s.copy.empty()) {
    lent = s.current.Share(s.begin, n);
  } else if (pin_buffers_ && s.tail.holds_buffer() && s.begin >= s.tail_at) {
    lent = s.tail.Share(s.begin - s.tail_at, n);
  } else if (!s.copy.empty() && s.begin == 0 && n == s.copy.size()) {
    // All of the joined copy: handed over as it is, not copied again.
    lent = SharedBytes::Adopt(std::move(s.copy));
    s.copy.clear();
    Clear();
    return lent;
  } else {
    lent = SharedBytes::Copy(pending().substr(0, n));
    copied_bytes_ += n;
  }
  Consume(n);
  return lent;
}

void InputStream::CopyOut(size_t n, std::string* out) {
  out->append(pending().substr(0, n));
  copied_bytes_ += n;
  Consume(n);
}

void InputStream::Unpin() {
  if (s_ == nullptr) return;
  State& s = *s_;
  if (s.copy.empty()) {
    if (!s.current.holds_buffer()) return;
    s.copy.assign(s.current.data() + s.begin, s.end - s.begin);
    copied_bytes_ += s.end - s.begin;
    s.current.Reset();
    s.begin = 0;
    s.end = 0;
    return;
  }
  // Copy mode: the tail buffer's bytes are in copy already.
  s.tail.Reset();
}

void InputStream::Clear() {
  if (s_ == nullptr) return;
  State& s = *s_;
  s.current.Reset();
  s.tail.Reset();
  // A typical request's worth of copy buffer is kept for the next straddle; one grown by a
  // large request is not, or every kept State would hold its largest request forever.
  if (s.copy.capacity() > kRetainedCopyCapacity) {
    std::string().swap(s.copy);
  } else {
    s.copy.clear();
  }
  s.begin = s.end = s.tail_at = 0;
  FreeList& free_states = FreeStates();
  if (free_states.size() < kKeptStates) free_states.push_back(std::move(s_));
  s_.reset();
}

}  // namespace ringside
