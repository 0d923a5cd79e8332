// http_parser: the HTTP/1.1 request parser on its own, without the reactor.
//
// Two pipelined requests, the second with a chunked body, arrive in pieces of 7 bytes.
// The parser hands out the head as views, then the body as segments, never copying; the
// caller keeps the unconsumed bytes (here a std::string) and drops what each call consumed.
// Exits 0 if both requests came out as expected.
#include <cstdio>
#include <string>
#include <string_view>

#include "ringside/net/http_parser.h"

int main() {
  const std::string wire =
      "GET /hello?name=ring HTTP/1.1\r\nHost: example\r\n\r\n"
      "POST /upload HTTP/1.1\r\nHost: example\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";

  ringside::net::HttpParser parser;  // default limits (HttpLimits)
  ringside::net::HttpRequest request;
  std::string buffer;  // received, not yet consumed
  std::string summary;
  std::string body;
  for (size_t offset = 0; offset < wire.size(); offset += 7) {
    buffer.append(wire, offset, 7);  // bytes arrive
    for (;;) {
      const ringside::net::ParseResult r = parser.Parse(buffer, &request);
      switch (r.status) {
        case ringside::net::ParseStatus::kHead:  // views into `buffer`: use them now
          summary += std::string(request.method) + " " + std::string(request.path) + " ";
          break;
        case ringside::net::ParseStatus::kBody:
          body += r.body_segment;
          break;
        case ringside::net::ParseStatus::kComplete:
          summary += "[" + body + "] ";
          body.clear();
          break;
        case ringside::net::ParseStatus::kError:
          std::printf("error %d\n", r.error_status);
          return 1;
        case ringside::net::ParseStatus::kNeedMore:
          break;
      }
      buffer.erase(0, r.consumed);  // drop what the parser is done with
      if (r.status == ringside::net::ParseStatus::kNeedMore) break;
    }
  }
  std::printf("%s\n", summary.c_str());
  return summary == "GET /hello [] POST /upload [hello world] " ? 0 : 1;
}
