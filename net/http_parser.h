// http_parser.h: a strict, zero-copy, streaming HTTP/1.1 request parser (RFC 9112, RFC 9110).
//
// The parser never holds request bytes and never asks the caller to hold a whole request:
// the head is handed out as views, then the body as segments (views into the caller's
// input, never copies), and after every call the caller drops the raw bytes the parser is
// done with (`consumed`), chunk framing included. Between calls a caller keeps at most a
// partial head (max_request_line + max_header_bytes + a few bytes), a partial chunk-size
// line (kMaxChunkLine + 1) or a partial trailer line (max_header_bytes), whatever the size
// or chunking of the body; the fuzzer checks this bound.
//
// Protocol. Call Parse with `input` = the connection's unconsumed bytes, from the first one.
// Each call returns one ParseResult; the caller drops r.consumed bytes from the front of its
// buffer before the next call (they may be 0), then:
//   kNeedMore  nothing more can be done with these bytes: call again once more have arrived
//              (input.size() >= bytes_needed() after the drop; smaller calls are harmless).
//              consumed > 0 only for chunk framing that was fully decoded (chunk-size lines,
//              the CRLF after chunk data, trailer lines); for a partial head it is 0, and
//              the caller keeps the head's bytes and calls again with them plus what arrived.
//   kHead      the request line and header section are complete. *request holds them as
//              views into `input`, valid only while the caller keeps those bytes: the caller
//              must copy them or take a lease on them before dropping r.consumed (= the
//              head's bytes, leading empty lines included). Call again right away, even on
//              an empty rest: kHead is ALWAYS followed by zero or more kBody results and
//              then one kComplete, also for a request without a body (request->has_body()
//              false), whose kComplete comes from the next call with consumed 0.
//   kBody      r.body_segment is the next piece of decoded body: a non-empty view into
//              `input`, ending at input[r.consumed - 1] (r.consumed counts the chunk framing
//              before it as well). It is as long as `input` allows, up to the rest of the
//              Content-Length body or of the current chunk, so segment boundaries depend on
//              how the bytes arrived. The caller uses it (or takes a lease on it) before
//              dropping r.consumed, then calls again right away.
//   kComplete  the request ended: its body, for chunked also its last chunk and trailer
//              section, which r.consumed completes (0 for a Content-Length or empty body).
//              The parser is ready for the next request: call again right away on what is
//              left (pipelining), even if nothing new arrived and even if it is empty.
//   kError     r.error_status (400, 413, 414, 431, 501 or 505; see below) must be sent, then
//              the connection closed. Parse keeps returning it, consumed 0, until Reset.
// Parse writes *request only on kHead. Every input byte is examined O(1) times in total
// however the input is fragmented: the parser remembers offsets (never pointers) into the
// bytes it has seen and not consumed, which may move between calls (copied, compacted), and
// rebases them when the caller drops consumed bytes.
//
//   HttpParser parser;
//   HttpRequest request;
//   for (;;) {  // whenever bytes arrive; `buffer` holds the unconsumed ones
//     if (buffer.size() < parser.bytes_needed()) break;
//     const ParseResult r = parser.Parse(buffer.view(), &request);
//     if (r.send_continue) Send(kContinueResponse);
//     switch (r.status) {
//       case ParseStatus::kHead: StartRequest(request, buffer.Lease(r.consumed)); break;
//       case ParseStatus::kBody: AppendBody(buffer.Lease(r.body_segment)); break;
//       case ParseStatus::kComplete: FinishRequest(); break;
//       case ParseStatus::kError: SendError(r.error_status); Close(); return;
//       case ParseStatus::kNeedMore: break;
//     }
//     buffer.Consume(r.consumed);
//     if (r.status == ParseStatus::kNeedMore) break;
//   }
//
// Expect: 100-continue. ParseResult::send_continue is set on the kHead of an HTTP/1.1
// request with "Expect: 100-continue" and a body (has_body()) when `input` holds no byte
// after the head, i.e. the client may be waiting for "100 Continue" (RFC 9110 10.1.1 lets a
// server omit it once some content has arrived). It is never set on any other result.
//
// Limits (HttpLimits): max_request_line (414), max_header_bytes (431, also bounding the
// trailer section), max_headers (431), max_body (413: a Content-Length above it as soon as
// the head is complete, a chunked body as soon as a chunk-size takes the decoded total above
// it), and max_chunk_overhead (431): per request, the bytes of its chunk-size lines beyond
// their hex digits (chunk extensions, with any whitespace before them) plus its trailer
// section (final CRLF included), which the parser has to read but which carry nothing the
// application gets; checked as each chunk-size line ends (each is at most kMaxChunkLine
// bytes, 400 above) and as trailer lines arrive. 431 rather than 400 because the request is
// well-formed, only too large in its metadata: extensions and trailers are name/value
// parameters like header fields, the trailer section already answers 431 over
// max_header_bytes, and 400 stays the sign of a malformed (possibly smuggling) request.
// Without this limit a client could make the server read ~1 KiB of extensions per body
// byte (1-byte chunks), 1 GB for a 1 MiB body.
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
//        or a coding that is not a token; HTTP/1.1 without Host, more than one Host, a Host
//        value that is not uri-host [":" port] or whose host is empty (RFC 9110 4.2.1: an
//        "http" URI with an empty host is invalid; RFC 9112 3.2: 400); every chunked-body error (see
//        chunked_decoder.h).
//   413  Content-Length above max_body (as soon as the head is complete), or a chunked body
//        whose decoded size would exceed it.
//   414  request line longer than max_request_line (as soon as that many bytes arrived).
//   431  header block longer than max_header_bytes, more than max_headers fields, a
//        trailer section longer than max_header_bytes, or a chunked body whose extensions
//        and trailer section exceed max_chunk_overhead.
//   501  a transfer coding other than chunked before the final chunked ("gzip, chunked").
//   505  HTTP/<digit>.<digit> with a major version other than 1. HTTP/1.2 and above are
//        processed as HTTP/1.1 (RFC 9110 2.5).
// Methods are any token (routing decides 404/405), and GET or HEAD may carry a body.
// Expect values other than 100-continue are ignored, as is 100-continue in HTTP/1.0.
//
// A repeated head is not scanned again. Each thread keeps its last complete head (up to 256
// bytes and 8 fields) with its parse; a request whose first Parse call starts with the same
// bytes, under the same limits, takes that parse (views rebased into its own input) after
// one compare. The result is the same by construction: a head's parse is a function of its
// bytes and the limits. Pipelining and keep-alive clients repeat their heads; under
// pipelined load the scan was 22% of server CPU (docs/BENCHMARKS.md).
//
// A caller that answers a request from its head alone can go one step further: once a head
// was recalled (recalled_generation() names the memo entry), SkipRepeatedHeads tells, with
// the same one compare a request, that the next requests are that head again, bodiless, and
// consumes them without filling a request. The caller sends the answer it gave before
// (HttpHandler does, for as long as the Date it carries is current).
//
// Thread-safety: thread-compatible; one parser per connection, used by one thread at a time.
// The memo of the last head is per thread, so parsers on different threads share nothing.
#ifndef RINGSIDE_NET_HTTP_PARSER_H_
#define RINGSIDE_NET_HTTP_PARSER_H_

#include "ringside/base/cxx20.h"  // first: below C++20, one clear error

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "ringside/net/chunked_decoder.h"
#include "ringside/net/http_syntax.h"

namespace ringside::net {

struct HttpLimits {
  size_t max_request_line = 8192;   // 414 above, CRLF excluded
  size_t max_header_bytes = 16384;  // 431 above: field lines and the final CRLF; trailers too
  size_t max_headers = 100;         // 431 above
  size_t max_body = 8 << 20;        // 413 above: Content-Length or decoded chunked size
  size_t max_chunk_overhead = 64 << 10;  // 431 above: chunk extensions + trailer section

  friend bool operator==(const HttpLimits&, const HttpLimits&) = default;
};

struct HttpHeader {
  std::string_view name;
  std::string_view value;  // without surrounding whitespace
};

// The head of a request, filled by Parse on kHead only. The views point into that call's
// input (path may also be the literal "/"), so they are valid only while the caller keeps
// those bytes. The body is not here: it comes as kBody segments.
struct HttpRequest {
  std::string_view method;
  std::string_view target;  // as sent
  std::string_view path;    // of the target: "/a/b" of "/a/b?x" or "http://h/a/b?x"; "*"
  std::string_view query;   // after '?', without it; empty when absent
  int version_minor = 1;    // 0 for HTTP/1.0, 1 for HTTP/1.1 and above
  bool keep_alive = true;   // 1.1: unless "Connection: close"; 1.0: only with keep-alive
  bool expect_continue = false;
  bool chunked = false;       // Transfer-Encoding: chunked; the body's size is not known
  uint64_t body_length = 0;   // Content-Length (<= max_body); 0 without it or when chunked
  std::vector<HttpHeader> headers;  // in order; cleared, not shrunk, per request

  // Whether kBody results may follow kHead (a chunked body may still turn out empty).
  bool has_body() const { return chunked || body_length > 0; }

  // The value of the first field named `name` (case-insensitive), or "" if none.
  std::string_view Header(std::string_view name) const;
};

enum class ParseStatus { kNeedMore, kHead, kBody, kComplete, kError };

struct ParseResult {
  ParseStatus status = ParseStatus::kNeedMore;
  // Bytes at the start of `input` that the caller must drop before the next call, every
  // status but kError: the head (kHead), framing and the segment (kBody), the end of a
  // chunked body (kComplete), fully decoded chunk framing (kNeedMore).
  size_t consumed = 0;
  // kBody only: decoded body bytes, a non-empty view into `input` ending at consumed.
  std::string_view body_segment;
  int error_status = 0;  // kError: 400, 413, 414, 431, 501 or 505
  // kHead only: send "100 Continue" now (see the header comment).
  bool send_continue = false;
};

class HttpParser {
 public:
  // Empty lines tolerated before a request line (RFC 9112 2.2 asks to ignore at least one).
  static constexpr int kMaxLeadingEmptyLines = 4;

  explicit HttpParser(HttpLimits limits = {});

  // Parses from the start of `input`; see the header comment for the protocol. `input` must
  // start with the bytes the previous call left unconsumed (the same bytes, possibly moved),
  // with any that arrived since appended; after Reset, the first bytes of a request.
  ParseResult Parse(std::string_view input, HttpRequest* request);

  // After kNeedMore: the input size (after dropping `consumed`) below which Parse would look
  // at nothing new and return kNeedMore with consumed 0 again, so the caller need not call
  // it on smaller inputs: one byte more than was left unconsumed. 0 after every other
  // result (call again right away). Smaller calls are harmless and cheap.
  size_t bytes_needed() const { return bytes_needed_; }

  // True between kHead and kComplete: the head of the current request was handed out and
  // its body (possibly empty) is being parsed.
  bool head_complete() const {
    return state_ == State::kFixedBody || state_ == State::kChunkedBody;
  }

  // After kHead of a request without a body (!has_body()): ends the request as the
  // kComplete (consumed 0) that the next Parse would return, without that call. A caller
  // that answers such a request at its head saves a call per request.
  void EndBodilessRequest();

  // The memo entry (a per-thread generation number, never 0) the last head this parser
  // completed was recalled from: that head repeated the one memorized before it. 0 when the
  // last head was scanned (or none was completed yet).
  uint64_t recalled_generation() const { return recalled_generation_; }

  // At a request's start, when `input` starts with the head of memo entry `generation` (still
  // this thread's memo, under this parser's limits), and that head has no body: consumes up
  // to `max_heads` back-to-back copies of it as Parse and EndBodilessRequest would for each,
  // but fills no request; returns how many, and their bytes in *skipped_bytes. The parser
  // stays at a request's start. Otherwise returns 0 and changes nothing. Each request is the
  // very one that entry's head parsed to: the same bytes under the same limits.
  size_t SkipRepeatedHeads(std::string_view input, uint64_t generation, size_t max_heads,
                           size_t* skipped_bytes);

  // True when nothing of a request has been seen since the last kComplete (or Reset): a
  // caller with no input left may then drop this parser's state, or use another parser in
  // the same state, for the connection's next request.
  bool at_request_start() const {
    // bytes_needed_ is 1 after a call that saw no input.
    return state_ == State::kRequestLine && bytes_needed_ <= 1 && empty_lines_ == 0;
  }

  // Forgets the current request (and a sticky error); the next input starts a new request.
  void Reset();

 private:
  enum class State { kRequestLine, kHeaders, kFixedBody, kChunkedBody, kError };
  enum class Step { kNext, kNeedMore, kError };
  // A part of the input by offset, since the input may move between calls.
  struct Span {
    static Span Of(std::string_view input, std::string_view part);
    // Unchecked: a span is made from the input it is used with, or from the same bytes
    // moved (the Parse contract).
    std::string_view In(std::string_view input) const {
      assert(offset + size <= input.size());
      return std::string_view(input.data() + offset, size);
    }
    size_t offset = 0;
    size_t size = 0;
  };
  struct FieldSpan {
    Span name;
    Span value;
  };

  // What the parse of a complete head found: everything Fill and the body states need but
  // the fields.
  struct Head {
    Span method, target, path, query;
    bool root_path = false;  // absolute-form without a path, whose path is "/"
    int version_minor = 1;
    bool keep_alive = true;
    bool expect_continue = false;
    bool chunked = false;
    uint64_t body_length = 0;  // Content-Length
  };
  struct HeadMemo;
  static thread_local HeadMemo head_memo_;

  // Takes the parse of the last head completed on this thread when `input` starts with the
  // same bytes (see HeadMemo in the .cc) and returns it (its size and fields); null if it
  // does not.
  const HeadMemo* RecallHead(std::string_view input);
  void MemorizeHead(std::string_view head) const;
  bool AtUntouchedRequestStart() const {
    return state_ == State::kRequestLine && lines_.untouched();
  }
  Step ScanRequestLine(std::string_view input);
  int ParseRequestLine(std::string_view input, std::string_view line);
  Step ScanHeaders(std::string_view input);
  Step FinishHead(std::string_view input);
  // After the head: waits for its body, or for none.
  void StartBody();
  Step Fail(int status);
  static void Fill(std::string_view input, const Head& head, std::span<const FieldSpan> fields,
                   HttpRequest* request);
  ParseResult ParseHead(std::string_view input, HttpRequest* request);
  ParseResult ParseFixedBody(std::string_view input);
  ParseResult ParseChunkedBody(std::string_view input);
  ParseResult Error() const;
  // Forgets the request just parsed; the next input starts a new one.
  void StartRequest();

  HttpLimits limits_;
  State state_ = State::kRequestLine;
  int error_status_ = 0;
  size_t bytes_needed_ = 0;
  CrlfLineScanner lines_;
  int empty_lines_ = 0;
  Head head_;
  size_t header_start_ = 0;
  std::vector<FieldSpan> fields_;
  uint64_t remaining_ = 0;  // of a Content-Length body, not yet handed out
  uint64_t recalled_generation_ = 0;
  ChunkedDecoder chunked_decoder_;
};

}  // namespace ringside::net

#endif  // RINGSIDE_NET_HTTP_PARSER_H_
