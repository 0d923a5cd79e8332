// http_response.h: writes HTTP/1.1 responses, framed by Content-Length, into a send buffer.
//
//   DateCache date;  // one per reactor thread
//   AppendResponse({.status = 200, .content_type = "text/plain", .body = "ok"}, date.Now(), &out);
//   AppendErrorResponse(result.error_status, date.Now(), &out);  // then close the connection
//   out.append(kContinueResponse);  // when ParseResult::send_continue says so
//
// Every response carries Server, Date, Content-Length (or, for a body the caller streams in
// chunks, Transfer-Encoding: chunked) and, if given, Content-Type, in this
// order: "HTTP/1.1 <code> <reason>\r\nServer: ringside\r\nDate: <date>\r\n
// Content-Type: <type>\r\nContent-Length: <n>\r\n[Allow: ...\r\n][Connection: ...\r\n]\r\n".
//
// Thread-safety: thread-safe (the functions only write to their `out`).
#ifndef RINGSIDE_NET_HTTP_RESPONSE_H_
#define RINGSIDE_NET_HTTP_RESPONSE_H_

#include "ringside/base/cxx20.h"  // first: below C++20, one clear error

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringside::net {

// The interim response to "Expect: 100-continue", sent at most once before the final one.
inline constexpr std::string_view kContinueResponse = "HTTP/1.1 100 Continue\r\n\r\n";

enum class ConnectionField {
  kNone,       // HTTP/1.1 keep-alive, the default
  kClose,      // the connection closes after this response
  kKeepAlive,  // an HTTP/1.0 client asked to keep the connection
};

struct Response {
  int status = 200;                 // 100 to 999
  std::string_view content_type;    // no Content-Type field when empty
  std::string_view body;
  ConnectionField connection = ConnectionField::kNone;
  bool omit_body = false;           // HEAD: Content-Length describes `body`, not sent
  std::string_view allow;           // an Allow field when non-empty (405)
  // The body is sent by the caller after the head (by reference, e.g. an echoed request
  // body): Content-Length says this many bytes and `body` is ignored.
  std::optional<uint64_t> body_follows;
  // The body follows as chunks the caller writes (AppendChunkSize, the data, CRLF; then
  // kLastChunk): "Transfer-Encoding: chunked" instead of Content-Length; `body` and
  // `body_follows` are ignored. Only for HTTP/1.1 requests (RFC 9112 7.1).
  bool chunked = false;
};

// The end of a chunked body: the last chunk and an empty trailer section.
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";
// Appends a chunk's size line ("1f40\r\n"); the chunk's `size` bytes and a CRLF follow.
void AppendChunkSize(uint64_t size, std::string* out);

// The standard reason phrase (RFC 9110 15) of the statuses this server sends; "" for others,
// which the status line allows.
std::string_view ReasonPhrase(int status);

// `date` is an IMF-fixdate, normally DateCache::Now().
void AppendResponse(const Response& response, std::string_view date, std::string* out);

// A response whose bytes are fixed but for the Date, for the hot fixed-body routes: built once
// by AppendResponse, then appended whole with the current date copied over the one it was
// built with, so each response is two copies instead of a dozen pieces and two numbers.
//
//   const PrebuiltResponse ok({.status = 200, .content_type = "text/plain", .body = "ok"});
//   ok.AppendTo(date.Now(), &out);  // the bytes AppendResponse(that response, date, &out) writes
class PrebuiltResponse {
 public:
  // Copies what it needs of `response` (its views need not outlive the constructor).
  explicit PrebuiltResponse(const Response& response);

  // `date` is an IMF-fixdate (DateCache::Now()), which is always DateCache::kSize bytes.
  void AppendTo(std::string_view date, std::string* out) const;

 private:
  std::string bytes_;
  size_t date_offset_ = 0;
};

// A request the parser rejected: `status` (400, 413, 414, 431, 501, 505, ...) with its reason
// phrase as a text/plain body, and "Connection: close", since after a framing error the rest
// of the byte stream cannot be trusted.
void AppendErrorResponse(int status, std::string_view date, std::string* out);

}  // namespace ringside::net

#endif  // RINGSIDE_NET_HTTP_RESPONSE_H_
