#include "ringside/services/http/http_app.h"

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include "ringside/net/http_response.h"

namespace ringside::http {
namespace {

constexpr std::string_view kTextPlain = "text/plain";

// The value of the first query parameter called `name` ("1" for "a" in "a=1&b=2"), undecoded.
std::optional<std::string_view> QueryParam(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t equals = pair.find('=');
    if (pair.substr(0, equals) == name) {
      return equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1);
    }
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
  }
  return std::nullopt;
}

std::optional<int64_t> ParseInt64(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

std::string_view TrimWhitespace(std::string_view s) {
  constexpr std::string_view kWhitespace = " \t\r\n";
  const size_t first = s.find_first_not_of(kWhitespace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kWhitespace) - first + 1);
}

// A+B from the query, plus the body C for POST; nullopt if a number is missing or bad or the
// sum overflows.
std::optional<int64_t> Baseline(const net::HttpRequest& request, std::string_view body,
                                bool with_body) {
  const std::optional<std::string_view> a = QueryParam(request.query, "a");
  const std::optional<std::string_view> b = QueryParam(request.query, "b");
  if (!a || !b) return std::nullopt;
  const std::optional<int64_t> x = ParseInt64(*a);
  const std::optional<int64_t> y = ParseInt64(*b);
  if (!x || !y) return std::nullopt;
  int64_t sum = 0;
  if (__builtin_add_overflow(*x, *y, &sum)) return std::nullopt;
  if (!with_body) return sum;
  const std::optional<int64_t> z = ParseInt64(TrimWhitespace(body));
  if (!z || __builtin_add_overflow(sum, *z, &sum)) return std::nullopt;
  return sum;
}

// The methods of RFC 9110 9.3. Any other is unknown to this server: 501, not 405, since no
// resource supports it (RFC 9110 15.6.2).
bool IsKnownMethod(std::string_view method) {
  for (std::string_view known : {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS",
                                 "TRACE"}) {
    if (method == known) return true;
  }
  return false;
}

void SetStatus(int status, net::Response* response) {
  response->status = status;
  response->content_type = kTextPlain;
  switch (status) {
    case 400:
      response->body = "Bad Request\n";
      break;
    case 404:
      response->body = "Not Found\n";
      break;
    case 405:
      response->body = "Method Not Allowed\n";
      break;
    case 501:
      response->body = "Not Implemented\n";
      break;
  }
}

// Connection: close when the client is not kept alive; keep-alive for a kept HTTP/1.0 one.
void SetConnection(const net::HttpRequest& request, net::Response* response) {
  if (!request.keep_alive) {
    response->connection = net::ConnectionField::kClose;
  } else if (request.version_minor == 0) {
    response->connection = net::ConnectionField::kKeepAlive;
  }
}

}  // namespace

HttpApp::FixedRoute::FixedRoute(const net::Response& response)
    : response(response), prebuilt(response) {}

HttpApp::HttpApp(net::DateCache::Clock clock) : date_(std::move(clock)) {}

bool HttpApp::Echoes(const net::HttpRequest& request) {
  return request.path == "/echo" && request.method == "POST";
}

bool HttpApp::ReadsBody(const net::HttpRequest& request) {
  return request.method == "POST" && (request.path == "/echo" || request.path == "/baseline11");
}

void HttpApp::AppendEchoHead(const net::HttpRequest& request, uint64_t body_size,
                             std::string* out) {
  net::Response response;
  response.content_type = "application/octet-stream";
  response.body_follows = body_size;
  SetConnection(request, &response);
  net::AppendResponse(response, date_.Now(), out);
}

void HttpApp::Handle(const net::HttpRequest& request, std::string_view body, std::string* out) {
  const bool head = request.method == "HEAD";
  const bool get = head || request.method == "GET";
  const bool post = request.method == "POST";
  const std::string_view path = request.path;
  net::Response response;
  char sum_text[24];  // an int64 in decimal, sign included
  if (!IsKnownMethod(request.method) || request.method == "CONNECT") {
    // This server is no proxy: it cannot open the tunnel CONNECT asks for.
    SetStatus(501, &response);
  } else if (path == "*") {
    // OPTIONS * (the parser allows "*" with OPTIONS only) asks about the server as a whole.
    response.allow = "GET, HEAD, POST";
  } else if (path == "/plaintext" || path == "/pipeline" || path == "/json") {
    const FixedRoute& route = path == "/plaintext" ? plaintext_
                              : path == "/pipeline" ? pipeline_
                                                    : json_;
    if (!get) {
      SetStatus(405, &response);
      response.allow = "GET, HEAD";
    } else if (!head && request.keep_alive && request.version_minor == 1) {
      // The hot case (no Connection field): the whole response but for its Date is fixed.
      route.prebuilt.AppendTo(date_.Now(), out);
      return;
    } else {
      response = route.response;
    }
  } else if (path == "/echo") {
    if (!post) {
      SetStatus(405, &response);
      response.allow = "POST";
    } else {
      response.content_type = "application/octet-stream";
      response.body = body;
    }
  } else if (path == "/baseline11") {
    if (!get && !post) {
      SetStatus(405, &response);
      response.allow = "GET, HEAD, POST";
    } else if (const std::optional<int64_t> sum = Baseline(request, body, post); !sum) {
      SetStatus(400, &response);
    } else {
      const auto [end, ec] = std::to_chars(sum_text, sum_text + sizeof(sum_text), *sum);
      response.content_type = kTextPlain;
      response.body = std::string_view(sum_text, end - sum_text);
    }
  } else {
    SetStatus(404, &response);
  }
  response.omit_body = head;
  SetConnection(request, &response);
  net::AppendResponse(response, date_.Now(), out);
}

void HttpApp::HandleParseError(int status, std::string* out) {
  net::AppendErrorResponse(status, date_.Now(), out);
}

}  // namespace ringside::http
