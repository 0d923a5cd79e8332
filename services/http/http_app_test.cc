#include "ringside/services/http/http_app.h"

#include <gtest/gtest.h>

#include <string>

#include "ringside/net/http_parser.h"

namespace ringside::http {
namespace {

using namespace std::string_view_literals;

constexpr std::string_view kDate = "Sun, 06 Nov 1994 08:49:37 GMT";

// The response of a fresh app (clock pinned to kDate) to the raw request `raw`.
std::string Serve(std::string_view raw) {
  net::HttpParser parser;
  net::HttpRequest request;
  std::string body;
  for (std::string_view rest = raw;;) {
    const net::ParseResult r = parser.Parse(rest, &request);
    rest.remove_prefix(r.consumed);
    if (r.status == net::ParseStatus::kBody) body.append(r.body_segment);
    if (r.status == net::ParseStatus::kComplete) break;
    if (r.status == net::ParseStatus::kNeedMore || r.status == net::ParseStatus::kError) {
      ADD_FAILURE() << "not one whole request: " << raw;
      return "";
    }
  }
  HttpApp app([] { return int64_t{784111777}; });
  std::string out;
  app.Handle(request, body, &out);
  return out;
}

// The response the app should write: `fields` are the lines after Content-Length.
std::string Response(std::string_view status, std::string_view type, std::string_view body,
                     std::string_view fields = "", bool with_body = true) {
  return "HTTP/1.1 " + std::string(status) + "\r\nServer: ringside\r\nDate: " +
         std::string(kDate) + "\r\nContent-Type: " + std::string(type) +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + std::string(fields) +
         "\r\n" + (with_body ? std::string(body) : "");
}

std::string Get(std::string_view target) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: a\r\n\r\n";
}

std::string Post(std::string_view target, std::string_view body) {
  return "POST " + std::string(target) + " HTTP/1.1\r\nHost: a\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

TEST(HttpAppTest, PlaintextSaysHelloWorld) {
  EXPECT_EQ(Serve(Get("/plaintext")),
            "HTTP/1.1 200 OK\r\n"
            "Server: ringside\r\n"
            "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
            "Content-Type: text/plain\r\n"
            "Content-Length: 13\r\n"
            "\r\n"
            "Hello, World!");
}

TEST(HttpAppTest, PipelineSaysOk) {
  EXPECT_EQ(Serve(Get("/pipeline")), Response("200 OK", "text/plain", "ok"));
}

TEST(HttpAppTest, JsonSendsTheMessageObject) {
  EXPECT_EQ(Serve(Get("/json")),
            Response("200 OK", "application/json", R"({"message":"Hello, World!"})"));
}

TEST(HttpAppTest, EchoReturnsAContentLengthBody) {
  EXPECT_EQ(Serve(Post("/echo", "some\0bytes\xff"sv)),
            Response("200 OK", "application/octet-stream", "some\0bytes\xff"sv));
  EXPECT_EQ(Serve(Post("/echo", "")), Response("200 OK", "application/octet-stream", ""));
}

TEST(HttpAppTest, EchoReturnsAChunkedBody) {
  EXPECT_EQ(Serve("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"),
            Response("200 OK", "application/octet-stream", "abcde"));
}

TEST(HttpAppTest, Baseline11GetAddsAAndB) {
  EXPECT_EQ(Serve(Get("/baseline11?a=13&b=42")), Response("200 OK", "text/plain", "55"));
  EXPECT_EQ(Serve(Get("/baseline11?b=-50&x=1&a=8")), Response("200 OK", "text/plain", "-42"));
}

TEST(HttpAppTest, Baseline11PostAddsTheBody) {
  EXPECT_EQ(Serve(Post("/baseline11?a=1&b=2", "39")), Response("200 OK", "text/plain", "42"));
  EXPECT_EQ(Serve(Post("/baseline11?a=1&b=2", " 3\r\n")), Response("200 OK", "text/plain", "6"));
}

TEST(HttpAppTest, Baseline11WithBadNumbersIs400AndKeepsTheConnection) {
  const std::string bad = Response("400 Bad Request", "text/plain", "Bad Request\n");
  EXPECT_EQ(Serve(Get("/baseline11?a=1")), bad);
  EXPECT_EQ(Serve(Get("/baseline11?a=x&b=2")), bad);
  EXPECT_EQ(Serve(Get("/baseline11?a=1&b=")), bad);
  EXPECT_EQ(Serve(Get("/baseline11?a=+1&b=2")), bad);
  EXPECT_EQ(Serve(Get("/baseline11?a=1.5&b=2")), bad);
  EXPECT_EQ(Serve(Post("/baseline11?a=1&b=2", "")), bad);
  EXPECT_EQ(Serve(Post("/baseline11?a=1&b=2", "3x")), bad);
}

TEST(HttpAppTest, Baseline11OverflowIs400) {
  const std::string bad = Response("400 Bad Request", "text/plain", "Bad Request\n");
  EXPECT_EQ(Serve(Get("/baseline11?a=9223372036854775807&b=1")), bad);
  EXPECT_EQ(Serve(Get("/baseline11?a=99999999999999999999&b=1")), bad);
  EXPECT_EQ(Serve(Post("/baseline11?a=9223372036854775806&b=1", "1")), bad);
  EXPECT_EQ(Serve(Get("/baseline11?a=9223372036854775806&b=1")),
            Response("200 OK", "text/plain", "9223372036854775807"));
}

TEST(HttpAppTest, HeadSendsTheHeadersOfGetWithoutTheBody) {
  EXPECT_EQ(Serve("HEAD /plaintext HTTP/1.1\r\nHost: a\r\n\r\n"),
            Response("200 OK", "text/plain", "Hello, World!", "", /*with_body=*/false));
  EXPECT_EQ(Serve("HEAD /json HTTP/1.1\r\nHost: a\r\n\r\n"),
            Response("200 OK", "application/json", R"({"message":"Hello, World!"})", "", false));
}

TEST(HttpAppTest, UnknownPathIs404) {
  const std::string not_found = Response("404 Not Found", "text/plain", "Not Found\n");
  EXPECT_EQ(Serve(Get("/")), not_found);
  EXPECT_EQ(Serve(Get("/plaintext/")), not_found);
  EXPECT_EQ(Serve(Post("/nothing", "x")), not_found);
}

TEST(HttpAppTest, KnownPathWithAnotherMethodIs405WithAllow) {
  EXPECT_EQ(Serve(Post("/plaintext", "x")),
            Response("405 Method Not Allowed", "text/plain", "Method Not Allowed\n",
                     "Allow: GET, HEAD\r\n"));
  EXPECT_EQ(Serve(Get("/echo")), Response("405 Method Not Allowed", "text/plain",
                                          "Method Not Allowed\n", "Allow: POST\r\n"));
  EXPECT_EQ(Serve("DELETE /baseline11 HTTP/1.1\r\nHost: a\r\n\r\n"),
            Response("405 Method Not Allowed", "text/plain", "Method Not Allowed\n",
                     "Allow: GET, HEAD, POST\r\n"));
}

TEST(HttpAppTest, UnknownMethodIs501) {
  const std::string not_implemented =
      Response("501 Not Implemented", "text/plain", "Not Implemented\n");
  EXPECT_EQ(Serve("BREW /pipeline HTTP/1.1\r\nHost: a\r\n\r\n"), not_implemented);
  // Methods are case-sensitive: "get" is not GET.
  EXPECT_EQ(Serve("get /pipeline HTTP/1.1\r\nHost: a\r\n\r\n"), not_implemented);
  EXPECT_EQ(Serve("BREW /missing HTTP/1.1\r\nHost: a\r\n\r\n"), not_implemented);
}

TEST(HttpAppTest, ConnectIs501) {
  EXPECT_EQ(Serve("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"),
            Response("501 Not Implemented", "text/plain", "Not Implemented\n"));
}

TEST(HttpAppTest, OptionsAsteriskListsTheMethods) {
  EXPECT_EQ(Serve("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"),
            "HTTP/1.1 200 OK\r\nServer: ringside\r\nDate: " + std::string(kDate) +
                "\r\nContent-Length: 0\r\nAllow: GET, HEAD, POST\r\n\r\n");
}

TEST(HttpAppTest, AbsoluteFormTargetIsRoutedByItsPath) {
  EXPECT_EQ(Serve("GET http://example.com/pipeline HTTP/1.1\r\nHost: example.com\r\n\r\n"),
            Response("200 OK", "text/plain", "ok"));
}

TEST(HttpAppTest, ConnectionCloseRequestGetsConnectionClose) {
  EXPECT_EQ(Serve("GET /pipeline HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"),
            Response("200 OK", "text/plain", "ok", "Connection: close\r\n"));
}

TEST(HttpAppTest, Http10KeepAliveGetsConnectionKeepAlive) {
  EXPECT_EQ(Serve("GET /pipeline HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
            Response("200 OK", "text/plain", "ok", "Connection: keep-alive\r\n"));
}

TEST(HttpAppTest, Http10WithoutKeepAliveGetsConnectionClose) {
  EXPECT_EQ(Serve("GET /pipeline HTTP/1.0\r\n\r\n"),
            Response("200 OK", "text/plain", "ok", "Connection: close\r\n"));
}

TEST(HttpAppTest, ParseErrorGetsAResponseThatCloses) {
  HttpApp app([] { return int64_t{784111777}; });
  std::string out;
  app.HandleParseError(400, &out);
  EXPECT_EQ(out, Response("400 Bad Request", "text/plain", "Bad Request\n",
                          "Connection: close\r\n"));
}

}  // namespace
}  // namespace ringside::http
