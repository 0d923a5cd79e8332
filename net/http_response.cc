#include "ringside/net/http_response.h"

#include <charconv>
#include <cstring>

#include "ringside/net/date_cache.h"

namespace ringside::net {
namespace {

void AppendNumber(size_t value, std::string* out) {
  char digits[20];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), value);
  out->append(digits, end);
}

// Room for the status line and fixed fields, so a response grows `out` at most once.
constexpr size_t kHeadReserve = 160;

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
  out->reserve(out->size() + kHeadReserve + response.content_type.size() +
               response.allow.size() + (response.omit_body ? 0 : response.body.size()));
  out->append("HTTP/1.1 ");
  AppendNumber(static_cast<size_t>(response.status), out);
  out->push_back(' ');
  out->append(ReasonPhrase(response.status));
  out->append("\r\nServer: ringside\r\nDate: ");
  out->append(date);
  if (!response.content_type.empty()) {
    out->append("\r\nContent-Type: ");
    out->append(response.content_type);
  }
  out->append("\r\nContent-Length: ");
  AppendNumber(static_cast<size_t>(response.body_follows.value_or(response.body.size())), out);
  if (!response.allow.empty()) {
    out->append("\r\nAllow: ");
    out->append(response.allow);
  }
  switch (response.connection) {
    case ConnectionField::kNone:
      break;
    case ConnectionField::kClose:
      out->append("\r\nConnection: close");
      break;
    case ConnectionField::kKeepAlive:
      out->append("\r\nConnection: keep-alive");
      break;
  }
  out->append("\r\n\r\n");
  if (!response.omit_body && !response.body_follows) out->append(response.body);
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
