#include "ringside/reactor/input_stream.h"

#include <utility>

#include "ringside/buffers/shared_bytes.h"

namespace ringside {
namespace {

constexpr size_t kRetainedCopyCapacity = 16 << 10;

}  // namespace

std::string_view InputStream::pending() const {
  if (!copy_.empty()) return std::string_view(copy_).substr(begin_);
  return std::string_view(current_.data() + begin_, end_ - begin_);
}

void InputStream::Append(BufferLease lease) {
  if (lease.size() == 0) return;
  if (copy_.empty()) {
    if (begin_ == end_) {
      current_ = std::move(lease);
      begin_ = 0;
      end_ = current_.size();
      return;
    }
    if (lease.release_word() == current_.release_word() &&
        lease.data() == current_.data() + end_) {
      // Same buffer, right behind the pending bytes: widen the view; current_ already
      // holds the buffer. (Adjacent bids are adjacent in memory too, hence the word check.)
      end_ += lease.size();
      return;
    }
    copy_.assign(current_.data() + begin_, end_ - begin_);
    copied_bytes_ += end_ - begin_;
    current_.Reset();
    begin_ = 0;
  } else if (tail_.holds_buffer() && lease.release_word() == tail_.release_word() &&
             lease.data() == tail_.data() + (copy_.size() - tail_at_)) {
    copy_.append(lease.data(), lease.size());
    copied_bytes_ += lease.size();
    return;
  }
  tail_at_ = copy_.size();
  copy_.append(lease.data(), lease.size());
  copied_bytes_ += lease.size();
  tail_ = std::move(lease);
}

void InputStream::Consume(size_t n) {
  begin_ += n;
  if (copy_.empty()) {
    if (begin_ == end_) Clear();
    return;
  }
  if (begin_ == copy_.size()) {
    Clear();
    return;
  }
  if (tail_.holds_buffer() && begin_ >= tail_at_) {
    // The straddling prefix is gone: view the newest buffer directly again.
    const size_t skip = begin_ - tail_at_;
    const size_t len = copy_.size() - tail_at_;
    current_ = std::move(tail_);
    begin_ = skip;
    end_ = len;
    copy_.clear();
  }
}

BufferLease InputStream::Lend(size_t n) {
  BufferLease lent;
  if (n == 0) return lent;
  if (pin_buffers_ && copy_.empty()) {
    lent = current_.Share(begin_, n);
  } else if (pin_buffers_ && tail_.holds_buffer() && begin_ >= tail_at_) {
    lent = tail_.Share(begin_ - tail_at_, n);
  } else if (!copy_.empty() && begin_ == 0 && n == copy_.size()) {
    // All of the joined copy: handed over as it is, not copied again.
    lent = SharedBytes::Adopt(std::move(copy_));
    copy_.clear();
    Clear();
    return lent;
  } else {
    lent = SharedBytes::Copy(pending().substr(0, n));
    copied_bytes_ += n;
  }
  Consume(n);
  return lent;
}

void InputStream::Unpin() {
  if (copy_.empty()) {
    if (!current_.holds_buffer()) return;
    copy_.assign(current_.data() + begin_, end_ - begin_);
    copied_bytes_ += end_ - begin_;
    current_.Reset();
    begin_ = 0;
    end_ = 0;
    return;
  }
  // Copy mode: the tail buffer's bytes are in copy_ already.
  tail_.Reset();
}

void InputStream::Clear() {
  current_.Reset();
  tail_.Reset();
  // A typical request's worth of copy buffer is kept for the next straddle; one grown by a
  // large request is not, or every connection slot would keep its largest request forever.
  if (copy_.capacity() > kRetainedCopyCapacity) {
    std::string().swap(copy_);
  } else {
    copy_.clear();
  }
  begin_ = end_ = tail_at_ = 0;
}

}  // namespace ringside
