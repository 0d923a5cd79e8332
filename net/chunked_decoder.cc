#include "net/chunked_decoder.h"

#include <algorithm>

namespace ringside::net {
namespace {

// A decoded-body buffer at most this large survives Reset; a larger one is freed so an idle
// keep-alive connection does not hold on to the memory of its biggest past request.
constexpr size_t kRetainedCapacity = 64 << 10;

// Hex digits allowed in a chunk-size: 16 cannot overflow 64 bits, so no overflow check.
constexpr size_t kMaxChunkSizeDigits = 16;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

size_t SkipOws(std::string_view s, size_t i) {
  while (i < s.size() && IsOws(s[i])) ++i;
  return i;
}

size_t SkipToken(std::string_view s, size_t i) {
  while (i < s.size() && IsTokenChar(s[i])) ++i;
  return i;
}

// quoted-string starting at s[i] == '"'; returns the offset after the closing quote or npos.
size_t SkipQuotedString(std::string_view s, size_t i) {
  for (++i; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"') return i + 1;
    if (c == '\\') {
      if (++i == s.size()) return std::string_view::npos;
      const auto escaped = static_cast<unsigned char>(s[i]);
      if (escaped != '\t' && (escaped < 0x20 || escaped == 0x7f)) return std::string_view::npos;
    } else if (c != '\t' && (c < 0x20 || c == 0x7f)) {
      return std::string_view::npos;
    }
  }
  return std::string_view::npos;
}

// chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
bool IsChunkExtensions(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    i = SkipOws(s, i);
    if (i == s.size() || s[i] != ';') return false;
    i = SkipOws(s, i + 1);
    const size_t name_end = SkipToken(s, i);
    if (name_end == i) return false;
    i = name_end;
    const size_t equals = SkipOws(s, i);
    if (equals < s.size() && s[equals] == '=') {
      i = SkipOws(s, equals + 1);
      if (i < s.size() && s[i] == '"') {
        i = SkipQuotedString(s, i);
        if (i == std::string_view::npos) return false;
      } else {
        const size_t value_end = SkipToken(s, i);
        if (value_end == i) return false;
        i = value_end;
      }
    }
  }
  return true;
}

}  // namespace

ChunkedDecoder::ChunkedDecoder(Limits limits) : limits_(limits) {}

void ChunkedDecoder::Reset(size_t offset) {
  state_ = State::kSizeLine;
  lines_.Reset(offset);
  pos_ = offset;
  remaining_ = 0;
  trailer_start_ = end_ = bytes_needed_ = 0;
  error_status_ = 0;
  if (body_.capacity() > kRetainedCapacity) {
    std::string().swap(body_);
  } else {
    body_.clear();
  }
}

ChunkedDecoder::Status ChunkedDecoder::Decode(std::string_view input) {
  using Line = CrlfLineScanner::Result;
  std::string_view line;
  while (true) {
    switch (state_) {
      case State::kSizeLine:
        switch (lines_.Next(input, kMaxChunkLine, &line)) {
          case Line::kNeedMore:
            return NeedMore(input);
          case Line::kBareCrOrLf:
          case Line::kTooLong:
            return Fail(400);
          case Line::kLine:
            break;
        }
        if (!OnSizeLine(line)) return Status::kError;
        break;
      case State::kData: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, input.size() - pos_));
        body_.append(input.data() + pos_, n);
        pos_ += n;
        remaining_ -= n;
        if (remaining_ > 0) return NeedMore(input);
        state_ = State::kDataCrlf;
        break;
      }
      case State::kDataCrlf: {
        const size_t available = input.size() - pos_;
        if (available >= 1 && input[pos_] != '\r') return Fail(400);
        if (available < 2) return NeedMore(input);
        if (input[pos_ + 1] != '\n') return Fail(400);
        pos_ += 2;
        lines_.Reset(pos_);
        state_ = State::kSizeLine;
        break;
      }
      case State::kTrailer: {
        // Every line needs its CRLF, so the budget for this line's bytes leaves room for it.
        const size_t used = lines_.line_start() - trailer_start_ + 2;
        if (used > limits_.max_trailer_bytes) return Fail(431);
        switch (lines_.Next(input, limits_.max_trailer_bytes - used, &line)) {
          case Line::kNeedMore:
            return NeedMore(input);
          case Line::kBareCrOrLf:
            return Fail(400);
          case Line::kTooLong:
            return Fail(431);
          case Line::kLine:
            break;
        }
        if (line.empty()) {
          end_ = lines_.line_start();
          state_ = State::kDone;
          break;
        }
        std::string_view name, value;
        if (IsOws(line.front()) || !SplitFieldLine(line, &name, &value)) return Fail(400);
        break;
      }
      case State::kDone:
        return Status::kDone;
      case State::kError:
        return Status::kError;
    }
  }
}

bool ChunkedDecoder::OnSizeLine(std::string_view line) {
  uint64_t size = 0;
  size_t digits = 0;
  for (; digits < line.size() && HexValue(line[digits]) >= 0; ++digits) {
    size = size * 16 + static_cast<uint64_t>(HexValue(line[digits]));
  }
  if (digits == 0 || digits > kMaxChunkSizeDigits || !IsChunkExtensions(line.substr(digits))) {
    Fail(400);
    return false;
  }
  if (size > limits_.max_body - body_.size()) {
    Fail(413);
    return false;
  }
  pos_ = lines_.line_start();
  if (size == 0) {
    trailer_start_ = pos_;
    state_ = State::kTrailer;
  } else {
    remaining_ = size;
    state_ = State::kData;
  }
  return true;
}

ChunkedDecoder::Status ChunkedDecoder::NeedMore(std::string_view input) {
  bytes_needed_ = state_ == State::kData ? pos_ + static_cast<size_t>(remaining_) + 1
                                         : input.size() + 1;
  return Status::kNeedMore;
}

ChunkedDecoder::Status ChunkedDecoder::Fail(int status) {
  state_ = State::kError;
  error_status_ = status;
  return Status::kError;
}

}  // namespace ringside::net
