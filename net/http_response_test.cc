#include "ringside/net/http_response.h"

#include <gtest/gtest.h>

#include <string>

#include "ringside/net/date_cache.h"

namespace ringside::net {
namespace {

constexpr int64_t kSunday1994 = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT

TEST(HttpResponseTest, WritesExactBytesForAFixedTime) {
  DateCache date([] { return kSunday1994; });
  std::string out = "previous";
  AppendResponse({.status = 200, .content_type = "text/plain", .body = "Hello, World!"},
                 date.Now(), &out);
  EXPECT_EQ(out,
            "previous"
            "HTTP/1.1 200 OK\r\n"
            "Server: ringside\r\n"
            "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
            "Content-Type: text/plain\r\n"
            "Content-Length: 13\r\n"
            "\r\n"
            "Hello, World!");
}

TEST(HttpResponseTest, PrebuiltResponseWritesWhatAppendResponseWrites) {
  int64_t now = kSunday1994;
  DateCache date([&now] { return now; });
  for (const Response& response :
       {Response{.status = 200, .content_type = "text/plain", .body = "ok"},
        Response{.status = 404, .body = "Date: x"},
        Response{.status = 200, .content_type = "application/json", .body = "{}",
                 .connection = ConnectionField::kKeepAlive}}) {
    const PrebuiltResponse prebuilt(response);
    for (int second = 0; second < 2; ++second, ++now) {
      std::string expected = "previous";
      std::string out = "previous";
      AppendResponse(response, date.Now(), &expected);
      prebuilt.AppendTo(date.Now(), &out);
      EXPECT_EQ(out, expected);
    }
  }
}

TEST(HttpResponseTest, DateFollowsTheClock) {
  int64_t now = kSunday1994;
  DateCache date([&now] { return now; });
  std::string first, second;
  AppendResponse({.body = "x"}, date.Now(), &first);
  now += 1;
  AppendResponse({.body = "x"}, date.Now(), &second);
  EXPECT_NE(first.find("Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"), std::string::npos);
  EXPECT_NE(second.find("Date: Sun, 06 Nov 1994 08:49:38 GMT\r\n"), std::string::npos);
}

TEST(HttpResponseTest, ConnectionFieldIsWrittenWhenAsked) {
  std::string close, keep_alive;
  AppendResponse({.connection = ConnectionField::kClose}, "D", &close);
  AppendResponse({.connection = ConnectionField::kKeepAlive}, "D", &keep_alive);
  EXPECT_EQ(close,
            "HTTP/1.1 200 OK\r\nServer: ringside\r\nDate: D\r\nContent-Length: 0\r\n"
            "Connection: close\r\n\r\n");
  EXPECT_EQ(keep_alive,
            "HTTP/1.1 200 OK\r\nServer: ringside\r\nDate: D\r\nContent-Length: 0\r\n"
            "Connection: keep-alive\r\n\r\n");
}

TEST(HttpResponseTest, OmittedBodyKeepsItsContentLength) {
  std::string out;
  AppendResponse({.content_type = "application/json", .body = "{}", .omit_body = true}, "D",
                 &out);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nServer: ringside\r\nDate: D\r\n"
            "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n");
}

TEST(HttpResponseTest, AllowFieldIsWrittenWhenGiven) {
  std::string out;
  AppendResponse({.status = 405, .allow = "GET, HEAD"}, "D", &out);
  EXPECT_EQ(out,
            "HTTP/1.1 405 Method Not Allowed\r\nServer: ringside\r\nDate: D\r\n"
            "Content-Length: 0\r\nAllow: GET, HEAD\r\n\r\n");
}

TEST(HttpResponseTest, ErrorResponsesCloseTheConnection) {
  std::string out;
  AppendErrorResponse(431, "D", &out);
  EXPECT_EQ(out,
            "HTTP/1.1 431 Request Header Fields Too Large\r\nServer: ringside\r\nDate: D\r\n"
            "Content-Type: text/plain\r\nContent-Length: 32\r\nConnection: close\r\n\r\n"
            "Request Header Fields Too Large\n");
}

TEST(HttpResponseTest, ReasonPhrasesOfTheStatusesWeSend) {
  EXPECT_EQ(ReasonPhrase(200), "OK");
  EXPECT_EQ(ReasonPhrase(400), "Bad Request");
  EXPECT_EQ(ReasonPhrase(404), "Not Found");
  EXPECT_EQ(ReasonPhrase(405), "Method Not Allowed");
  EXPECT_EQ(ReasonPhrase(413), "Content Too Large");
  EXPECT_EQ(ReasonPhrase(414), "URI Too Long");
  EXPECT_EQ(ReasonPhrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(ReasonPhrase(501), "Not Implemented");
  EXPECT_EQ(ReasonPhrase(505), "HTTP Version Not Supported");
  EXPECT_EQ(ReasonPhrase(299), "");
}

TEST(HttpResponseTest, UnknownStatusHasAnEmptyReason) {
  std::string out;
  AppendResponse({.status = 299}, "D", &out);
  EXPECT_EQ(out.substr(0, 14), "HTTP/1.1 299 \r");
}

TEST(HttpResponseTest, ContinueResponseIsAnInterimStatusLine) {
  EXPECT_EQ(kContinueResponse, "HTTP/1.1 100 Continue\r\n\r\n");
}

}  // namespace
}  // namespace ringside::net
