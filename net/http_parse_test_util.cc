#include "ringside/net/http_parse_test_util.h"

#include <algorithm>
#include <random>

#include "ringside/net/http_syntax.h"

namespace ringside::net {
namespace {

// Whether `part` lies within `whole` (an empty view anywhere is fine).
bool Within(std::string_view part, std::string_view whole) {
  if (part.empty()) return true;
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

// Records the first breach of the contract; returns `ok`.
class Checker {
 public:
  explicit Checker(std::string* violation) : violation_(violation) {}
  bool operator()(bool ok, const std::string& what) {
    if (!ok && violation_->empty()) *violation_ = what;
    return ok;
  }
  bool failed() const { return !violation_->empty(); }

 private:
  std::string* violation_;
};

// Appends the next read of `*rest` to `*buffer`; returns its size.
size_t Read(std::string_view* rest, std::string* buffer, const Feed& feed) {
  size_t n = rest->size();
  if (feed.next_size) n = std::min(std::max<size_t>(feed.next_size(), 1), n);
  buffer->append(rest->substr(0, n));
  rest->remove_prefix(n);
  if (feed.move_buffer && feed.move_buffer()) {
    std::string moved(*buffer);
    buffer->swap(moved);
  }
  return n;
}

std::string Str(std::string_view s) { return std::string(s); }

// Checks a kHead result against its input and copies the head out.
ParsedRequest CheckHead(std::string_view input, const ParseResult& r, const HttpRequest& q,
                        const HttpLimits& limits, Checker& check) {
  const std::string_view head = input.substr(0, r.consumed);
  check(r.consumed > 0, "kHead consumed nothing");
  check(r.consumed <= limits.max_request_line + limits.max_header_bytes + 2 +
                          2 * HttpParser::kMaxLeadingEmptyLines,
        "kHead longer than the limits allow");
  check(IsToken(q.method) && Within(q.method, head), "method");
  check(!q.target.empty() && Within(q.target, head), "target");
  check(q.path == "/" || Within(q.path, q.target), "path");
  check(Within(q.query, q.target), "query");
  check(q.version_minor == 0 || q.version_minor == 1, "version");
  check(!q.expect_continue || q.version_minor == 1, "expect_continue in HTTP/1.0");
  check(q.headers.size() <= limits.max_headers, "too many headers");
  check(q.body_length <= limits.max_body, "body_length above max_body");
  check(!q.chunked || q.body_length == 0, "chunked with a body_length");
  check(q.has_body() == (q.chunked || q.body_length > 0), "has_body");
  check(!r.send_continue || (q.expect_continue && q.has_body() && input.size() == r.consumed),
        "send_continue without reason");
  check(r.body_segment.empty(), "kHead with a segment");
  ParsedRequest out{.method = Str(q.method),
                    .target = Str(q.target),
                    .path = Str(q.path),
                    .query = Str(q.query),
                    .version_minor = q.version_minor,
                    .keep_alive = q.keep_alive,
                    .expect_continue = q.expect_continue,
                    .chunked = q.chunked,
                    .body_length = q.body_length,
                    .head_bytes = r.consumed};
  bool has_content_length = false;
  bool has_transfer_encoding = false;
  for (const HttpHeader& h : q.headers) {
    check(IsToken(h.name) && Within(h.name, head), "header name");
    check(Within(h.value, head), "header value");
    has_content_length = has_content_length || EqualsIgnoreCase(h.name, "Content-Length");
    has_transfer_encoding =
        has_transfer_encoding || EqualsIgnoreCase(h.name, "Transfer-Encoding");
    out.headers.emplace_back(h.name, h.value);
  }
  check(q.chunked == has_transfer_encoding, "chunked without Transfer-Encoding");
  if (has_content_length) {
    check(q.body_length == std::strtoull(Str(q.Header("Content-Length")).c_str(), nullptr, 10),
          "body_length is not the Content-Length");
  }
  return out;
}

}  // namespace

ParseTrace DriveParser(HttpParser& parser, std::string_view stream, const HttpLimits& limits,
                       const Feed& feed) {
  ParseTrace trace;
  Checker check(&trace.violation);
  std::string buffer;
  HttpRequest request;
  ParsedRequest* current = nullptr;  // between kHead and kComplete
  size_t fed = 0;
  std::string_view rest = stream;
  bool first = true;
  size_t start = 0;  // the first unconsumed byte of `buffer`, compacted before each read
  while (first || !rest.empty()) {
    first = false;
    buffer.erase(0, start);
    start = 0;
    fed += Read(&rest, &buffer, feed);
    trace.max_held = std::max(trace.max_held, buffer.size());
    while (feed.ignore_bytes_needed || buffer.size() - start >= parser.bytes_needed()) {
      const std::string_view input = std::string_view(buffer).substr(start);
      const ParseResult r = parser.Parse(input, &request);
      if (feed.record_steps) {
        trace.steps.push_back({r.status, input.size(), r.consumed, r.body_segment.size(),
                               r.send_continue});
      }
      check(r.consumed <= input.size(), "consumed more than the input");
      check(r.status == ParseStatus::kBody || r.body_segment.empty(), "stray segment");
      check(r.status == ParseStatus::kHead || !r.send_continue, "stray send_continue");
      check(r.status == ParseStatus::kNeedMore || r.status == ParseStatus::kError ||
                parser.bytes_needed() == 0,
            "bytes_needed() not 0 after progress");
      trace.continues += r.send_continue ? 1 : 0;
      switch (r.status) {
        case ParseStatus::kNeedMore:
          check(parser.bytes_needed() > input.size() - r.consumed, "bytes_needed too small");
          check(r.consumed == 0 || (current != nullptr && current->chunked),
                "kNeedMore consumed outside a chunked body");
          break;
        case ParseStatus::kHead:
          check(current == nullptr, "kHead inside a request");
          check(parser.head_complete(), "head_complete() false after kHead");
          trace.requests.push_back(CheckHead(input, r, request, limits, check));
          current = &trace.requests.back();
          break;
        case ParseStatus::kBody:
          if (!check(current != nullptr, "kBody outside a request")) break;
          check(current->chunked || current->body_length > 0, "kBody without a body");
          check(!r.body_segment.empty(), "empty segment");
          check(r.body_segment.data() >= input.data() &&
                    r.body_segment.data() + r.body_segment.size() == input.data() + r.consumed,
                "segment does not end the consumed bytes");
          check(current->chunked || r.body_segment.size() == r.consumed,
                "framing in a Content-Length body");
          current->body.append(r.body_segment);
          check(current->body.size() <= limits.max_body, "body above max_body");
          check(current->chunked || current->body.size() <= current->body_length,
                "body longer than Content-Length");
          break;
        case ParseStatus::kComplete:
          if (!check(current != nullptr, "kComplete outside a request")) break;
          check(current->chunked || (current->body.size() == current->body_length &&
                                     r.consumed == 0),
                "Content-Length body ended early or with framing");
          check(!parser.head_complete(), "head_complete() true after kComplete");
          current->complete = true;
          break;
        case ParseStatus::kError: {
          const int s = r.error_status;
          check(s == 400 || s == 413 || s == 414 || s == 431 || s == 501 || s == 505,
                "unexpected error status " + std::to_string(s));
          check(r.consumed == 0, "kError consumed bytes");
          HttpRequest again;
          const ParseResult repeat = parser.Parse(input, &again);
          check(repeat.status == ParseStatus::kError && repeat.error_status == s,
                "error not sticky");
          trace.error_status = s;
          trace.fed_at_error = fed;
          return trace;
        }
      }
      if (current != nullptr) current->raw_bytes += r.consumed;
      if (r.status == ParseStatus::kComplete) current = nullptr;
      start += r.consumed;
      if (check.failed()) return trace;
      if (r.status == ParseStatus::kNeedMore) break;
    }
    trace.max_kept = std::max(trace.max_kept, buffer.size() - start);
  }
  trace.unconsumed = buffer.size() - start;
  return trace;
}

bool ParseTrace::SameOutcome(const ParseTrace& other) const {
  if (error_status != other.error_status || unconsumed != other.unconsumed ||
      requests.size() != other.requests.size()) {
    return false;
  }
  for (size_t i = 0; i < requests.size(); ++i) {
    ParsedRequest a = requests[i];
    ParsedRequest b = other.requests[i];
    if (error_status != 0 && !a.complete) a.raw_bytes = b.raw_bytes = 0;
    if (!(a == b)) return false;
  }
  return true;
}

ParseTrace ParseWhole(std::string_view stream, const HttpLimits& limits) {
  HttpParser parser(limits);
  return DriveParser(parser, stream, limits);
}

ParseTrace ParseInPieces(std::string_view stream, uint32_t seed, size_t max_piece,
                         const HttpLimits& limits) {
  HttpParser parser(limits);
  std::mt19937 random(seed);
  std::uniform_int_distribution<size_t> size(1, std::max<size_t>(max_piece, 1));
  std::bernoulli_distribution move(0.125);
  return DriveParser(parser, stream, limits,
                     {.next_size = [&] { return size(random); },
                      .move_buffer = [&] { return move(random); }});
}

DecodeTrace DriveDecoder(ChunkedDecoder& decoder, std::string_view stream,
                         const ChunkedDecoder::Limits& limits, const Feed& feed) {
  using Status = ChunkedDecoder::Status;
  DecodeTrace trace;
  Checker check(&trace.violation);
  decoder.Reset();
  std::string buffer;
  std::string_view rest = stream;
  bool first = true;
  size_t start = 0;  // the first unconsumed byte of `buffer`, compacted before each read
  while (first || !rest.empty()) {
    first = false;
    buffer.erase(0, start);
    start = 0;
    Read(&rest, &buffer, feed);
    while (feed.ignore_bytes_needed || buffer.size() - start >= decoder.bytes_needed()) {
      const std::string_view input = std::string_view(buffer).substr(start);
      const ChunkedDecoder::Result r = decoder.Decode(input);
      trace.status = r.status;
      check(r.consumed <= input.size(), "consumed more than the input");
      check(r.status == Status::kData || r.data.empty(), "stray data");
      check(r.status == Status::kNeedMore || decoder.bytes_needed() == 0,
            "bytes_needed() not 0 after progress");
      switch (r.status) {
        case Status::kNeedMore:
          check(decoder.bytes_needed() > input.size() - r.consumed, "bytes_needed too small");
          break;
        case Status::kData:
          check(!r.data.empty(), "empty data");
          check(r.data.data() >= input.data() &&
                    r.data.data() + r.data.size() == input.data() + r.consumed,
                "data does not end the consumed bytes");
          trace.body.append(r.data);
          ++trace.pieces;
          check(trace.body.size() <= limits.max_body, "body above max_body");
          break;
        case Status::kDone:
        case Status::kError: {
          check(r.status == Status::kDone || r.consumed == 0, "kError consumed bytes");
          trace.consumed += r.consumed;
          start += r.consumed;
          const ChunkedDecoder::Result again =
              decoder.Decode(std::string_view(buffer).substr(start));
          check(again.status == r.status && again.consumed == 0, "final status not sticky");
          if (r.status == Status::kError) {
            trace.error_status = decoder.error_status();
            check(trace.error_status == 400 || trace.error_status == 413 ||
                      trace.error_status == 431,
                  "unexpected error status " + std::to_string(trace.error_status));
          }
          check(decoder.decoded() == trace.body.size(), "decoded() is not the body size");
          check(decoder.overhead() <= limits.max_overhead, "overhead above max_overhead");
          trace.unconsumed = r.status == Status::kDone ? buffer.size() - start + rest.size() : 0;
          return trace;
        }
      }
      trace.consumed += r.consumed;
      start += r.consumed;
      if (check.failed()) return trace;
      if (r.status == Status::kNeedMore) break;
    }
    trace.max_kept = std::max(trace.max_kept, buffer.size() - start);
  }
  check(decoder.decoded() == trace.body.size(), "decoded() is not the body size");
  trace.unconsumed = buffer.size() - start;
  return trace;
}

}  // namespace ringside::net
