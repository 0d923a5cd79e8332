#include "ringside/net/http_syntax.h"

#include <array>
#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ringside::net {
namespace {

// field-vchar / SP / HTAB: every byte but the controls (obs-text is allowed, RFC 9110 5.5).
constexpr std::array<bool, 256> kFieldValueChars = [] {
  std::array<bool, 256> table{};
  for (int c = 0x20; c < 0x100; ++c) table[c] = c != 0x7f;
  table['\t'] = true;
  return table;
}();

bool IsFieldValueChar(char c) { return kFieldValueChars[static_cast<unsigned char>(c)]; }

// The offset of the first CR or LF in input[from, input.size()), or input.size() if none.
// Lines are short (tens of bytes), so 16 bytes at a time inline beats a call to memchr, and
// one pass looks for both bytes.
size_t FindCrOrLf(std::string_view input, size_t from) {
  const char* const data = input.data();
  size_t i = from;
#if defined(__SSE2__)
  const __m128i cr = _mm_set1_epi8('\r');
  const __m128i lf = _mm_set1_epi8('\n');
  for (; input.size() - i >= 16; i += 16) {
    const __m128i block = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + i));
    const uint32_t mask = static_cast<uint32_t>(_mm_movemask_epi8(
        _mm_or_si128(_mm_cmpeq_epi8(block, cr), _mm_cmpeq_epi8(block, lf))));
    if (mask != 0) return i + static_cast<size_t>(__builtin_ctz(mask));
  }
#endif
  while (i < input.size() && data[i] != '\r' && data[i] != '\n') ++i;
  return i;
}

char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c; }

}  // namespace

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && IsOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsOws(s.back())) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ToLower(a[i]) != ToLower(b[i])) return false;
  }
  return true;
}

bool SplitFieldLine(std::string_view line, std::string_view* name, std::string_view* value) {
  // ':' is no tchar, so the name is the run of tchars that a colon must end.
  size_t colon = 0;
  while (colon < line.size() && IsTokenChar(line[colon])) ++colon;
  if (colon == 0 || colon == line.size() || line[colon] != ':') return false;
  const std::string_view raw = line.substr(colon + 1);
  for (char c : raw) {
    if (!IsFieldValueChar(c)) return false;
  }
  *name = line.substr(0, colon);
  *value = TrimOws(raw);
  return true;
}

CrlfLineScanner::Result CrlfLineScanner::Next(std::string_view input, size_t max_length,
                                              std::string_view* line) {
  const size_t i = FindCrOrLf(input, scan_);
  if (i - line_start_ > max_length) return Result::kTooLong;
  if (i == input.size()) {
    scan_ = i;
    return Result::kNeedMore;
  }
  if (input[i] == '\n') return Result::kBareCrOrLf;
  if (i + 1 == input.size()) {
    scan_ = i;  // the CR is looked at again once the byte after it arrives
    return Result::kNeedMore;
  }
  if (input[i + 1] != '\n') return Result::kBareCrOrLf;
  *line = input.substr(line_start_, i - line_start_);
  line_start_ = scan_ = i + 2;
  return Result::kLine;
}

}  // namespace ringside::net
