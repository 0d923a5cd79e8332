#include "ringside/net/chunked_decoder.h"

#include <algorithm>

namespace ringside::net {
namespace {

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

void ChunkedDecoder::Reset() {
  state_ = State::kSizeLine;
  lines_.Reset(0);
  remaining_ = announced_ = decoded_ = 0;
  overhead_ = trailer_bytes_ = bytes_needed_ = 0;
  error_status_ = 0;
}

ChunkedDecoder::Result ChunkedDecoder::Decode(std::string_view input) {
  using Line = CrlfLineScanner::Result;
  if (state_ == State::kDone) return {.status = Status::kDone};
  if (state_ == State::kError) return {.status = Status::kError};
  if (input.size() < bytes_needed_) return {};
  bytes_needed_ = 0;
  // Input bytes before `pos` are decoded. In kSizeLine and kTrailer the line scanner's
  // current line starts at `pos`.
  size_t pos = 0;
  std::string_view line;
  while (true) {
    switch (state_) {
      case State::kSizeLine:
        switch (lines_.Next(input, kMaxChunkLine, &line)) {
          case Line::kNeedMore:
            return NeedMore(input, pos);
          case Line::kBareCrOrLf:
          case Line::kTooLong:
            return Fail(400);
          case Line::kLine:
            break;
        }
        if (!OnSizeLine(line)) return {.status = Status::kError};
        pos = lines_.line_start();
        break;
      case State::kData: {
        if (pos == input.size()) return NeedMore(input, pos);
        const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, input.size() - pos));
        remaining_ -= n;
        decoded_ += n;
        if (remaining_ == 0) state_ = State::kDataCrlf;
        return {.status = Status::kData, .consumed = pos + n, .data = input.substr(pos, n)};
      }
      case State::kDataCrlf: {
        const size_t available = input.size() - pos;
        if (available >= 1 && input[pos] != '\r') return Fail(400);
        if (available < 2) return NeedMore(input, pos);
        if (input[pos + 1] != '\n') return Fail(400);
        pos += 2;
        lines_.Reset(pos);
        state_ = State::kSizeLine;
        break;
      }
      case State::kTrailer: {
        // Every line needs its CRLF, so the budget for this line's bytes leaves room for it.
        const size_t budget = std::min(limits_.max_trailer_bytes - trailer_bytes_,
                                       limits_.max_overhead - overhead_);
        if (budget < 2) return Fail(431);
        switch (lines_.Next(input, budget - 2, &line)) {
          case Line::kNeedMore:
            return NeedMore(input, pos);
          case Line::kBareCrOrLf:
            return Fail(400);
          case Line::kTooLong:
            return Fail(431);
          case Line::kLine:
            break;
        }
        trailer_bytes_ += line.size() + 2;
        overhead_ += line.size() + 2;
        pos = lines_.line_start();
        if (line.empty()) {
          state_ = State::kDone;
          return {.status = Status::kDone, .consumed = pos};
        }
        std::string_view name, value;
        if (IsOws(line.front()) || !SplitFieldLine(line, &name, &value)) return Fail(400);
        break;
      }
      case State::kDone:  // not reached: both return at once
      case State::kError:
        return {.status = state_ == State::kDone ? Status::kDone : Status::kError};
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
  if (size > limits_.max_body - announced_) {
    Fail(413);
    return false;
  }
  const size_t extensions = line.size() - digits;
  if (extensions > limits_.max_overhead - overhead_) {
    Fail(431);
    return false;
  }
  overhead_ += extensions;
  announced_ += size;
  if (size == 0) {
    state_ = State::kTrailer;  // the scanner is already at the next line
  } else {
    remaining_ = size;
    state_ = State::kData;
  }
  return true;
}

ChunkedDecoder::Result ChunkedDecoder::NeedMore(std::string_view input, size_t consumed) {
  // What is left is a partial line (whose scanned bytes are not scanned again), a partial
  // CRLF after chunk data, or nothing; one more byte than that may change something.
  if (state_ == State::kSizeLine || state_ == State::kTrailer) lines_.Drop(consumed);
  bytes_needed_ = input.size() - consumed + 1;
  return {.status = Status::kNeedMore, .consumed = consumed};
}

ChunkedDecoder::Result ChunkedDecoder::Fail(int status) {
  state_ = State::kError;
  error_status_ = status;
  return {.status = Status::kError};
}

}  // namespace ringside::net
