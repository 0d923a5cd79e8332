#include "net/http_syntax.h"

#include <array>

namespace ringside::net {
namespace {

constexpr std::array<bool, 256> kTokenChars = [] {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = true;
  for (unsigned char c : std::string_view("!#$%&'*+-.^_`|~")) table[c] = true;
  return table;
}();

// field-vchar / SP / HTAB: every byte but the controls (obs-text is allowed, RFC 9110 5.5).
bool IsFieldValueChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  return c == '\t' || (u >= 0x20 && u != 0x7f);
}

char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c; }

}  // namespace

bool IsTokenChar(char c) { return kTokenChars[static_cast<unsigned char>(c)]; }

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
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos || !IsToken(line.substr(0, colon))) return false;
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
  size_t i = scan_;
  while (i < input.size() && input[i] != '\r' && input[i] != '\n') ++i;
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
