// http_parser.h: a strict, zero-copy, resumable HTTP/1.1 request parser (RFC 9112, RFC 9110).
//
// The caller keeps a connection's unconsumed bytes contiguous and passes them, from the first
// unconsumed byte, to Parse. When more bytes arrive it calls Parse again with the longer view:
// the same bytes with more appended, possibly at another address (the parser keeps offsets,
// never pointers). The parser remembers how far it got, so every byte is examined O(1) times
// however the request is split. On kComplete the caller uses the request, drops `consumed`
// bytes and calls Parse on what is left, even if nothing new arrived (pipelining); the parser
// starts the next request by itself.
//
//   HttpParser parser;
//   HttpRequest request;
//   ParseResult r = parser.Parse(unconsumed, &request);
//   if (r.send_continue) Send(kContinueResponse);
//   switch (r.status) {
//     case ParseStatus::kComplete: Handle(request); Drop(r.consumed); break;  // then Parse again
//     case ParseStatus::kError: SendError(r.error_status); Close(); break;
//     case ParseStatus::kNeedMore: break;  // Parse again once size() >= parser.bytes_needed()
//   }
//
// Strictness: any deviation from the grammar is an error, never a guess, so that no peer can
// frame the byte stream differently from us (request smuggling). Errors and their statuses:
//   400  request line not `token SP target SP HTTP/x.y` with single spaces; target empty or
//        with a control, space, non-ASCII or '#'; absolute-form without a host or with
//        userinfo; asterisk-form other than with OPTIONS;
//        CONNECT without authority-form, or authority-form without CONNECT; version not
//        HTTP/<digit>.<digit>; a bare CR or LF anywhere in the head (lines end with CRLF
//        only); more than kMaxLeadingEmptyLines empty lines before the request line;
//        field name not a token, whitespace before the colon, obs-fold, a control other
//        than HTAB in a value; Content-Length not 1*DIGIT, above 2^63-1, repeated (even
//        with equal values) or a list; Content-Length with Transfer-Encoding; Transfer-
//        Encoding in HTTP/1.0, with chunked missing, repeated, not last or with parameters,
//        or a coding that is not a token; HTTP/1.1 without Host, more than one Host, a Host with characters
//        outside those of uri-host[:port]; every chunked-body error (see chunked_decoder.h).
//   413  Content-Length above max_body (as soon as the head is complete), or a chunked body
//        whose decoded size would exceed it.
//   414  request line longer than max_request_line (as soon as that many bytes arrived).
//   431  header block longer than max_header_bytes, more than max_headers fields, or a
//        trailer section longer than max_header_bytes.
//   501  a transfer coding other than chunked before the final chunked ("gzip, chunked").
//   505  HTTP/<digit>.<digit> other than 1.0 and 1.1.
// After kError the connection must be closed: Parse keeps returning the same error until
// Reset. Methods are any token (routing decides 404/405), and GET or HEAD may carry a body.
// Expect values other than 100-continue are ignored, as is 100-continue in HTTP/1.0.
//
// Thread-safety: thread-compatible; one parser per connection, used by one thread at a time.
#ifndef RINGSIDE_NET_HTTP_PARSER_H_
#define RINGSIDE_NET_HTTP_PARSER_H_

#include <cstddef>
#include <string_view>
#include <vector>

#include "net/chunked_decoder.h"
#include "net/http_syntax.h"

namespace ringside::net {

struct HttpLimits {
  size_t max_request_line = 8192;   // 414 above, CRLF excluded
  size_t max_header_bytes = 16384;  // 431 above: field lines and the final CRLF
  size_t max_headers = 100;         // 431 above
  size_t max_body = 8 << 20;        // 413 above: Content-Length or decoded chunked size
};

struct HttpHeader {
  std::string_view name;
  std::string_view value;  // without surrounding whitespace
};

// Filled by Parse on kComplete only. The views point into the caller's input, except a
// chunked body, which points into the parser; all are valid until the caller drops the
// request's bytes or calls Parse or Reset again, whichever comes first.
struct HttpRequest {
  std::string_view method;
  std::string_view target;  // as sent
  std::string_view path;    // of the target: "/a/b" of "/a/b?x" or "http://h/a/b?x"; "*"
  std::string_view query;   // after '?', without it; empty when absent
  int version_minor = 1;    // HTTP/1.<version_minor>, 0 or 1
  bool keep_alive = true;   // 1.1: unless "Connection: close"; 1.0: only with keep-alive
  bool expect_continue = false;
  std::vector<HttpHeader> headers;  // in order; cleared, not shrunk, per request
  std::string_view body;

  // The value of the first field named `name` (case-insensitive), or "" if none.
  std::string_view Header(std::string_view name) const;
};

enum class ParseStatus { kNeedMore, kComplete, kError };

struct ParseResult {
  ParseStatus status = ParseStatus::kNeedMore;
  size_t consumed = 0;     // kComplete: bytes of this request, skipped empty lines included
  int error_status = 0;    // kError: 400, 413, 414, 431, 501 or 505
  // True on the one kNeedMore result whose call completed the head of an HTTP/1.1 request
  // with "Expect: 100-continue" whose body has not fully arrived: send "100 Continue" now.
  bool send_continue = false;
};

class HttpParser {
 public:
  // Empty lines tolerated before a request line (RFC 9112 2.2 asks to ignore at least one).
  static constexpr int kMaxLeadingEmptyLines = 4;

  explicit HttpParser(HttpLimits limits = {});

  // Parses the request at the start of `input`; see the header comment for the protocol.
  // `input` must extend the previous call's input unless that call returned kComplete (the
  // caller then drops `consumed` bytes first) or Reset was called.
  ParseResult Parse(std::string_view input, HttpRequest* request);

  // The input size below which Parse can neither complete nor fail, so the caller need not
  // call it on smaller inputs: the end of a Content-Length body, one byte past the current
  // chunk's data, otherwise one byte more than the last input; 0 after kComplete. Smaller
  // calls are harmless and cheap (they return kNeedMore at once).
  size_t bytes_needed() const { return bytes_needed_; }

  // Forgets the current request (and a sticky error); the next input starts a new request.
  void Reset();

 private:
  enum class State { kRequestLine, kHeaders, kFixedBody, kChunkedBody, kComplete, kError };
  enum class Step { kNext, kNeedMore, kError };
  // A part of the input by offset, since the input may move between calls.
  struct Span {
    static Span Of(std::string_view input, std::string_view part);
    std::string_view In(std::string_view input) const { return input.substr(offset, size); }
    size_t offset = 0;
    size_t size = 0;
  };
  struct FieldSpan {
    Span name;
    Span value;
  };

  Step ScanRequestLine(std::string_view input);
  int ParseRequestLine(std::string_view input, std::string_view line);
  Step ScanHeaders(std::string_view input);
  Step FinishHead(std::string_view input);
  Step Fail(int status);
  void Fill(std::string_view input, HttpRequest* request) const;

  HttpLimits limits_;
  State state_ = State::kRequestLine;
  int error_status_ = 0;
  size_t bytes_needed_ = 0;
  CrlfLineScanner lines_;
  int empty_lines_ = 0;
  Span method_, target_, path_, query_;
  bool root_path_ = false;  // absolute-form without a path, whose path is "/"
  int version_minor_ = 1;
  size_t header_start_ = 0;
  std::vector<FieldSpan> fields_;
  bool keep_alive_ = true;
  bool expect_continue_ = false;
  bool chunked_ = false;
  size_t body_start_ = 0;
  size_t body_end_ = 0;  // Content-Length framing only
  ChunkedDecoder chunked_decoder_;
};

}  // namespace ringside::net

#endif  // RINGSIDE_NET_HTTP_PARSER_H_
