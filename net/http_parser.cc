#include "ringside/net/http_parser.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <limits>

namespace ringside::net {
namespace {

constexpr uint64_t kMaxContentLength = std::numeric_limits<int64_t>::max();

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Visible ASCII; '#' starts a fragment, which a request target never carries.
bool IsTargetChar(char c) { return c > 0x20 && c < 0x7f && c != '#'; }

bool IsHexDigit(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// unreserved and sub-delims (RFC 3986 2.2, 2.3): what a reg-name holds besides pct-encoded.
constexpr std::array<bool, 256> kRegNameChars = [] {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = true;
  for (unsigned char c : std::string_view("-._~!$&'()*+,;=")) table[c] = true;
  return table;
}();

bool IsRegNameChar(char c) { return kRegNameChars[static_cast<unsigned char>(c)]; }

// reg-name = *( unreserved / pct-encoded / sub-delims ), here non-empty: an "http" URI with
// an empty host is invalid (RFC 9110 4.2.1). An IPv4address is a reg-name too.
bool IsRegName(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size() || !IsHexDigit(s[i + 1]) || !IsHexDigit(s[i + 2])) return false;
      i += 2;
    } else if (!IsRegNameChar(s[i])) {
      return false;
    }
  }
  return true;
}

// What an IP-literal holds between its brackets: IPvFuture ("v" 1*HEXDIG "." 1*( unreserved /
// sub-delims / ":" )), or an IPv6address, of which only the characters are checked.
bool IsIpLiteralBody(std::string_view s) {
  if (!s.empty() && (s.front() == 'v' || s.front() == 'V')) {
    const size_t dot = s.find('.');
    if (dot == std::string_view::npos || dot == 1 || dot + 1 == s.size()) return false;
    return std::all_of(s.begin() + 1, s.begin() + dot, IsHexDigit) &&
           std::all_of(s.begin() + dot + 1, s.end(),
                       [](char c) { return IsRegNameChar(c) || c == ':'; });
  }
  return s.find(':') != std::string_view::npos &&
         std::all_of(s.begin(), s.end(),
                     [](char c) { return IsHexDigit(c) || c == ':' || c == '.'; });
}

// uri-host [ ":" port ] (RFC 9110 7.2; RFC 3986 3.2.2, 3.2.3), the host non-empty.
bool IsHostAndPort(std::string_view s) {
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    const size_t close = s.find(']');
    if (close == std::string_view::npos || !IsIpLiteralBody(s.substr(1, close - 1))) return false;
    const std::string_view rest = s.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
    port = rest.substr(std::min<size_t>(1, rest.size()));
  } else {
    const size_t colon = s.find(':');
    if (!IsRegName(s.substr(0, colon))) return false;
    if (colon != std::string_view::npos) port = s.substr(colon + 1);
  }
  return std::all_of(port.begin(), port.end(), IsDigit);
}

// authority-form = uri-host ":" port, for CONNECT.
bool IsAuthorityForm(std::string_view target) {
  const size_t colon = target.rfind(':');
  return colon != std::string_view::npos && colon + 1 < target.size() &&
         target.back() != ']' && IsHostAndPort(target);
}

struct TargetParts {
  std::string_view path;
  std::string_view query;
  bool root = false;  // absolute-form with an empty path
};

// Splits "path?query" from the end of a target.
void SplitPathAndQuery(std::string_view s, TargetParts* parts) {
  const size_t question = s.find('?');
  parts->path = s.substr(0, question);
  parts->query = question == std::string_view::npos ? s.substr(s.size()) : s.substr(question + 1);
}

// The four request-target forms of RFC 9112 3.2; false if `target` is none of them, or a
// form `method` may not use.
bool SplitTarget(std::string_view method, std::string_view target, TargetParts* parts) {
  if (method == "CONNECT") return IsAuthorityForm(target);
  if (target.front() == '/') {
    SplitPathAndQuery(target, parts);
    return true;
  }
  if (target == "*") {
    parts->path = target;
    return method == "OPTIONS";
  }
  // absolute-form: scheme "://" authority path-abempty [ "?" query ]
  size_t i = 0;
  while (i < target.size() && (IsAlpha(target[i]) || IsDigit(target[i]) ||
                               target[i] == '+' || target[i] == '-' || target[i] == '.')) {
    ++i;
  }
  if (i == 0 || !IsAlpha(target[0]) || target.substr(i, 3) != "://") return false;
  const std::string_view rest = target.substr(i + 3);
  const size_t authority_end = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, authority_end);
  if (!IsHostAndPort(authority)) return false;
  SplitPathAndQuery(rest.substr(authority.size()), parts);
  parts->root = parts->path.empty();
  return true;
}

bool ParseContentLength(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  uint64_t value = 0;
  for (char c : s) {
    if (!IsDigit(c)) return false;
    const auto digit = static_cast<uint64_t>(c - '0');
    if (value > (kMaxContentLength - digit) / 10) return false;
    value = value * 10 + digit;
  }
  *out = value;
  return true;
}

// Calls fn on each non-empty, OWS-trimmed element of a comma-separated field value.
template <typename Fn>
void ForEachListElement(std::string_view value, Fn fn) {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    const std::string_view element = TrimOws(value.substr(0, comma));
    if (!element.empty()) fn(element);
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
  }
}

// The transfer codings of all Transfer-Encoding fields, in order (RFC 9112 6.1, 6.3).
struct TransferCodings {
  void Add(std::string_view field_value) {
    present = true;
    ForEachListElement(field_value, [this](std::string_view element) {
      const std::string_view coding = TrimOws(element.substr(0, element.find(';')));
      // Nothing may follow chunked: the body length would be unknowable.
      if (ends_with_chunked || !IsToken(coding)) malformed = true;
      ends_with_chunked = EqualsIgnoreCase(coding, "chunked");
      if (ends_with_chunked && coding.size() != element.size()) malformed = true;  // params
      if (!ends_with_chunked) unknown = true;
    });
  }

  bool present = false;
  bool malformed = false;
  bool unknown = false;
  bool ends_with_chunked = false;
};

}  // namespace

std::string_view HttpRequest::Header(std::string_view name) const {
  for (const HttpHeader& header : headers) {
    if (EqualsIgnoreCase(header.name, name)) return header.value;
  }
  return {};
}

// The last head completed on this thread, its bytes and its parse. The parse of a head is a
// function of its bytes and the limits alone (it starts from nothing: StartRequest forgets
// everything of the request before), so a head that starts with the same bytes, under the
// same limits, parses to the same result with the same offsets, and one compare replaces the
// scan. Pipelining and keep-alive clients repeat their heads: the scan was 22% of server CPU
// under pipelined load. Only the first call of a request compares (a head that arrives in
// pieces is scanned), so each input byte is still looked at O(1) times. Per thread rather
// than per parser: one copy of at most kMaxBytes per thread, none per connection, and
// connections of the same client share it.
struct HttpParser::HeadMemo {
  static constexpr size_t kMaxBytes = 256;
  static constexpr size_t kMaxFields = 8;

  bool Matches(std::string_view input, const HttpLimits& parser_limits) const {
    return size != 0 && input.size() >= size && std::memcmp(input.data(), bytes, size) == 0 &&
           limits == parser_limits;
  }

  size_t size = 0;  // 0: nothing memorized
  uint64_t generation = 0;  // counts the heads memorized on this thread
  char bytes[kMaxBytes] = {};
  HttpLimits limits;
  Head head;
  size_t field_count = 0;
  FieldSpan fields[kMaxFields];
};

constinit thread_local HttpParser::HeadMemo HttpParser::head_memo_;

const HttpParser::HeadMemo* HttpParser::RecallHead(std::string_view input) {
  const HeadMemo& memo = head_memo_;
  if (!AtUntouchedRequestStart() || !memo.Matches(input, limits_)) return nullptr;
  // The fields stay in the memo: only Fill reads them, right after this.
  head_ = memo.head;
  StartBody();
  return &memo;
}

size_t HttpParser::SkipRepeatedHeads(std::string_view input, uint64_t generation,
                                     size_t max_heads, size_t* skipped_bytes) {
  *skipped_bytes = 0;
  const HeadMemo& memo = head_memo_;
  if (memo.generation != generation || memo.head.body_length != 0 || memo.head.chunked ||
      !AtUntouchedRequestStart() || !memo.Matches(input, limits_)) {
    return 0;
  }
  size_t heads = 1;
  size_t at = memo.size;
  while (heads < max_heads && input.size() - at >= memo.size &&
         std::memcmp(input.data() + at, memo.bytes, memo.size) == 0) {
    at += memo.size;
    ++heads;
  }
  // Parse would have handed out each head (kHead) and EndBodilessRequest returned to a
  // request's start, where this parser already is.
  bytes_needed_ = 0;
  recalled_generation_ = generation;
  *skipped_bytes = at;
  return heads;
}

void HttpParser::MemorizeHead(std::string_view head) const {
  if (head.size() > HeadMemo::kMaxBytes || fields_.size() > HeadMemo::kMaxFields) return;
  HeadMemo& memo = head_memo_;
  memo.size = head.size();
  ++memo.generation;
  std::memcpy(memo.bytes, head.data(), head.size());
  memo.limits = limits_;
  memo.head = head_;
  memo.field_count = fields_.size();
  std::copy(fields_.begin(), fields_.end(), memo.fields);
}

HttpParser::Span HttpParser::Span::Of(std::string_view input, std::string_view part) {
  if (part.empty()) return {};
  return {static_cast<size_t>(part.data() - input.data()), part.size()};
}

HttpParser::HttpParser(HttpLimits limits)
    : limits_(limits),
      chunked_decoder_({.max_body = limits.max_body,
                        .max_trailer_bytes = limits.max_header_bytes,
                        .max_overhead = limits.max_chunk_overhead}) {}

void HttpParser::Reset() {
  error_status_ = 0;
  chunked_decoder_.Reset();
  StartRequest();
}

void HttpParser::StartRequest() {
  state_ = State::kRequestLine;
  bytes_needed_ = 0;
  lines_.Reset(0);
  empty_lines_ = 0;
  fields_.clear();
}

void HttpParser::EndBodilessRequest() {
  assert(state_ == State::kFixedBody && remaining_ == 0);
  StartRequest();
}

ParseResult HttpParser::Parse(std::string_view input, HttpRequest* request) {
  if (state_ == State::kError) return Error();
  if (input.size() < bytes_needed_) return {};
  bytes_needed_ = 0;
  switch (state_) {
    case State::kRequestLine:
    case State::kHeaders:
      return ParseHead(input, request);
    case State::kFixedBody:
      return ParseFixedBody(input);
    case State::kChunkedBody:
      return ParseChunkedBody(input);
    case State::kError:
      break;
  }
  return Error();
}

ParseResult HttpParser::ParseHead(std::string_view input, HttpRequest* request) {
  size_t head_size = 0;
  if (const HeadMemo* memo = RecallHead(input)) {
    head_size = memo->size;
    recalled_generation_ = memo->generation;
    // From the memo, not from head_ just copied from it: reading back what was just stored
    // stalled on store forwarding (a third of Fill's samples).
    Fill(input, memo->head, {memo->fields, memo->field_count}, request);
  } else {
    Step step = Step::kNext;
    while (step == Step::kNext && !head_complete()) {
      step = state_ == State::kRequestLine ? ScanRequestLine(input) : ScanHeaders(input);
    }
    if (step == Step::kError) return Error();
    if (step == Step::kNeedMore) {
      // The head's bytes stay with the caller, who calls again with them and more.
      bytes_needed_ = input.size() + 1;
      return {};
    }
    head_size = lines_.line_start();
    recalled_generation_ = 0;
    MemorizeHead(input.substr(0, head_size));
    Fill(input, head_, fields_, request);
  }
  // Offsets restart at 0 of the next input: the caller drops the head.
  lines_.Reset(0);
  return {.status = ParseStatus::kHead,
          .consumed = head_size,
          .send_continue =
              head_.expect_continue && request->has_body() && input.size() == head_size};
}

ParseResult HttpParser::ParseFixedBody(std::string_view input) {
  if (remaining_ == 0) {
    StartRequest();
    return {.status = ParseStatus::kComplete};
  }
  if (input.empty()) {
    bytes_needed_ = 1;
    return {};
  }
  const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, input.size()));
  remaining_ -= n;
  return {.status = ParseStatus::kBody, .consumed = n, .body_segment = input.substr(0, n)};
}

ParseResult HttpParser::ParseChunkedBody(std::string_view input) {
  const ChunkedDecoder::Result d = chunked_decoder_.Decode(input);
  switch (d.status) {
    case ChunkedDecoder::Status::kNeedMore:
      bytes_needed_ = chunked_decoder_.bytes_needed();
      return {.consumed = d.consumed};
    case ChunkedDecoder::Status::kData:
      return {.status = ParseStatus::kBody, .consumed = d.consumed, .body_segment = d.data};
    case ChunkedDecoder::Status::kDone:
      StartRequest();
      return {.status = ParseStatus::kComplete, .consumed = d.consumed};
    case ChunkedDecoder::Status::kError:
      break;
  }
  Fail(chunked_decoder_.error_status());
  return Error();
}

ParseResult HttpParser::Error() const {
  return {.status = ParseStatus::kError, .error_status = error_status_};
}

HttpParser::Step HttpParser::ScanRequestLine(std::string_view input) {
  using Line = CrlfLineScanner::Result;
  std::string_view line;
  switch (lines_.Next(input, limits_.max_request_line, &line)) {
    case Line::kNeedMore:
      return Step::kNeedMore;
    case Line::kBareCrOrLf:
      return Fail(400);
    case Line::kTooLong:
      return Fail(414);
    case Line::kLine:
      break;
  }
  if (line.empty()) return ++empty_lines_ > kMaxLeadingEmptyLines ? Fail(400) : Step::kNext;
  if (const int status = ParseRequestLine(input, line); status != 0) return Fail(status);
  header_start_ = lines_.line_start();
  state_ = State::kHeaders;
  return Step::kNext;
}

int HttpParser::ParseRequestLine(std::string_view input, std::string_view line) {
  // One pass: SP is neither a tchar nor a target character, so the method is the run of
  // tchars and the target the run of target characters after it, each ended by one SP.
  size_t first_space = 0;
  while (first_space < line.size() && IsTokenChar(line[first_space])) ++first_space;
  if (first_space == 0 || first_space == line.size() || line[first_space] != ' ') return 400;
  size_t second_space = first_space + 1;
  while (second_space < line.size() && IsTargetChar(line[second_space])) ++second_space;
  if (second_space == first_space + 1 || second_space == line.size() ||
      line[second_space] != ' ') {
    return 400;
  }
  const std::string_view method = line.substr(0, first_space);
  const std::string_view target = line.substr(first_space + 1, second_space - first_space - 1);
  const std::string_view version = line.substr(second_space + 1);
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !IsDigit(version[5]) ||
      version[6] != '.' || !IsDigit(version[7])) {
    return 400;
  }
  if (version[5] != '1') return 505;
  TargetParts parts;
  if (!SplitTarget(method, target, &parts)) return 400;
  // RFC 9110 2.5: a higher minor version of HTTP/1 is processed as the highest we implement.
  head_.version_minor = version[7] == '0' ? 0 : 1;
  head_.method = Span::Of(input, method);
  head_.target = Span::Of(input, target);
  head_.path = Span::Of(input, parts.path);
  head_.query = Span::Of(input, parts.query);
  head_.root_path = parts.root;
  return 0;
}

HttpParser::Step HttpParser::ScanHeaders(std::string_view input) {
  using Line = CrlfLineScanner::Result;
  std::string_view line;
  while (true) {
    // Every line needs its CRLF, so the budget for this line's bytes leaves room for it.
    const size_t used = lines_.line_start() - header_start_ + 2;
    if (used > limits_.max_header_bytes) return Fail(431);
    switch (lines_.Next(input, limits_.max_header_bytes - used, &line)) {
      case Line::kNeedMore:
        return Step::kNeedMore;
      case Line::kBareCrOrLf:
        return Fail(400);
      case Line::kTooLong:
        return Fail(431);
      case Line::kLine:
        break;
    }
    if (line.empty()) return FinishHead(input);
    std::string_view name, value;
    // Leading whitespace is obs-fold, or before the first field a smuggling vector.
    if (IsOws(line.front()) || !SplitFieldLine(line, &name, &value)) return Fail(400);
    if (fields_.size() == limits_.max_headers) return Fail(431);
    fields_.push_back({Span::Of(input, name), Span::Of(input, value)});
  }
}

HttpParser::Step HttpParser::FinishHead(std::string_view input) {
  int hosts = 0;
  int content_lengths = 0;
  uint64_t content_length = 0;
  TransferCodings codings;
  bool close = false;
  bool keep_alive = false;
  bool expect_continue = false;
  for (const FieldSpan& field : fields_) {
    const std::string_view name = field.name.In(input);
    const std::string_view value = field.value.In(input);
    // The length picks the one name a field can be, so each field costs one compare.
    switch (name.size()) {
      case 4:
        if (EqualsIgnoreCase(name, "Host") && (++hosts > 1 || !IsHostAndPort(value))) {
          return Fail(400);
        }
        break;
      case 14:
        if (EqualsIgnoreCase(name, "Content-Length") &&
            (++content_lengths > 1 || !ParseContentLength(value, &content_length))) {
          return Fail(400);
        }
        break;
      case 17:
        if (EqualsIgnoreCase(name, "Transfer-Encoding")) codings.Add(value);
        break;
      case 10:
        if (EqualsIgnoreCase(name, "Connection")) {
          ForEachListElement(value, [&](std::string_view option) {
            close = close || EqualsIgnoreCase(option, "close");
            keep_alive = keep_alive || EqualsIgnoreCase(option, "keep-alive");
          });
        }
        break;
      case 6:
        if (EqualsIgnoreCase(name, "Expect")) {
          expect_continue = expect_continue || EqualsIgnoreCase(value, "100-continue");
        }
        break;
    }
  }
  if (head_.version_minor == 1 && hosts == 0) return Fail(400);
  head_.chunked = codings.present;
  if (head_.chunked) {
    if (head_.version_minor == 0 || content_lengths > 0 || codings.malformed ||
        !codings.ends_with_chunked) {
      return Fail(400);
    }
    if (codings.unknown) return Fail(501);
  }
  if (content_length > limits_.max_body) return Fail(413);
  head_.keep_alive = !close && (head_.version_minor == 1 || keep_alive);
  head_.expect_continue = head_.version_minor == 1 && expect_continue;
  head_.body_length = head_.chunked ? 0 : content_length;
  StartBody();
  return Step::kNext;
}

void HttpParser::StartBody() {
  if (head_.chunked) {
    chunked_decoder_.Reset();
    state_ = State::kChunkedBody;
  } else {
    remaining_ = head_.body_length;
    state_ = State::kFixedBody;
  }
}

HttpParser::Step HttpParser::Fail(int status) {
  state_ = State::kError;
  error_status_ = status;
  return Step::kError;
}

void HttpParser::Fill(std::string_view input, const Head& head,
                      std::span<const FieldSpan> fields, HttpRequest* request) {
  request->method = head.method.In(input);
  request->target = head.target.In(input);
  request->path = head.root_path ? std::string_view("/") : head.path.In(input);
  request->query = head.query.In(input);
  request->version_minor = head.version_minor;
  request->keep_alive = head.keep_alive;
  request->expect_continue = head.expect_continue;
  // Resized, not cleared and pushed: the vector keeps its room from request to request,
  // and each field is two stores.
  request->headers.resize(fields.size());
  for (size_t i = 0; i < fields.size(); ++i) {
    request->headers[i] = {fields[i].name.In(input), fields[i].value.In(input)};
  }
  request->chunked = head.chunked;
  request->body_length = head.body_length;
}

}  // namespace ringside::net
