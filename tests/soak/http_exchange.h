// http_exchange.h: random requests for the demo HTTP app (DESIGN.md, "HTTP endpoints") with
// the exact response each must get, and a checker that verifies a response byte stream
// against them as it arrives, in whatever fragments the network delivers.
//
//   std::mt19937_64 rng(seed);
//   ResponseChecker checker;
//   Exchange e = RandomExchange(rng, {.close = false});
//   Send(e.request);
//   checker.Expect(std::move(e.response));
//   if (!checker.Consume(received_bytes)) Fail(checker.error());
//
// Every byte of a response is predictable except the Date value, which is checked for the
// IMF-fixdate shape instead ("Sun, 06 Nov 1994 08:49:37 GMT").
//
// Thread-compatible; test-only.
#ifndef RINGSIDE_TESTS_SOAK_HTTP_EXCHANGE_H_
#define RINGSIDE_TESTS_SOAK_HTTP_EXCHANGE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <string_view>

namespace ringside::soak {

// A response whose bytes are all known except the Date value at [date_offset, +kDateSize).
struct ExpectedResponse {
  static constexpr size_t kDateSize = 29;
  std::string bytes;  // the date's place holds kDateSize placeholder bytes
  size_t date_offset = 0;
};

struct Exchange {
  std::string request;
  ExpectedResponse response;
};

struct ExchangeOptions {
  bool close = false;             // "Connection: close" on the request (and the response)
  size_t max_body = 64 * 1024;    // largest POST /echo body
};

// One of GET /plaintext, /json, /pipeline, /baseline11?a=&b=, POST /baseline11 and POST
// /echo with a Content-Length or chunked body of random bytes and size.
Exchange RandomExchange(std::mt19937_64& rng, const ExchangeOptions& options);

// Checks a connection's received byte stream against the responses expected, in order.
class ResponseChecker {
 public:
  void Expect(ExpectedResponse response);

  // Checks the next received bytes. False at the first byte that differs from what was
  // expected, or that arrives when no response is expected; error() then says where.
  bool Consume(std::string_view data);

  // Responses expected and not yet received whole.
  size_t outstanding() const { return expected_.size(); }
  // True when part of a response arrived, but not all of it.
  bool mid_response() const { return offset_ > 0; }
  uint64_t responses_checked() const { return responses_checked_; }
  uint64_t bytes_checked() const { return bytes_checked_; }
  const std::string& error() const { return error_; }

 private:
  std::deque<ExpectedResponse> expected_;
  size_t offset_ = 0;  // into expected_.front().bytes
  uint64_t responses_checked_ = 0;
  uint64_t bytes_checked_ = 0;
  std::string error_;
};

// True once `received` holds one whole response framed by Content-Length (the first one).
bool HoldsWholeResponse(std::string_view received);

}  // namespace ringside::soak

#endif  // RINGSIDE_TESTS_SOAK_HTTP_EXCHANGE_H_
