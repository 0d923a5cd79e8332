// conformance_cases.h: the HTTP/1.1 conformance and request-smuggling cases (RFC 9112,
// RFC 9110) that conformance_test.cc sends, as raw bytes, to a real server over TCP.
//
// Each case says what the server must answer and whether it must then close. The limits are
// those of net::HttpLimits{}, which are also the server's flag defaults (--max_body 8 MiB,
// --max_request_line 8192, --max_header_bytes 16384, 100 fields).
//
// How the harness reads a case:
//   - `raw` is sent (whole in one pass, cut into random fragments in another); when the case
//     must close and expects a response, kSmuggled is pipelined right after it: a request the
//     server must never process, whose body (kSmuggledMarker) would show in the output if it
//     were.
//   - `statuses` are the responses in order. An unlisted "100 Continue" is ignored (RFC 9110
//     10.1.1 lets a server skip it when the body has already arrived). Empty: no response at
//     all; the client then half-closes and the server must close without sending a byte.
//   - `continuation` is sent once the first response (the 100 Continue) has arrived.
//   - `close`: the server closes after the responses (EOF within a deadline). Otherwise a
//     follow-up GET /pipeline on the same connection must get 200 "ok".
//   - `body`, when given, is the body of the first final (non-1xx) response.
//   - `head_responses`: the first this many final responses answer HEAD requests, so they
//     carry a Content-Length but no body.
#ifndef RINGSIDE_SERVICES_HTTP_CONFORMANCE_CASES_H_
#define RINGSIDE_SERVICES_HTTP_CONFORMANCE_CASES_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringside::http {

inline constexpr std::string_view kSmuggledMarker = "SMUGGLED";
inline constexpr std::string_view kSmuggled =
    "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 8\r\n\r\nSMUGGLED";

struct ConformanceCase {
  std::string name;      // unique, [a-z0-9_]: the test's name
  std::string category;
  std::string raw;
  std::vector<int> statuses;
  bool close = false;
  std::optional<std::string> body;
  std::string continuation;
  size_t head_responses = 0;
};

// Every case, grouped by category.
const std::vector<ConformanceCase>& ConformanceCases();

}  // namespace ringside::http

#endif  // RINGSIDE_SERVICES_HTTP_CONFORMANCE_CASES_H_
