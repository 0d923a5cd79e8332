// http_parse_test_util.h: drives an HttpParser or a ChunkedDecoder like a server's read loop
// does, for tests and the fuzzer (testonly).
//
// The driver feeds a byte stream in fragments to a caller buffer, calls Parse (Decode) as
// the contract in http_parser.h (chunked_decoder.h) says, drops `consumed` bytes after each
// call, and records what a handler would see: each request's head as strings, its body as
// the concatenated segments and the raw bytes consumed for it, plus every call. It checks
// every result against the contract and reports the first breach in `violation`, so the
// tests and the fuzzer check the same things.
//
//   const ParseTrace t = DriveParser(parser, stream, limits, {.next_size = [] { return 1; }});
//   EXPECT_EQ(t.violation, "");
//   EXPECT_EQ(t.requests[0].body, "hello");
//
// Thread-safety: thread-compatible.
#ifndef RINGSIDE_NET_HTTP_PARSE_TEST_UTIL_H_
#define RINGSIDE_NET_HTTP_PARSE_TEST_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ringside/net/chunked_decoder.h"
#include "ringside/net/http_parser.h"

namespace ringside::net {

// How the stream reaches the caller's buffer.
struct Feed {
  // The size of each read (at least 1 is taken); null: the whole stream in one read.
  std::function<size_t()> next_size;
  // Also calls Parse/Decode when the buffer is smaller than bytes_needed().
  bool ignore_bytes_needed = false;
  // Called after each read; true moves the buffer to a new allocation (the old one is
  // freed, so ASan reports any pointer the parser kept).
  std::function<bool()> move_buffer;
  // Whether to record every call in ParseTrace::steps.
  bool record_steps = true;
};

// A request as the handler saw it; nothing here depends on how the stream was fragmented.
struct ParsedRequest {
  std::string method, target, path, query;
  int version_minor = 0;
  bool keep_alive = false;
  bool expect_continue = false;
  bool chunked = false;
  uint64_t body_length = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;        // the kBody segments, concatenated
  size_t head_bytes = 0;   // consumed by kHead
  size_t raw_bytes = 0;    // consumed in total for this request: head, body and framing
  bool complete = false;   // kComplete was returned
  friend bool operator==(const ParsedRequest&, const ParsedRequest&) = default;
};

// One Parse call.
struct ParseStep {
  ParseStatus status;
  size_t input_size;
  size_t consumed;
  size_t segment_size;  // kBody
  bool send_continue;
};

struct ParseTrace {
  // Every request whose head was parsed, in order; only the last may be incomplete.
  std::vector<ParsedRequest> requests;
  int error_status = 0;     // 0: the stream ended with the parser needing more bytes
  size_t fed_at_error = 0;  // stream bytes read into the buffer when the error came
  size_t unconsumed = 0;    // bytes left in the buffer at the end (0 after an error)
  size_t max_held = 0;      // largest buffer size, right after a read
  size_t max_kept = 0;      // largest buffer size when the parser stopped (kNeedMore)
  int continues = 0;        // results with send_continue
  std::vector<ParseStep> steps;
  std::string violation;    // the first breach of the contract, or ""

  // What must not depend on fragmentation: the requests, the error, what was left. Only
  // the raw bytes consumed for a request that ended in an error may differ (fragmented
  // input drops framing earlier, and which bytes were consumed at the error is moot).
  bool SameOutcome(const ParseTrace& other) const;
};

// Feeds `stream` to `parser` (new or Reset) as `feed` says; `limits` are the parser's.
ParseTrace DriveParser(HttpParser& parser, std::string_view stream, const HttpLimits& limits,
                       const Feed& feed = {});

// With a new parser: the whole stream in one read, or reads of 1 to max_piece bytes whose
// sizes come from `seed`.
ParseTrace ParseWhole(std::string_view stream, const HttpLimits& limits = {});
ParseTrace ParseInPieces(std::string_view stream, uint32_t seed, size_t max_piece,
                         const HttpLimits& limits = {});

struct DecodeTrace {
  ChunkedDecoder::Status status = ChunkedDecoder::Status::kNeedMore;  // the last one
  int error_status = 0;
  std::string body;         // the kData pieces, concatenated
  size_t consumed = 0;      // in total; after kDone, the body's raw size
  size_t unconsumed = 0;    // bytes left in the buffer at the end
  size_t max_kept = 0;      // largest buffer size when the decoder stopped (kNeedMore)
  size_t pieces = 0;        // kData results
  std::string violation;    // the first breach of the contract, or ""

  // What must not depend on fragmentation (`consumed` only without an error).
  bool SameOutcome(const DecodeTrace& other) const {
    return status == other.status && error_status == other.error_status &&
           body == other.body && unconsumed == other.unconsumed &&
           (status == ChunkedDecoder::Status::kError || consumed == other.consumed);
  }
};

// Feeds `stream` to `decoder` (Reset) until kDone, kError or the end of the stream.
DecodeTrace DriveDecoder(ChunkedDecoder& decoder, std::string_view stream,
                         const ChunkedDecoder::Limits& limits, const Feed& feed = {});

}  // namespace ringside::net

#endif  // RINGSIDE_NET_HTTP_PARSE_TEST_UTIL_H_
