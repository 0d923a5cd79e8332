// http_app.h: the demo HTTP/1.1 application ringside serves (DESIGN.md, "HTTP endpoints").
//
// The reactor parses requests with net::HttpParser and hands each complete one to Handle, in
// order, which appends the whole response to the connection's send buffer:
//
//   HttpApp app;  // one per reactor thread
//   app.Handle(request, body, &out);  // then close after sending if !request.keep_alive
//   app.HandleParseError(result.error_status, &out);  // then close
//
// Routes (any other path: 404; a listed path with another method of RFC 9110: 405 with
// Allow; OPTIONS on a listed path: 200 with its Allow, no body; a method outside RFC 9110,
// or CONNECT: 501; OPTIONS *: 200 with every method some route takes, no body):
//   GET|HEAD /                 200 text/plain, the list of routes
//   GET|HEAD /plaintext        200 text/plain "Hello, World!"
//   GET|HEAD /pipeline         200 text/plain "ok"
//   GET|HEAD /json             200 application/json {"message":"Hello, World!"}
//   POST     /echo             200 application/octet-stream, the request body
//   GET|HEAD /baseline11?a=A&b=B        200 text/plain, decimal A+B
//   POST     /baseline11?a=A&b=B, body C  200 text/plain, decimal A+B+C
// A, B and C are decimal int64 (optional '-'; C may be surrounded by whitespace). A missing
// or non-numeric one, or a sum that overflows int64, is 400; the request itself was well
// framed, so the connection stays open as the client asked. HEAD gets GET's headers without
// the body. Responses add "Connection: close" when the client is not kept alive, and
// "Connection: keep-alive" when an HTTP/1.0 client is.
//
// A response is a function of the request, its body and the Date it carries: the app keeps
// no other state from call to call. HttpHandler relies on that to send the answer to a
// repeated bodiless request again while its Date is current (http_handler.h).
//
// Thread-safety: thread-compatible; it owns a net::DateCache, so give each thread its own.
#ifndef RINGSIDE_SERVICES_HTTP_HTTP_APP_H_
#define RINGSIDE_SERVICES_HTTP_HTTP_APP_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ringside/net/date_cache.h"
#include "ringside/net/http_parser.h"
#include "ringside/net/http_response.h"

namespace ringside::http {

class HttpApp {
 public:
  HttpApp() = default;
  explicit HttpApp(net::DateCache::Clock clock);

  // Appends the response to `request`, whose whole body is `body`, to `out`.
  void Handle(const net::HttpRequest& request, std::string_view body, std::string* out);

  // Whether Handle reads the request's body; if not, the caller may drop it as it arrives.
  static bool ReadsBody(const net::HttpRequest& request);
  // POST /echo: the response is the request's body. AppendEchoHead appends the response's
  // head for a body of `body_size` bytes, or with no size for a body sent in chunks
  // (Transfer-Encoding: chunked; HTTP/1.1 requests only); the caller then sends the body
  // itself (by reference, without copying it into `out`), framed as the head says.
  static bool Echoes(const net::HttpRequest& request);
  void AppendEchoHead(const net::HttpRequest& request, std::optional<uint64_t> body_size,
                      std::string* out);

  // The Date value a response formatted now would carry.
  std::string_view Date() { return date_.Now(); }
  // Appends the response to a request the parser rejected with `status` (its error_status);
  // the response says "Connection: close" and the caller must close after sending it.
  void HandleParseError(int status, std::string* out);

 private:
  // A GET route whose response is always the same: `response` (its views are literals), and
  // the bytes of it for a kept-alive HTTP/1.1 GET, which need no Connection field.
  struct FixedRoute {
    explicit FixedRoute(const net::Response& response);
    net::Response response;
    net::PrebuiltResponse prebuilt;
  };

  // The resource at a path: the methods it takes (its Allow value; empty: no such
  // resource) and, for a fixed GET route, its response.
  struct Route {
    std::string_view allow;
    const FixedRoute* fixed = nullptr;
  };
  Route RouteFor(std::string_view path) const;
  // Every request but a fixed route's kept-alive HTTP/1.1 GET: out of line, so the hot
  // case's call does not pay for this one's frame (it built its tables of names on the
  // stack in Handle's prologue, a fifth of Handle's samples).
  [[gnu::noinline]] void HandleGeneral(const net::HttpRequest& request, const Route& route,
                                       std::string_view body, std::string* out);

  net::DateCache date_;
  FixedRoute root_{{.status = 200,
                    .content_type = "text/plain",
                    .body = "ringside demo: /plaintext /pipeline /json /echo /baseline11\n"}};
  FixedRoute plaintext_{{.status = 200, .content_type = "text/plain", .body = "Hello, World!"}};
  FixedRoute pipeline_{{.status = 200, .content_type = "text/plain", .body = "ok"}};
  FixedRoute json_{{.status = 200,
                    .content_type = "application/json",
                    .body = R"({"message":"Hello, World!"})"}};
};

}  // namespace ringside::http

#endif  // RINGSIDE_SERVICES_HTTP_HTTP_APP_H_
