// http_syntax.h: the HTTP/1.1 character classes and line framing (RFC 9110 5.6, RFC 9112 2.2)
// shared by the request parser and the chunked body decoder.
//
// The free functions classify and split bytes; CrlfLineScanner finds the CRLF-terminated
// lines of an input that grows between calls, remembering where it stopped so that each
// byte is looked at once however the input is split:
//
//   CrlfLineScanner lines;             // lines start at offset 0
//   std::string_view line;
//   while (lines.Next(input, 8192, &line) == CrlfLineScanner::Result::kLine) Use(line);
//
// Lines must end with CRLF: a bare LF or a CR not followed by LF is an error, never a line
// end, so a request cannot be framed differently by a lenient peer (request smuggling).
//
// Thread-safety: the free functions are thread-safe; a CrlfLineScanner is thread-compatible.
#ifndef RINGSIDE_NET_HTTP_SYNTAX_H_
#define RINGSIDE_NET_HTTP_SYNTAX_H_

#include <array>
#include <cstddef>
#include <string_view>

namespace ringside::net {

// tchar: the characters of a token (method, field name, transfer coding). A table inline
// here, since the parser asks for every byte of every method and field name.
inline constexpr std::array<bool, 256> kTokenChars = [] {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = true;
  for (unsigned char c : std::string_view("!#$%&'*+-.^_`|~")) table[c] = true;
  return table;
}();

inline bool IsTokenChar(char c) { return kTokenChars[static_cast<unsigned char>(c)]; }

// token = 1*tchar.
bool IsToken(std::string_view s);

// OWS = *( SP / HTAB ).
inline bool IsOws(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimOws(std::string_view s);

// ASCII case-insensitive equality (field names and coding names are case-insensitive).
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Splits a field line `name ":" OWS value OWS`. Returns false unless the name is a token
// directly followed by the colon and the value has no control character other than HTAB.
// `value` comes back without its surrounding OWS. Both views point into `line`.
bool SplitFieldLine(std::string_view line, std::string_view* name, std::string_view* value);

// Finds successive CRLF-terminated lines in a growing input. Offsets are kept, not pointers:
// the input may move between calls as long as the bytes already seen are unchanged.
class CrlfLineScanner {
 public:
  enum class Result { kLine, kNeedMore, kBareCrOrLf, kTooLong };

  // The next line starts at `offset` of the input.
  void Reset(size_t offset) { line_start_ = scan_ = offset; }

  // Looks for the end of the current line in `input`. kLine sets *line (without its CRLF) and
  // moves to the next line; kTooLong is returned as soon as the line holds more than
  // `max_length` bytes, even before its end has arrived.
  Result Next(std::string_view input, size_t max_length, std::string_view* line);

  // Offset where the current line starts (after kLine: just past the CRLF).
  size_t line_start() const { return line_start_; }

  // True until Next has looked at a byte since the last Reset(0).
  bool untouched() const { return scan_ == 0; }

  // The caller dropped the first `n` bytes of the input (n <= line_start()): offsets now
  // count from the new first byte, and the bytes of the current line already looked at are
  // not looked at again.
  void Drop(size_t n) {
    line_start_ -= n;
    scan_ -= n;
  }

 private:
  size_t line_start_ = 0;
  size_t scan_ = 0;  // first byte of the current line not yet known to be ordinary
};

}  // namespace ringside::net

#endif  // RINGSIDE_NET_HTTP_SYNTAX_H_
