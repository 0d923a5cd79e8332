// http_parser_fuzzer.cc: libFuzzer target for HttpParser and ChunkedDecoder.
//
// Input: one options byte, one fragmentation seed byte, then the bytes a client sends.
//   options bit 0: tiny limits, so that 413, 414 and 431 are reachable in short inputs
//   options bit 1: feed the bytes to a ChunkedDecoder alone instead of the request parser
//   options bit 2: call Parse/Decode on every fragment, even below bytes_needed()
//
// The stream is parsed twice with the same object: once in one piece (pipelined requests
// are parsed one after the other from the same buffer), then, after Reset, in fragments
// whose sizes come from the seed, as a connection would receive it. The fragmented caller
// keeps unconsumed bytes in a buffer that is appended to, sometimes moved to a new
// allocation (the parser must keep offsets, never pointers), and trimmed after each
// request. Both parses must report the same requests and end the same way; beyond that,
// every result is checked against the contract in http_parser.h and chunked_decoder.h.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "net/chunked_decoder.h"
#include "net/http_parser.h"
#include "net/http_syntax.h"
#include "tools/fuzz/fuzz_check.h"

namespace ringside::net {
namespace {

constexpr uint8_t kTinyLimits = 1 << 0;
constexpr uint8_t kDecoderOnly = 1 << 1;
constexpr uint8_t kIgnoreBytesNeeded = 1 << 2;

HttpLimits LimitsFor(uint8_t options) {
  if ((options & kTinyLimits) == 0) return {};
  return {.max_request_line = 40, .max_header_bytes = 96, .max_headers = 4, .max_body = 48};
}

// Whether `part` lies within `whole` (an empty view anywhere is fine).
bool Within(std::string_view part, std::string_view whole) {
  if (part.empty()) return true;
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

// Fragment sizes for a seed: mostly small (1 to 16 bytes) so that every state of the
// parsers sees an input end, sometimes up to 1 KiB.
class Fragmenter {
 public:
  explicit Fragmenter(uint8_t seed) : state_(0x9e3779b97f4a7c15ull * (seed + 1)) {}

  size_t NextSize() {
    const uint64_t r = Next();
    return 1 + ((r & 3) == 0 ? (r >> 8) % 1024 : (r >> 8) % 16);
  }
  // True once in `n` calls on average.
  bool OneIn(int n) { return Next() % n == 0; }

 private:
  uint64_t Next() {  // xorshift64*
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545f4914f6cdd1dull;
  }
  uint64_t state_;
};

// A parsed request, copied out of the views that Parse returned.
struct Request {
  std::string method, target, path, query, body;
  int version_minor = 0;
  bool keep_alive = false;
  bool expect_continue = false;
  std::vector<std::pair<std::string, std::string>> headers;
  size_t consumed = 0;
  friend bool operator==(const Request&, const Request&) = default;
};

// How a whole parse went: the requests, then how it stopped.
struct Outcome {
  std::vector<Request> requests;
  int error_status = 0;  // 0: stopped needing more bytes
  size_t unconsumed = 0;
  friend bool operator==(const Outcome&, const Outcome&) = default;
};

// Checks a kComplete result against its input and copies the request out.
Request CheckComplete(std::string_view input, const ParseResult& r, const HttpRequest& q,
                      const HttpLimits& limits) {
  FUZZ_CHECK(r.consumed > 0 && r.consumed <= input.size());
  FUZZ_CHECK(!r.send_continue);
  const std::string_view request_bytes = input.substr(0, r.consumed);
  FUZZ_CHECK(IsToken(q.method) && Within(q.method, request_bytes));
  FUZZ_CHECK(!q.target.empty() && Within(q.target, request_bytes));
  FUZZ_CHECK(q.path == "/" || Within(q.path, q.target));
  FUZZ_CHECK(Within(q.query, q.target));
  FUZZ_CHECK(q.version_minor == 0 || q.version_minor == 1);
  FUZZ_CHECK(!q.expect_continue || q.version_minor == 1);
  FUZZ_CHECK(q.headers.size() <= limits.max_headers);
  FUZZ_CHECK(q.body.size() <= limits.max_body);
  Request out{.method = std::string(q.method),
              .target = std::string(q.target),
              .path = std::string(q.path),
              .query = std::string(q.query),
              .body = std::string(q.body),
              .version_minor = q.version_minor,
              .keep_alive = q.keep_alive,
              .expect_continue = q.expect_continue,
              .consumed = r.consumed};
  for (const HttpHeader& h : q.headers) {
    FUZZ_CHECK(IsToken(h.name) && Within(h.name, request_bytes));
    FUZZ_CHECK(Within(h.value, request_bytes));
    out.headers.emplace_back(h.name, h.value);
  }
  const bool chunked = std::any_of(q.headers.begin(), q.headers.end(), [](const HttpHeader& h) {
    return EqualsIgnoreCase(h.name, "Transfer-Encoding");  // even with an empty value
  });
  if (!chunked) {
    // A Content-Length body is the request's last bytes, in the caller's input.
    FUZZ_CHECK(q.body.empty() ||
               q.body.data() + q.body.size() == request_bytes.data() + request_bytes.size());
    FUZZ_CHECK(q.body.size() == std::strtoull(std::string(q.Header("Content-Length")).c_str(),
                                              nullptr, 10));
  }
  return out;
}

// Checks the result of one Parse call; false once the stream ended in an error.
// `continued` tracks send_continue for the request in progress: at most one per request.
bool CheckResult(HttpParser& parser, std::string_view input, const ParseResult& r,
                 const HttpRequest& q, const HttpLimits& limits, bool* continued,
                 Outcome* outcome) {
  switch (r.status) {
    case ParseStatus::kComplete: {
      Request request = CheckComplete(input, r, q, limits);
      FUZZ_CHECK(!*continued || request.expect_continue);
      *continued = false;
      outcome->requests.push_back(std::move(request));
      return true;
    }
    case ParseStatus::kNeedMore:
      FUZZ_CHECK(parser.bytes_needed() > input.size());
      if (r.send_continue) {
        FUZZ_CHECK(!*continued);
        *continued = true;
      }
      return true;
    case ParseStatus::kError: {
      const int s = r.error_status;
      FUZZ_CHECK(s == 400 || s == 413 || s == 414 || s == 431 || s == 501 || s == 505);
      FUZZ_CHECK(!r.send_continue);
      // The error sticks until Reset.
      HttpRequest again;
      const ParseResult repeat = parser.Parse(input, &again);
      FUZZ_CHECK(repeat.status == ParseStatus::kError && repeat.error_status == s);
      outcome->error_status = s;
      return false;
    }
  }
  return false;
}

Outcome ParseWhole(HttpParser& parser, std::string_view stream, const HttpLimits& limits) {
  Outcome outcome;
  HttpRequest request;
  bool continued = false;
  while (true) {
    const ParseResult r = parser.Parse(stream, &request);
    if (!CheckResult(parser, stream, r, request, limits, &continued, &outcome)) break;
    if (r.status == ParseStatus::kNeedMore) break;
    stream.remove_prefix(r.consumed);
  }
  outcome.unconsumed = outcome.error_status == 0 ? stream.size() : 0;
  return outcome;
}

Outcome ParseFragmented(HttpParser& parser, std::string_view stream, uint8_t options,
                        Fragmenter& fragmenter, const HttpLimits& limits) {
  Outcome outcome;
  HttpRequest request;
  bool continued = false;
  std::string buffer;
  while (!stream.empty()) {
    const size_t n = std::min(fragmenter.NextSize(), stream.size());
    buffer.append(stream.substr(0, n));
    stream.remove_prefix(n);
    if (fragmenter.OneIn(8)) {
      // Moves the bytes; the old allocation is freed, so ASan reports any pointer kept.
      std::string moved(buffer);
      buffer.swap(moved);
    }
    // Like a server's read loop: Parse only when bytes_needed() says it can progress,
    // also right after a complete request, on what is left of the buffer.
    while ((options & kIgnoreBytesNeeded) != 0 || buffer.size() >= parser.bytes_needed()) {
      const ParseResult r = parser.Parse(buffer, &request);
      if (!CheckResult(parser, buffer, r, request, limits, &continued, &outcome)) {
        return outcome;
      }
      if (r.status == ParseStatus::kNeedMore) break;
      buffer.erase(0, r.consumed);
    }
  }
  outcome.unconsumed = buffer.size();
  return outcome;
}

// How a chunked body decoded: the decoder's final state.
struct Decoded {
  ChunkedDecoder::Status status = ChunkedDecoder::Status::kNeedMore;
  std::string body;
  size_t end = 0;
  int error_status = 0;
  friend bool operator==(const Decoded&, const Decoded&) = default;
};

Decoded Finish(const ChunkedDecoder& decoder, ChunkedDecoder::Status status,
               std::string_view input, const ChunkedDecoder::Limits& limits) {
  FUZZ_CHECK(decoder.body().size() <= limits.max_body);
  // The body so far depends on which calls were skipped; only a finished one compares.
  Decoded out{.status = status};
  switch (status) {
    case ChunkedDecoder::Status::kNeedMore:
      FUZZ_CHECK(decoder.bytes_needed() > input.size());
      break;
    case ChunkedDecoder::Status::kDone:
      FUZZ_CHECK(decoder.end() > 0 && decoder.end() <= input.size());
      out.body = std::string(decoder.body());
      out.end = decoder.end();
      break;
    case ChunkedDecoder::Status::kError:
      out.error_status = decoder.error_status();
      FUZZ_CHECK(out.error_status == 400 || out.error_status == 413 ||
                 out.error_status == 431);
      break;
  }
  return out;
}

void FuzzDecoder(std::string_view stream, uint8_t options, Fragmenter& fragmenter) {
  const HttpLimits http = LimitsFor(options);
  const ChunkedDecoder::Limits limits{.max_body = http.max_body,
                                      .max_trailer_bytes = http.max_header_bytes};
  ChunkedDecoder decoder(limits);
  decoder.Reset(0);
  const Decoded whole = Finish(decoder, decoder.Decode(stream), stream, limits);
  // A finished decoder keeps its status.
  if (whole.status != ChunkedDecoder::Status::kNeedMore) {
    FUZZ_CHECK(decoder.Decode(stream) == whole.status);
  }

  decoder.Reset(0);
  std::string buffer;
  ChunkedDecoder::Status status = ChunkedDecoder::Status::kNeedMore;
  do {
    const size_t n = std::min(fragmenter.NextSize(), stream.size());
    buffer.append(stream.substr(0, n));
    stream.remove_prefix(n);
    if ((options & kIgnoreBytesNeeded) != 0 || buffer.size() >= decoder.bytes_needed()) {
      status = decoder.Decode(buffer);
    }
  } while (!stream.empty() && status == ChunkedDecoder::Status::kNeedMore);
  const Decoded fragmented = Finish(decoder, status, buffer, limits);
  FUZZ_CHECK(whole == fragmented);
}

void FuzzParser(std::string_view stream, uint8_t options, Fragmenter& fragmenter) {
  const HttpLimits limits = LimitsFor(options);
  HttpParser parser(limits);
  const Outcome whole = ParseWhole(parser, stream, limits);
  parser.Reset();
  const Outcome fragmented = ParseFragmented(parser, stream, options, fragmenter, limits);
  FUZZ_CHECK(whole == fragmented);
}

}  // namespace
}  // namespace ringside::net

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t options = data[0];
  ringside::net::Fragmenter fragmenter(data[1]);
  const std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);
  if ((options & ringside::net::kDecoderOnly) != 0) {
    ringside::net::FuzzDecoder(stream, options, fragmenter);
  } else {
    ringside::net::FuzzParser(stream, options, fragmenter);
  }
  return 0;
}
