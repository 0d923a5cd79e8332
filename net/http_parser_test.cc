#include "net/http_parser.h"

#include <gtest/gtest.h>

#include <string>

namespace ringside::net {
namespace {

using namespace std::string_view_literals;

constexpr int kNeedMore = -1;

// The outcome of parsing `input` in one call: the error status, 0 when complete, or kNeedMore.
int ErrorOf(std::string_view input, HttpLimits limits = {}) {
  HttpParser parser(limits);
  HttpRequest request;
  const ParseResult r = parser.Parse(input, &request);
  switch (r.status) {
    case ParseStatus::kComplete:
      return 0;
    case ParseStatus::kError:
      return r.error_status;
    case ParseStatus::kNeedMore:
      return kNeedMore;
  }
  return kNeedMore;
}

// A GET of `/` whose header block is `fields` (each ending with CRLF).
std::string GetWith(std::string_view fields) {
  return "GET / HTTP/1.1\r\n" + std::string(fields) + "\r\n";
}

// A request with `line` as its request line and a Host field.
std::string WithLine(std::string_view line) {
  return std::string(line) + "\r\nHost: a\r\n\r\n";
}

// Everything Parse reports about a request, as text, to compare two parses.
std::string Describe(const ParseResult& r, const HttpRequest& q) {
  std::string s = std::to_string(static_cast<int>(r.status)) + " " +
                  std::to_string(r.consumed) + " " + std::to_string(r.error_status);
  if (r.status != ParseStatus::kComplete) return s;
  s += "|" + std::string(q.method) + "|" + std::string(q.target) + "|" + std::string(q.path) +
       "|" + std::string(q.query) + "|" + std::to_string(q.version_minor) +
       std::to_string(q.keep_alive) + std::to_string(q.expect_continue);
  for (const HttpHeader& h : q.headers) s += "|" + std::string(h.name) + "=" + std::string(h.value);
  return s + "|" + std::string(q.body);
}

TEST(HttpParserTest, ParsesAnOriginFormRequest) {
  const std::string input = "GET /a/b?x=1&y HTTP/1.1\r\nHost: example.com\r\nX-A: 1\r\n\r\n";
  HttpParser parser;
  HttpRequest request;
  const ParseResult r = parser.Parse(input, &request);
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(r.consumed, input.size());
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.target, "/a/b?x=1&y");
  EXPECT_EQ(request.path, "/a/b");
  EXPECT_EQ(request.query, "x=1&y");
  EXPECT_EQ(request.version_minor, 1);
  EXPECT_TRUE(request.keep_alive);
  EXPECT_FALSE(request.expect_continue);
  ASSERT_EQ(request.headers.size(), 2u);
  EXPECT_EQ(request.headers[1].name, "X-A");
  EXPECT_EQ(request.headers[1].value, "1");
  EXPECT_TRUE(request.body.empty());
}

// ---- Request line ----

TEST(HttpParserTest, MethodMustBeAToken) {
  EXPECT_EQ(ErrorOf(WithLine("G(T / HTTP/1.1")), 400);
  EXPECT_EQ(ErrorOf(WithLine("G\x01T / HTTP/1.1")), 400);
  EXPECT_EQ(ErrorOf(WithLine(" GET / HTTP/1.1")), 400);
}

TEST(HttpParserTest, RequestLineSeparatorsAreSingleSpaces) {
  EXPECT_EQ(ErrorOf(WithLine("GET  / HTTP/1.1")), 400);
  EXPECT_EQ(ErrorOf(WithLine("GET /  HTTP/1.1")), 400);
  EXPECT_EQ(ErrorOf(WithLine("GET / HTTP/1.1 ")), 400);
  EXPECT_EQ(ErrorOf(WithLine("GET\t/ HTTP/1.1")), 400);
  EXPECT_EQ(ErrorOf(WithLine("GET /HTTP/1.1")), 400);
}

TEST(HttpParserTest, TargetMustBeVisibleAsciiWithoutFragment) {
  EXPECT_EQ(ErrorOf(WithLine("GET /a\x01 HTTP/1.1")), 400);
  EXPECT_EQ(ErrorOf(WithLine("GET /a\x7f HTTP/1.1")), 400);
  EXPECT_EQ(ErrorOf(WithLine("GET /caf\xc3\xa9 HTTP/1.1")), 400);
  EXPECT_EQ(ErrorOf(WithLine("GET /a#frag HTTP/1.1")), 400);
  EXPECT_EQ(ErrorOf(WithLine("GET relative HTTP/1.1")), 400);
}

TEST(HttpParserTest, VersionIsExactlyHttp10Or11) {
  EXPECT_EQ(ErrorOf(WithLine("GET / HTTP/1.0")), 0);
  EXPECT_EQ(ErrorOf(WithLine("GET / http/1.1")), 400);
  EXPECT_EQ(ErrorOf(WithLine("GET / HTTP/1")), 400);
  EXPECT_EQ(ErrorOf(WithLine("GET / HTTP/1.10")), 400);
  EXPECT_EQ(ErrorOf(WithLine("GET / HTTP/1.x")), 400);
  EXPECT_EQ(ErrorOf(WithLine("GET / HTTPS/1.1")), 400);
}

TEST(HttpParserTest, OtherMajorVersionsAre505) {
  EXPECT_EQ(ErrorOf(WithLine("GET / HTTP/2.0")), 505);
  EXPECT_EQ(ErrorOf(WithLine("GET / HTTP/3.0")), 505);
  EXPECT_EQ(ErrorOf(WithLine("GET / HTTP/0.9")), 505);
}

// RFC 9110 2.5: a higher minor version of a major version we implement is processed as the
// highest minor version we implement, so Host is required and keep-alive is the default.
TEST(HttpParserTest, HigherMinorVersionIsProcessedAsHttp11) {
  HttpParser parser;
  HttpRequest request;
  ASSERT_EQ(parser.Parse(WithLine("GET / HTTP/1.2"), &request).status, ParseStatus::kComplete);
  EXPECT_EQ(request.version_minor, 1);
  EXPECT_TRUE(request.keep_alive);
  EXPECT_EQ(ErrorOf("GET / HTTP/1.9\r\n\r\n"), 400);
}

TEST(HttpParserTest, AbsoluteFormUsesThePathOfTheTarget) {
  const std::string input = WithLine("GET http://example.com:8080/a/b?x=1 HTTP/1.1");
  HttpParser parser;
  HttpRequest request;
  ASSERT_EQ(parser.Parse(input, &request).status, ParseStatus::kComplete);
  EXPECT_EQ(request.target, "http://example.com:8080/a/b?x=1");
  EXPECT_EQ(request.path, "/a/b");
  EXPECT_EQ(request.query, "x=1");
}

TEST(HttpParserTest, AbsoluteFormWithoutPathHasRootPath) {
  const std::string input = WithLine("GET http://example.com?q HTTP/1.1");
  HttpParser parser;
  HttpRequest request;
  ASSERT_EQ(parser.Parse(input, &request).status, ParseStatus::kComplete);
  EXPECT_EQ(request.path, "/");
  EXPECT_EQ(request.query, "q");
}

TEST(HttpParserTest, MalformedAbsoluteFormIs400) {
  EXPECT_EQ(ErrorOf(WithLine("GET http:/a HTTP/1.1")), 400);
  EXPECT_EQ(ErrorOf(WithLine("GET http:///a HTTP/1.1")), 400);
  EXPECT_EQ(ErrorOf(WithLine("GET 1http://h/a HTTP/1.1")), 400);
  EXPECT_EQ(ErrorOf(WithLine("GET http://user@h/a HTTP/1.1")), 400);
}

TEST(HttpParserTest, AsteriskFormOnlyWithOptions) {
  const std::string input = WithLine("OPTIONS * HTTP/1.1");
  HttpParser parser;
  HttpRequest request;
  ASSERT_EQ(parser.Parse(input, &request).status, ParseStatus::kComplete);
  EXPECT_EQ(request.path, "*");
  EXPECT_EQ(ErrorOf(WithLine("GET * HTTP/1.1")), 400);
}

TEST(HttpParserTest, AuthorityFormOnlyWithConnect) {
  const std::string input = WithLine("CONNECT example.com:443 HTTP/1.1");
  HttpParser parser;
  HttpRequest request;
  ASSERT_EQ(parser.Parse(input, &request).status, ParseStatus::kComplete);
  EXPECT_EQ(request.target, "example.com:443");
  EXPECT_EQ(request.path, "");
  EXPECT_EQ(ErrorOf(WithLine("GET example.com:443 HTTP/1.1")), 400);
  EXPECT_EQ(ErrorOf(WithLine("CONNECT /a HTTP/1.1")), 400);
  EXPECT_EQ(ErrorOf(WithLine("CONNECT example.com HTTP/1.1")), 400);
  EXPECT_EQ(ErrorOf(WithLine("CONNECT example.com: HTTP/1.1")), 400);
}

TEST(HttpParserTest, BareLfInRequestLineIs400) {
  EXPECT_EQ(ErrorOf("GET / HTTP/1.1\nHost: a\r\n\r\n"), 400);
}

TEST(HttpParserTest, BareCrInRequestLineIs400) {
  EXPECT_EQ(ErrorOf("GET /\r HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}

TEST(HttpParserTest, BareLfInHeadersIs400) {
  EXPECT_EQ(ErrorOf(GetWith("Host: a\nX: b\r\n")), 400);
  EXPECT_EQ(ErrorOf("GET / HTTP/1.1\r\nHost: a\r\n\n"), 400);
}

TEST(HttpParserTest, BareCrInHeadersIs400) {
  EXPECT_EQ(ErrorOf(GetWith("Host: a\rX: b\r\n")), 400);
}

TEST(HttpParserTest, LeadingEmptyLinesAreSkipped) {
  const std::string input = "\r\n\r\n" + WithLine("GET / HTTP/1.1");
  HttpParser parser;
  HttpRequest request;
  const ParseResult r = parser.Parse(input, &request);
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(r.consumed, input.size());
  EXPECT_EQ(request.method, "GET");
}

TEST(HttpParserTest, TooManyLeadingEmptyLinesIs400) {
  std::string input;
  for (int i = 0; i <= HttpParser::kMaxLeadingEmptyLines; ++i) input += "\r\n";
  EXPECT_EQ(ErrorOf(input + WithLine("GET / HTTP/1.1")), 400);
}

// ---- Header fields ----

TEST(HttpParserTest, FieldNameMustBeANonEmptyToken) {
  EXPECT_EQ(ErrorOf(GetWith("Host: a\r\nX(Y): 1\r\n")), 400);
  EXPECT_EQ(ErrorOf(GetWith("Host: a\r\n: 1\r\n")), 400);
  EXPECT_EQ(ErrorOf(GetWith("Host: a\r\nno-colon\r\n")), 400);
}

TEST(HttpParserTest, WhitespaceBetweenFieldNameAndColonIs400) {
  EXPECT_EQ(ErrorOf(GetWith("Host : a\r\n")), 400);
  EXPECT_EQ(ErrorOf(GetWith("Host: a\r\nContent-Length\t: 0\r\n")), 400);
}

TEST(HttpParserTest, ObsFoldIs400) {
  EXPECT_EQ(ErrorOf(GetWith("Host: a\r\nX: b\r\n  c\r\n")), 400);
  EXPECT_EQ(ErrorOf(GetWith("Host: a\r\nX: b\r\n\tc\r\n")), 400);
  EXPECT_EQ(ErrorOf(GetWith(" Host: a\r\n")), 400);
}

TEST(HttpParserTest, ControlCharacterInFieldValueIs400) {
  EXPECT_EQ(ErrorOf(GetWith("Host: a\r\nX: a\0b\r\n"sv)), 400);
  EXPECT_EQ(ErrorOf(GetWith("Host: a\r\nX: a\x01\r\n")), 400);
  EXPECT_EQ(ErrorOf(GetWith("Host: a\r\nX: a\x7f\r\n")), 400);
  EXPECT_EQ(ErrorOf(GetWith("Host: a\r\nX: a\tb\r\n")), 0);
}

TEST(HttpParserTest, FieldValuesAreTrimmedOfOws) {
  const std::string input = GetWith("Host: a\r\nX: \t v  w \t\r\nY:\r\n");
  HttpParser parser;
  HttpRequest request;
  ASSERT_EQ(parser.Parse(input, &request).status, ParseStatus::kComplete);
  EXPECT_EQ(request.Header("X"), "v  w");
  EXPECT_EQ(request.Header("Y"), "");
}

TEST(HttpParserTest, HeaderLookupIsCaseInsensitiveAndFindsTheFirst) {
  const std::string input = GetWith("Host: a\r\nX-Thing: 1\r\nx-thing: 2\r\n");
  HttpParser parser;
  HttpRequest request;
  ASSERT_EQ(parser.Parse(input, &request).status, ParseStatus::kComplete);
  EXPECT_EQ(request.Header("X-THING"), "1");
  EXPECT_EQ(request.Header("Missing"), "");
}

// ---- Content-Length ----

TEST(HttpParserTest, ContentLengthMustBeDigits) {
  for (const char* value : {"-1", "+1", "0x10", "1 0", "1.0", "", "a", "1_000"}) {
    EXPECT_EQ(ErrorOf(GetWith("Host: a\r\nContent-Length: " + std::string(value) + "\r\n")), 400)
        << value;
  }
}

TEST(HttpParserTest, ContentLengthAbove2To63Is400) {
  EXPECT_EQ(ErrorOf(GetWith("Host: a\r\nContent-Length: 9223372036854775808\r\n")), 400);
  EXPECT_EQ(ErrorOf(GetWith("Host: a\r\nContent-Length: 99999999999999999999999\r\n")), 400);
  // The largest valid value is well-formed, and only too large for the body limit.
  EXPECT_EQ(ErrorOf(GetWith("Host: a\r\nContent-Length: 9223372036854775807\r\n")), 413);
}

TEST(HttpParserTest, DuplicateContentLengthIs400EvenIfEqual) {
  EXPECT_EQ(ErrorOf(GetWith("Host: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n") + "x"),
            400);
}

TEST(HttpParserTest, ContentLengthListIs400) {
  EXPECT_EQ(ErrorOf(GetWith("Host: a\r\nContent-Length: 1, 1\r\n") + "x"), 400);
}

TEST(HttpParserTest, ContentLengthWithTransferEncodingIs400) {
  EXPECT_EQ(ErrorOf(GetWith("Host: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n") +
                    "0\r\n\r\n"),
            400);
}

TEST(HttpParserTest, ContentLengthBodyIsAViewIntoTheInput) {
  const std::string input = "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello";
  HttpParser parser;
  HttpRequest request;
  const ParseResult r = parser.Parse(input, &request);
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(r.consumed, input.size());
  EXPECT_EQ(request.body, "hello");
  EXPECT_EQ(request.body.data(), input.data() + input.size() - 5);
}

TEST(HttpParserTest, BytesNeededCoversAWholeContentLengthBody) {
  const std::string head = "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n";
  const std::string input = head + std::string(1000, 'x');
  HttpParser parser;
  HttpRequest request;
  ASSERT_EQ(parser.Parse(std::string_view(input).substr(0, head.size() + 10), &request).status,
            ParseStatus::kNeedMore);
  EXPECT_EQ(parser.bytes_needed(), input.size());
  ASSERT_EQ(parser.Parse(std::string_view(input).substr(0, input.size() - 1), &request).status,
            ParseStatus::kNeedMore);
  ASSERT_EQ(parser.Parse(input, &request).status, ParseStatus::kComplete);
  EXPECT_EQ(request.body.size(), 1000u);
}

// A caller waiting for bytes_needed() before parsing the next pipelined request must not
// wait for the size of the previous one (that stalled a short request after a long body).
TEST(HttpParserTest, BytesNeededIsZeroOnceARequestCompletes) {
  const std::string head = "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n";
  const std::string input = head + std::string(1000, 'x');
  HttpParser parser;
  HttpRequest request;
  ASSERT_EQ(parser.Parse(std::string_view(input).substr(0, head.size()), &request).status,
            ParseStatus::kNeedMore);
  ASSERT_EQ(parser.Parse(input, &request).status, ParseStatus::kComplete);
  EXPECT_EQ(parser.bytes_needed(), 0u);
}

// ---- Transfer-Encoding ----

TEST(HttpParserTest, ChunkedBodyIsDecoded) {
  const std::string input =
      GetWith("Host: a\r\nTransfer-Encoding: Chunked\r\n") + "3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n";
  HttpParser parser;
  HttpRequest request;
  const ParseResult r = parser.Parse(input, &request);
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(r.consumed, input.size());
  EXPECT_EQ(request.body, "abc");
}

TEST(HttpParserTest, UnknownTransferCodingBeforeChunkedIs501) {
  EXPECT_EQ(ErrorOf(GetWith("Host: a\r\nTransfer-Encoding: gzip, chunked\r\n") + "0\r\n\r\n"),
            501);
  EXPECT_EQ(ErrorOf(GetWith("Host: a\r\nTransfer-Encoding: gzip\r\n"
                            "Transfer-Encoding: chunked\r\n") +
                    "0\r\n\r\n"),
            501);
}

TEST(HttpParserTest, TransferEncodingNotEndingWithChunkedIs400) {
  EXPECT_EQ(ErrorOf(GetWith("Host: a\r\nTransfer-Encoding: gzip\r\n")), 400);
  EXPECT_EQ(ErrorOf(GetWith("Host: a\r\nTransfer-Encoding: chunked, gzip\r\n")), 400);
  EXPECT_EQ(ErrorOf(GetWith("Host: a\r\nTransfer-Encoding:\r\n")), 400);
}

TEST(HttpParserTest, RepeatedChunkedIs400) {
  EXPECT_EQ(ErrorOf(GetWith("Host: a\r\nTransfer-Encoding: chunked, chunked\r\n") + "0\r\n\r\n"),
            400);
  EXPECT_EQ(ErrorOf(GetWith("Host: a\r\nTransfer-Encoding: chunked\r\n"
                            "Transfer-Encoding: chunked\r\n") +
                    "0\r\n\r\n"),
            400);
}

TEST(HttpParserTest, MalformedTransferCodingIs400) {
  EXPECT_EQ(ErrorOf(GetWith("Host: a\r\nTransfer-Encoding: g(z), chunked\r\n") + "0\r\n\r\n"),
            400);
  EXPECT_EQ(ErrorOf(GetWith("Host: a\r\nTransfer-Encoding: chunked;x=1\r\n") + "0\r\n\r\n"), 400);
}

TEST(HttpParserTest, TransferEncodingInHttp10Is400) {
  EXPECT_EQ(ErrorOf("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400);
}

TEST(HttpParserTest, ChunkedSyntaxErrorIs400) {
  EXPECT_EQ(ErrorOf(GetWith("Host: a\r\nTransfer-Encoding: chunked\r\n") + "3\r\nabcd\r\n"), 400);
}

TEST(HttpParserTest, ChunkedBodyOverMaxBodyIs413) {
  HttpLimits limits;
  limits.max_body = 4;
  EXPECT_EQ(ErrorOf(GetWith("Host: a\r\nTransfer-Encoding: chunked\r\n") + "3\r\nabc\r\n2\r\n",
                    limits),
            413);
}

TEST(HttpParserTest, TrailerSectionIsBoundedByMaxHeaderBytes) {
  HttpLimits limits;
  limits.max_header_bytes = 64;
  const std::string head = GetWith("Host: a\r\nTransfer-Encoding: chunked\r\n");
  EXPECT_EQ(ErrorOf(head + "0\r\nT: " + std::string(40, 'x') + "\r\n\r\n", limits), 0);
  EXPECT_EQ(ErrorOf(head + "0\r\nT: " + std::string(70, 'x'), limits), 431);
}

// ---- Host ----

TEST(HttpParserTest, Http11WithoutHostIs400) {
  EXPECT_EQ(ErrorOf("GET / HTTP/1.1\r\n\r\n"), 400);
}

TEST(HttpParserTest, Http10WithoutHostIsAccepted) {
  EXPECT_EQ(ErrorOf("GET / HTTP/1.0\r\n\r\n"), 0);
}

TEST(HttpParserTest, MoreThanOneHostIs400) {
  EXPECT_EQ(ErrorOf(GetWith("Host: a\r\nHost: a\r\n")), 400);
}

TEST(HttpParserTest, HostWithInvalidCharactersIs400) {
  EXPECT_EQ(ErrorOf(GetWith("Host: a b\r\n")), 400);
  EXPECT_EQ(ErrorOf(GetWith("Host: a/b\r\n")), 400);
  EXPECT_EQ(ErrorOf(GetWith("Host: user@a\r\n")), 400);
  EXPECT_EQ(ErrorOf(GetWith("Host: a\"\r\n")), 400);
}

TEST(HttpParserTest, HostMayBeAnyUriHostWithPortOrEmpty) {
  EXPECT_EQ(ErrorOf(GetWith("Host: example.com:8080\r\n")), 0);
  EXPECT_EQ(ErrorOf(GetWith("Host: [::1]:80\r\n")), 0);
  EXPECT_EQ(ErrorOf(GetWith("Host: 127.0.0.1\r\n")), 0);
  EXPECT_EQ(ErrorOf(GetWith("Host:\r\n")), 0);
}

// ---- Limits ----

TEST(HttpParserTest, RequestLineOverLimitIs414BeforeItEnds) {
  HttpLimits limits;
  limits.max_request_line = 32;
  const std::string line = "GET /" + std::string(18, 'a') + " HTTP/1.1";  // exactly 32
  EXPECT_EQ(ErrorOf(WithLine(line), limits), 0);
  EXPECT_EQ(ErrorOf("GET /" + std::string(40, 'a'), limits), 414);
}

TEST(HttpParserTest, HeaderBlockOverLimitIs431) {
  HttpLimits limits;
  limits.max_header_bytes = 32;
  const std::string fits = "Host: a\r\nX: " + std::string(11, 'v') + "\r\n";  // 9 + 16 + 2
  EXPECT_EQ(ErrorOf(GetWith(fits), limits), 0);
  EXPECT_EQ(ErrorOf(GetWith(fits + "Y: 1\r\n"), limits), 431);
  EXPECT_EQ(ErrorOf("GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(40, 'v'), limits), 431);
}

TEST(HttpParserTest, MoreThanMaxHeadersIs431) {
  HttpLimits limits;
  limits.max_headers = 3;
  EXPECT_EQ(ErrorOf(GetWith("Host: a\r\nA: 1\r\nB: 2\r\n"), limits), 0);
  EXPECT_EQ(ErrorOf(GetWith("Host: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n"), limits), 431);
}

TEST(HttpParserTest, ContentLengthOverMaxBodyIs413BeforeTheBodyArrives) {
  HttpLimits limits;
  limits.max_body = 10;
  EXPECT_EQ(ErrorOf(GetWith("Host: a\r\nContent-Length: 10\r\n") + "0123456789", limits), 0);
  EXPECT_EQ(ErrorOf(GetWith("Host: a\r\nContent-Length: 11\r\n"), limits), 413);
}

// ---- Methods ----

TEST(HttpParserTest, AnyTokenIsAMethod) {
  EXPECT_EQ(ErrorOf(WithLine("BREW /pot HTTP/1.1")), 0);
  EXPECT_EQ(ErrorOf(WithLine("M-SEARCH * HTTP/1.1")), 400);  // asterisk-form is for OPTIONS
}

TEST(HttpParserTest, GetWithBodyIsAccepted) {
  const std::string input = GetWith("Host: a\r\nContent-Length: 2\r\n") + "hi";
  HttpParser parser;
  HttpRequest request;
  ASSERT_EQ(parser.Parse(input, &request).status, ParseStatus::kComplete);
  EXPECT_EQ(request.body, "hi");
}

// ---- Connection and Expect ----

TEST(HttpParserTest, Http11KeepsAliveUnlessConnectionClose) {
  HttpParser parser;
  HttpRequest request;
  ASSERT_EQ(parser.Parse(GetWith("Host: a\r\n"), &request).status, ParseStatus::kComplete);
  EXPECT_TRUE(request.keep_alive);
  parser.Reset();
  ASSERT_EQ(parser.Parse(GetWith("Host: a\r\nConnection: Upgrade, CLOSE\r\n"), &request).status,
            ParseStatus::kComplete);
  EXPECT_FALSE(request.keep_alive);
}

TEST(HttpParserTest, Http10KeepsAliveOnlyWhenAsked) {
  HttpParser parser;
  HttpRequest request;
  ASSERT_EQ(parser.Parse("GET / HTTP/1.0\r\n\r\n", &request).status, ParseStatus::kComplete);
  EXPECT_FALSE(request.keep_alive);
  EXPECT_EQ(request.version_minor, 0);
  parser.Reset();
  ASSERT_EQ(parser.Parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &request).status,
            ParseStatus::kComplete);
  EXPECT_TRUE(request.keep_alive);
}

TEST(HttpParserTest, ExpectContinueIsSignalledOnceWhenTheHeadCompletes) {
  const std::string head =
      "POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 4\r\n\r\n";
  const std::string input = head + "body";
  HttpParser parser;
  HttpRequest request;
  ParseResult r = parser.Parse(std::string_view(input).substr(0, head.size() - 1), &request);
  EXPECT_FALSE(r.send_continue);
  r = parser.Parse(head, &request);
  ASSERT_EQ(r.status, ParseStatus::kNeedMore);
  EXPECT_TRUE(r.send_continue);
  r = parser.Parse(std::string_view(input).substr(0, head.size() + 2), &request);
  EXPECT_FALSE(r.send_continue);
  r = parser.Parse(input, &request);
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_FALSE(r.send_continue);
  EXPECT_TRUE(request.expect_continue);
}

TEST(HttpParserTest, ExpectContinueIsNotSignalledWhenTheBodyIsAlreadyThere) {
  HttpParser parser;
  HttpRequest request;
  const ParseResult r = parser.Parse(
      "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx", &request);
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_FALSE(r.send_continue);
}

TEST(HttpParserTest, ExpectContinueIsIgnoredInHttp10) {
  HttpParser parser;
  HttpRequest request;
  const ParseResult r = parser.Parse(
      "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n", &request);
  ASSERT_EQ(r.status, ParseStatus::kNeedMore);
  EXPECT_FALSE(r.send_continue);
}

// ---- Streams ----

TEST(HttpParserTest, PipelinedRequestsParseOneAfterAnother) {
  const std::string first = "GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string second = "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
  const std::string third =
      "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n";
  std::string buffer = first + second + third + "GET /pipe";
  HttpParser parser;
  HttpRequest request;
  ParseResult r = parser.Parse(buffer, &request);
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(r.consumed, first.size());
  EXPECT_EQ(request.path, "/plaintext");
  buffer.erase(0, r.consumed);
  r = parser.Parse(buffer, &request);
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(r.consumed, second.size());
  EXPECT_EQ(request.body, "abc");
  buffer.erase(0, r.consumed);
  r = parser.Parse(buffer, &request);
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(r.consumed, third.size());
  EXPECT_EQ(request.body, "xy");
  buffer.erase(0, r.consumed);
  EXPECT_EQ(parser.Parse(buffer, &request).status, ParseStatus::kNeedMore);
  buffer += "line HTTP/1.1\r\nHost: a\r\n\r\n";
  r = parser.Parse(buffer, &request);
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(request.path, "/pipeline");
}

TEST(HttpParserTest, SplitAtEveryByteBoundaryGivesTheSameResult) {
  const std::string stream =
      "\r\nPOST /upload?x=1 HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n"
      "Expect: 100-continue\r\n\r\n4;ext=\"a b\"\r\nWiki\r\n5\r\npedia\r\n0\r\nT: 1\r\n\r\n"
      "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
      "GET http://h/json HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
  std::vector<std::string> whole;
  {
    HttpParser parser;
    HttpRequest request;
    for (std::string rest = stream; !rest.empty();) {
      const ParseResult r = parser.Parse(rest, &request);
      ASSERT_EQ(r.status, ParseStatus::kComplete);
      whole.push_back(Describe(r, request));
      rest.erase(0, r.consumed);
    }
  }
  ASSERT_EQ(whole.size(), 3u);
  // Every prefix of each request is fed, each a fresh copy at a new address, like a reactor
  // that moves bytes into a copy buffer.
  std::vector<std::string> split;
  HttpParser parser;
  HttpRequest request;
  size_t start = 0;
  for (size_t end = 0; end <= stream.size(); ++end) {
    const std::string prefix = stream.substr(start, end - start);
    const ParseResult r = parser.Parse(prefix, &request);
    ASSERT_NE(r.status, ParseStatus::kError) << end;
    if (r.status == ParseStatus::kComplete) {
      split.push_back(Describe(r, request));
      start += r.consumed;
    }
  }
  EXPECT_EQ(split, whole);
}

TEST(HttpParserTest, OneMibChunkedBodyOfOneByteChunksParsesInLinearTime) {
  constexpr size_t kBody = 1 << 20;
  std::string input = GetWith("Host: a\r\nTransfer-Encoding: chunked\r\n");
  input.reserve(input.size() + kBody * 6 + 5);
  for (size_t i = 0; i < kBody; ++i) {
    input += "1\r\n";
    input += static_cast<char>('a' + i % 26);
    input += "\r\n";
  }
  input += "0\r\n\r\n";
  HttpLimits limits;
  limits.max_body = kBody;
  HttpParser parser(limits);
  HttpRequest request;
  ParseResult r;
  // Growing views of the same bytes, 4 KiB more each time: only the new bytes get examined.
  for (size_t size = 4096; r.status == ParseStatus::kNeedMore; size += 4096) {
    r = parser.Parse(std::string_view(input).substr(0, std::min(size, input.size())), &request);
  }
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(r.consumed, input.size());
  ASSERT_EQ(request.body.size(), kBody);
  EXPECT_EQ(request.body.substr(0, 3), "abc");
}

TEST(HttpParserTest, ErrorIsStickyUntilReset) {
  HttpParser parser;
  HttpRequest request;
  EXPECT_EQ(parser.Parse("GET / HTTP/1.1\nHost: a\r\n\r\n", &request).error_status, 400);
  const std::string good = GetWith("Host: a\r\n");
  const ParseResult r = parser.Parse(good, &request);
  EXPECT_EQ(r.status, ParseStatus::kError);
  EXPECT_EQ(r.error_status, 400);
  parser.Reset();
  EXPECT_EQ(parser.Parse(good, &request).status, ParseStatus::kComplete);
}

}  // namespace
}  // namespace ringside::net
