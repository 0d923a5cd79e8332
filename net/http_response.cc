#include "net/http_response.h"

#include <charconv>
#include <cstring>

#include "net/date_cache.h"

namespace ringside::net {
namespace {

// Writes bytes at `out` and returns the end of what it wrote. string_view::copy, not memcpy:
// an empty view may have a null data(), which memcpy must not be given.
char* Put(char* out, std::string_view bytes) { return out + bytes.copy(out, bytes.size()); }

std::string_view ConnectionLine(ConnectionField connection) {
  switch (connection) {
    case ConnectionField::kNone:
      return {};
    case ConnectionField::kClose:
      return "\r\nConnection: close";
    case ConnectionField::kKeepAlive:
      return "\r\nConnection: keep-alive";
  }
  return {};
}

constexpr std::string_view kVersion = "HTTP/1.1 ";
constexpr std::string_view kServerAndDate = "\r\nServer: ringside\r\nDate: ";
constexpr std::string_view kContentType = "\r\nContent-Type: ";
constexpr std::string_view kContentLength = "\r\nContent-Length: ";
constexpr std::string_view kAllow = "\r\nAllow: ";
constexpr std::string_view kEndOfHead = "\r\n\r\n";

}  // namespace

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "";
  }
}

void AppendResponse(const Response& response, std::string_view date, std::string* out) {
  // The size is known before anything is written, so `out` grows once and every piece is a
  // plain copy, with no capacity check per piece.
  char status[20];
  const char* const status_end =
      std::to_chars(status, status + sizeof(status), static_cast<size_t>(response.status)).ptr;
  char length[20];
  const char* const length_end =
      std::to_chars(length, length + sizeof(length),
                    static_cast<size_t>(response.body_follows.value_or(response.body.size())))
          .ptr;
  const std::string_view status_text(status, status_end - status);
  const std::string_view length_text(length, length_end - length);
  const std::string_view reason = ReasonPhrase(response.status);
  const std::string_view connection = ConnectionLine(response.connection);
  const std::string_view body =
      response.omit_body || response.body_follows ? std::string_view() : response.body;
  const bool typed = !response.content_type.empty();
  const bool allow = !response.allow.empty();
  const size_t size =
      kVersion.size() + status_text.size() + 1 + reason.size() + kServerAndDate.size() +
      date.size() + (typed ? kContentType.size() + response.content_type.size() : 0) +
      kContentLength.size() + length_text.size() +
      (allow ? kAllow.size() + response.allow.size() : 0) + connection.size() +
      kEndOfHead.size() + body.size();
  const size_t start = out->size();
  out->resize(start + size);
  char* p = out->data() + start;
  p = Put(p, kVersion);
  p = Put(p, status_text);
  *p++ = ' ';
  p = Put(p, reason);
  p = Put(p, kServerAndDate);
  p = Put(p, date);
  if (typed) {
    p = Put(p, kContentType);
    p = Put(p, response.content_type);
  }
  p = Put(p, kContentLength);
  p = Put(p, length_text);
  if (allow) {
    p = Put(p, kAllow);
    p = Put(p, response.allow);
  }
  p = Put(p, connection);
  p = Put(p, kEndOfHead);
  Put(p, body);
}

PrebuiltResponse::PrebuiltResponse(const Response& response) {
  constexpr std::string_view kDateField = "\r\nDate: ";
  AppendResponse(response, std::string(DateCache::kSize, ' '), &bytes_);
  // The status line holds no CRLF, so the first Date field is ours.
  date_offset_ = bytes_.find(kDateField) + kDateField.size();
}

void PrebuiltResponse::AppendTo(std::string_view date, std::string* out) const {
  const size_t start = out->size();
  out->append(bytes_);
  std::memcpy(out->data() + start + date_offset_, date.data(), DateCache::kSize);
}

void AppendErrorResponse(int status, std::string_view date, std::string* out) {
  std::string body(ReasonPhrase(status));
  body.push_back('\n');
  AppendResponse({.status = status,
                  .content_type = "text/plain",
                  .body = body,
                  .connection = ConnectionField::kClose},
                 date, out);
}

}  // namespace ringside::net
