#include "ringside/net/http_parser.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "ringside/net/http_parse_test_util.h"

namespace ringside::net {
namespace {

using namespace std::string_view_literals;

constexpr int kNeedMore = -1;

// Parses `input` read whole, byte by byte and in random reads (each moved to a new address
// now and then); the three must agree and keep to the contract in http_parser.h.
ParseTrace ParseAll(std::string_view input, const HttpLimits& limits = {}) {
  const ParseTrace whole = ParseWhole(input, limits);
  EXPECT_EQ(whole.violation, "");
  HttpParser parser(limits);
  const ParseTrace bytes = DriveParser(parser, input, limits, {.next_size = [] { return 1; }});
  EXPECT_EQ(bytes.violation, "");
  EXPECT_TRUE(bytes.SameOutcome(whole));
  const ParseTrace pieces =
      ParseInPieces(input, static_cast<uint32_t>(input.size()), /*max_piece=*/64, limits);
  EXPECT_EQ(pieces.violation, "");
  EXPECT_TRUE(pieces.SameOutcome(whole));
  return whole;
}

// The outcome of parsing `input`: the error status, 0 when the first request is complete,
// or kNeedMore.
int ErrorOf(std::string_view input, const HttpLimits& limits = {}) {
  const ParseTrace t = ParseAll(input, limits);
  if (t.error_status != 0) return t.error_status;
  return !t.requests.empty() && t.requests[0].complete ? 0 : kNeedMore;
}

// The first request of `input`, which must be complete.
ParsedRequest Parsed(std::string_view input, const HttpLimits& limits = {}) {
  const ParseTrace t = ParseAll(input, limits);
  EXPECT_EQ(t.error_status, 0);
  if (t.requests.empty()) {
    ADD_FAILURE() << "no request in " << input;
    return {};
  }
  EXPECT_TRUE(t.requests[0].complete);
  return t.requests[0];
}

// A GET of `/` whose header block is `fields` (each ending with CRLF).
std::string GetWith(std::string_view fields) {
  return "GET / HTTP/1.1\r\n" + std::string(fields) + "\r\n";
}

// A request with `line` as its request line and a Host field.
std::string WithLine(std::string_view line) {
  return std::string(line) + "\r\nHost: a\r\n\r\n";
}

TEST(HttpParserTest, ParsesAnOriginFormRequest) {
  const std::string input = "GET /a/b?x=1&y HTTP/1.1\r\nHost: example.com\r\nX-A: 1\r\n\r\n";
  HttpParser parser;
  HttpRequest request;
  const ParseResult r = parser.Parse(input, &request);
  ASSERT_EQ(r.status, ParseStatus::kHead);
  EXPECT_EQ(r.consumed, input.size());
  EXPECT_FALSE(r.send_continue);
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.method.data(), input.data());  // views into the input
  EXPECT_EQ(request.target, "/a/b?x=1&y");
  EXPECT_EQ(request.path, "/a/b");
  EXPECT_EQ(request.query, "x=1&y");
  EXPECT_EQ(request.version_minor, 1);
  EXPECT_TRUE(request.keep_alive);
  EXPECT_FALSE(request.expect_continue);
  EXPECT_FALSE(request.chunked);
  EXPECT_EQ(request.body_length, 0u);
  EXPECT_FALSE(request.has_body());
  ASSERT_EQ(request.headers.size(), 2u);
  EXPECT_EQ(request.headers[1].name, "X-A");
  EXPECT_EQ(request.headers[1].value, "1");
  EXPECT_TRUE(parser.head_complete());
  // A request without a body still ends with kComplete, from the next call, consuming nothing.
  const ParseResult end = parser.Parse("", &request);
  EXPECT_EQ(end.status, ParseStatus::kComplete);
  EXPECT_EQ(end.consumed, 0u);
  EXPECT_FALSE(parser.head_complete());
  EXPECT_EQ(parser.Parse("", &request).status, ParseStatus::kNeedMore);
}

// ---- Request line ----

TEST(HttpParserTest, EndingABodilessRequestAtItsHeadStartsTheNext) {
  HttpParser parser;
  HttpRequest request;
  std::string_view input =
      "GET /a HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\n"
      "Content-Length: 2\r\n\r\nok";
  ParseResult r = parser.Parse(input, &request);
  ASSERT_EQ(r.status, ParseStatus::kHead);
  EXPECT_EQ(request.path, "/a");
  ASSERT_FALSE(request.has_body());
  parser.EndBodilessRequest();
  EXPECT_TRUE(parser.at_request_start());
  input.remove_prefix(r.consumed);
  r = parser.Parse(input, &request);
  ASSERT_EQ(r.status, ParseStatus::kHead);
  EXPECT_EQ(request.path, "/b");
  EXPECT_EQ(request.body_length, 2u);
  input.remove_prefix(r.consumed);
  r = parser.Parse(input, &request);
  ASSERT_EQ(r.status, ParseStatus::kBody);
  EXPECT_EQ(r.body_segment, "ok");
}

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
  const ParsedRequest request = Parsed(WithLine("GET / HTTP/1.2"));
  EXPECT_EQ(request.version_minor, 1);
  EXPECT_TRUE(request.keep_alive);
  EXPECT_EQ(ErrorOf("GET / HTTP/1.9\r\n\r\n"), 400);
}

TEST(HttpParserTest, AbsoluteFormUsesThePathOfTheTarget) {
  const ParsedRequest request = Parsed(WithLine("GET http://example.com:8080/a/b?x=1 HTTP/1.1"));
  EXPECT_EQ(request.target, "http://example.com:8080/a/b?x=1");
  EXPECT_EQ(request.path, "/a/b");
  EXPECT_EQ(request.query, "x=1");
}

TEST(HttpParserTest, AbsoluteFormWithoutPathHasRootPath) {
  const ParsedRequest request = Parsed(WithLine("GET http://example.com?q HTTP/1.1"));
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
  EXPECT_EQ(Parsed(WithLine("OPTIONS * HTTP/1.1")).path, "*");
  EXPECT_EQ(ErrorOf(WithLine("GET * HTTP/1.1")), 400);
}

TEST(HttpParserTest, AuthorityFormOnlyWithConnect) {
  const ParsedRequest request = Parsed(WithLine("CONNECT example.com:443 HTTP/1.1"));
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
  ASSERT_EQ(r.status, ParseStatus::kHead);
  EXPECT_EQ(r.consumed, input.size());  // the empty lines are part of the head
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(Parsed(input).raw_bytes, input.size());
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
  ASSERT_EQ(parser.Parse(input, &request).status, ParseStatus::kHead);
  EXPECT_EQ(request.Header("X"), "v  w");
  EXPECT_EQ(request.Header("Y"), "");
}

TEST(HttpParserTest, HeaderLookupIsCaseInsensitiveAndFindsTheFirst) {
  const std::string input = GetWith("Host: a\r\nX-Thing: 1\r\nx-thing: 2\r\n");
  HttpParser parser;
  HttpRequest request;
  ASSERT_EQ(parser.Parse(input, &request).status, ParseStatus::kHead);
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
  ParseResult r = parser.Parse(input, &request);
  ASSERT_EQ(r.status, ParseStatus::kHead);
  EXPECT_EQ(r.consumed, input.size() - 5);
  EXPECT_EQ(request.body_length, 5u);
  EXPECT_TRUE(request.has_body());
  const std::string_view rest = std::string_view(input).substr(r.consumed);
  r = parser.Parse(rest, &request);
  ASSERT_EQ(r.status, ParseStatus::kBody);
  EXPECT_EQ(r.consumed, 5u);
  EXPECT_EQ(r.body_segment, "hello");
  EXPECT_EQ(r.body_segment.data(), rest.data());
  r = parser.Parse(rest.substr(5), &request);
  EXPECT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(r.consumed, 0u);
}

TEST(HttpParserTest, BytesNeededIsOneMoreThanWhatIsLeftAfterNeedMore) {
  const std::string head = "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n";
  HttpParser parser;
  HttpRequest request;
  // A partial head stays with the caller.
  ASSERT_EQ(parser.Parse(std::string_view(head).substr(0, 10), &request).status,
            ParseStatus::kNeedMore);
  EXPECT_EQ(parser.bytes_needed(), 11u);
  const ParseResult r = parser.Parse(head + "0123456789", &request);
  ASSERT_EQ(r.status, ParseStatus::kHead);
  EXPECT_EQ(parser.bytes_needed(), 0u);  // call again at once
  ASSERT_EQ(parser.Parse("0123456789", &request).status, ParseStatus::kBody);
  EXPECT_EQ(parser.bytes_needed(), 0u);
  ASSERT_EQ(parser.Parse("", &request).status, ParseStatus::kNeedMore);
  EXPECT_EQ(parser.bytes_needed(), 1u);  // any byte of the body is a segment
}

// A caller waiting for bytes_needed() before parsing the next pipelined request must not
// wait for the size of the previous one (that stalled a short request after a long body).
TEST(HttpParserTest, BytesNeededIsZeroOnceARequestCompletes) {
  const std::string head = "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n";
  HttpParser parser;
  HttpRequest request;
  ASSERT_EQ(parser.Parse(head, &request).status, ParseStatus::kHead);
  ASSERT_EQ(parser.Parse(std::string(1000, 'x'), &request).status, ParseStatus::kBody);
  ASSERT_EQ(parser.Parse("", &request).status, ParseStatus::kComplete);
  EXPECT_EQ(parser.bytes_needed(), 0u);
}

// ---- Transfer-Encoding ----

TEST(HttpParserTest, ChunkedBodyIsDecoded) {
  const std::string input =
      GetWith("Host: a\r\nTransfer-Encoding: Chunked\r\n") + "3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n";
  const ParsedRequest request = Parsed(input);
  EXPECT_TRUE(request.chunked);
  EXPECT_EQ(request.body_length, 0u);
  EXPECT_EQ(request.body, "abc");
  EXPECT_EQ(request.raw_bytes, input.size());
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

TEST(HttpParserTest, HostMayBeAnyUriHostWithPort) {
  EXPECT_EQ(ErrorOf(GetWith("Host: example.com:8080\r\n")), 0);
  EXPECT_EQ(ErrorOf(GetWith("Host: [::1]:80\r\n")), 0);
  EXPECT_EQ(ErrorOf(GetWith("Host: [::ffff:127.0.0.1]\r\n")), 0);
  EXPECT_EQ(ErrorOf(GetWith("Host: [v1.fe80::a+en1]\r\n")), 0);
  EXPECT_EQ(ErrorOf(GetWith("Host: 127.0.0.1\r\n")), 0);
  EXPECT_EQ(ErrorOf(GetWith("Host: ex%41mple\r\n")), 0);
  EXPECT_EQ(ErrorOf(GetWith("Host: a:\r\n")), 0);  // port = *DIGIT
}

// RFC 9110 4.2.1: an "http" URI with an empty host is invalid; RFC 9112 3.2: 400.
TEST(HttpParserTest, EmptyOrMalformedHostIs400) {
  EXPECT_EQ(ErrorOf(GetWith("Host:\r\n")), 400);
  EXPECT_EQ(ErrorOf(GetWith("Host:   \r\n")), 400);
  EXPECT_EQ(ErrorOf(GetWith("Host: :80\r\n")), 400);
  EXPECT_EQ(ErrorOf(GetWith("Host: a:8x\r\n")), 400);
  EXPECT_EQ(ErrorOf(GetWith("Host: a:80:90\r\n")), 400);
  EXPECT_EQ(ErrorOf(GetWith("Host: [::1\r\n")), 400);
  EXPECT_EQ(ErrorOf(GetWith("Host: []\r\n")), 400);
  EXPECT_EQ(ErrorOf(GetWith("Host: [::1]x\r\n")), 400);
  EXPECT_EQ(ErrorOf(GetWith("Host: [xyz]\r\n")), 400);
  EXPECT_EQ(ErrorOf(GetWith("Host: a[b]\r\n")), 400);
  EXPECT_EQ(ErrorOf(GetWith("Host: a%4\r\n")), 400);
  EXPECT_EQ(ErrorOf(GetWith("Host: a%zz\r\n")), 400);
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
  EXPECT_EQ(Parsed(GetWith("Host: a\r\nContent-Length: 2\r\n") + "hi").body, "hi");
}

// ---- Connection and Expect ----

TEST(HttpParserTest, Http11KeepsAliveUnlessConnectionClose) {
  EXPECT_TRUE(Parsed(GetWith("Host: a\r\n")).keep_alive);
  EXPECT_FALSE(Parsed(GetWith("Host: a\r\nConnection: Upgrade, CLOSE\r\n")).keep_alive);
}

TEST(HttpParserTest, Http10KeepsAliveOnlyWhenAsked) {
  const ParsedRequest request = Parsed("GET / HTTP/1.0\r\n\r\n");
  EXPECT_FALSE(request.keep_alive);
  EXPECT_EQ(request.version_minor, 0);
  EXPECT_TRUE(Parsed("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
}

TEST(HttpParserTest, ExpectContinueIsSignalledOnceWhenTheHeadCompletes) {
  const std::string head =
      "POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 4\r\n\r\n";
  HttpParser parser;
  HttpRequest request;
  ParseResult r = parser.Parse(std::string_view(head).substr(0, head.size() - 1), &request);
  ASSERT_EQ(r.status, ParseStatus::kNeedMore);
  EXPECT_FALSE(r.send_continue);
  r = parser.Parse(head, &request);
  ASSERT_EQ(r.status, ParseStatus::kHead);
  EXPECT_TRUE(r.send_continue);
  EXPECT_TRUE(request.expect_continue);
  r = parser.Parse("bo", &request);
  ASSERT_EQ(r.status, ParseStatus::kBody);
  EXPECT_FALSE(r.send_continue);
  r = parser.Parse("dy", &request);
  ASSERT_EQ(r.status, ParseStatus::kBody);
  EXPECT_FALSE(r.send_continue);
  r = parser.Parse("", &request);
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_FALSE(r.send_continue);
  // Chunked bodies too.
  const std::string chunked =
      "POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  r = parser.Parse(chunked, &request);
  ASSERT_EQ(r.status, ParseStatus::kHead);
  EXPECT_TRUE(r.send_continue);
  const ParseTrace t = ParseAll(chunked + "1\r\nx\r\n0\r\n\r\n" + head + "body");
  EXPECT_EQ(t.continues, 0);  // each body follows its head at once
  ASSERT_EQ(t.requests.size(), 2u);
}

// RFC 9110 10.1.1: a server may omit 100 (Continue) once some of the content has arrived.
TEST(HttpParserTest, ExpectContinueIsNotSignalledWhenTheBodyIsAlreadyThere) {
  const std::string head =
      "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
  HttpParser parser;
  HttpRequest request;
  ParseResult r = parser.Parse(head + "xy", &request);
  ASSERT_EQ(r.status, ParseStatus::kHead);
  EXPECT_FALSE(r.send_continue);
  parser.Reset();
  r = parser.Parse(head + "x", &request);
  ASSERT_EQ(r.status, ParseStatus::kHead);
  EXPECT_FALSE(r.send_continue);
}

TEST(HttpParserTest, ExpectContinueIsNotSignalledWithoutABody) {
  HttpParser parser;
  HttpRequest request;
  const ParseResult r = parser.Parse(
      "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n", &request);
  ASSERT_EQ(r.status, ParseStatus::kHead);
  EXPECT_TRUE(request.expect_continue);
  EXPECT_FALSE(r.send_continue);
}

TEST(HttpParserTest, ExpectContinueIsIgnoredInHttp10) {
  HttpParser parser;
  HttpRequest request;
  const ParseResult r = parser.Parse(
      "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n", &request);
  ASSERT_EQ(r.status, ParseStatus::kHead);
  EXPECT_FALSE(request.expect_continue);
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
  ASSERT_EQ(r.status, ParseStatus::kHead);
  EXPECT_EQ(r.consumed, first.size());
  EXPECT_EQ(request.path, "/plaintext");
  buffer.erase(0, r.consumed);
  r = parser.Parse(buffer, &request);
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(r.consumed, 0u);
  r = parser.Parse(buffer, &request);
  ASSERT_EQ(r.status, ParseStatus::kHead);
  EXPECT_EQ(request.path, "/echo");
  buffer.erase(0, r.consumed);
  r = parser.Parse(buffer, &request);
  ASSERT_EQ(r.status, ParseStatus::kBody);
  EXPECT_EQ(r.body_segment, "abc");
  buffer.erase(0, r.consumed);
  r = parser.Parse(buffer, &request);
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(r.consumed, 0u);
  r = parser.Parse(buffer, &request);
  ASSERT_EQ(r.status, ParseStatus::kHead);
  EXPECT_TRUE(request.chunked);
  buffer.erase(0, r.consumed);
  r = parser.Parse(buffer, &request);
  ASSERT_EQ(r.status, ParseStatus::kBody);
  EXPECT_EQ(r.body_segment, "xy");
  EXPECT_EQ(r.consumed, 5u);  // "2\r\nxy"
  buffer.erase(0, r.consumed);
  r = parser.Parse(buffer, &request);
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(r.consumed, 7u);  // "\r\n0\r\n\r\n"
  buffer.erase(0, r.consumed);
  EXPECT_EQ(buffer, "GET /pipe");
  EXPECT_EQ(parser.Parse(buffer, &request).status, ParseStatus::kNeedMore);
  buffer += "line HTTP/1.1\r\nHost: a\r\n\r\n";
  r = parser.Parse(buffer, &request);
  ASSERT_EQ(r.status, ParseStatus::kHead);
  EXPECT_EQ(request.path, "/pipeline");
  EXPECT_EQ(r.consumed, buffer.size());
}

TEST(HttpParserTest, NeedMoreConsumesChunkFramingAsSoonAsItIsDecoded) {
  HttpParser parser;
  HttpRequest request;
  const std::string head = GetWith("Host: a\r\nTransfer-Encoding: chunked\r\n");
  ASSERT_EQ(parser.Parse(head, &request).status, ParseStatus::kHead);
  ParseResult r = parser.Parse("5;ext=1\r\n", &request);  // a whole chunk-size line
  ASSERT_EQ(r.status, ParseStatus::kNeedMore);
  EXPECT_EQ(r.consumed, 9u);
  EXPECT_EQ(parser.bytes_needed(), 1u);
  r = parser.Parse("hello\r", &request);
  ASSERT_EQ(r.status, ParseStatus::kBody);
  EXPECT_EQ(r.body_segment, "hello");
  EXPECT_EQ(r.consumed, 5u);
  r = parser.Parse("\r", &request);  // half a CRLF is kept
  ASSERT_EQ(r.status, ParseStatus::kNeedMore);
  EXPECT_EQ(r.consumed, 0u);
  EXPECT_EQ(parser.bytes_needed(), 2u);
  r = parser.Parse("\r\n0\r\nX-T", &request);  // CRLF and last-chunk, not the partial trailer
  ASSERT_EQ(r.status, ParseStatus::kNeedMore);
  EXPECT_EQ(r.consumed, 5u);
  EXPECT_EQ(parser.bytes_needed(), 4u);
  r = parser.Parse("X-T: 1\r\n", &request);  // a whole trailer line
  ASSERT_EQ(r.status, ParseStatus::kNeedMore);
  EXPECT_EQ(r.consumed, 8u);
  r = parser.Parse("\r\nGET", &request);
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(r.consumed, 2u);
  EXPECT_FALSE(parser.head_complete());
}

TEST(HttpParserTest, ContentLengthBodyStreamedInRandomReads) {
  std::mt19937 random(7);
  std::string body(100000, '\0');
  for (char& c : body) c = static_cast<char>(random());
  const std::string head =
      "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  const std::string next = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string stream = head + body + next;
  for (const size_t max_piece : {1, 7, 1000, 70000}) {
    SCOPED_TRACE(max_piece);
    const ParseTrace t = ParseInPieces(stream, static_cast<uint32_t>(max_piece), max_piece);
    ASSERT_EQ(t.violation, "");
    ASSERT_EQ(t.error_status, 0);
    ASSERT_EQ(t.requests.size(), 2u);
    EXPECT_TRUE(t.requests[0].complete);
    EXPECT_EQ(t.requests[0].body, body);
    EXPECT_EQ(t.requests[0].raw_bytes, head.size() + body.size());
    EXPECT_EQ(t.requests[1].path, "/next");
    EXPECT_TRUE(t.requests[1].complete);
    EXPECT_EQ(t.unconsumed, 0u);
    // No segment is larger than the input it came from, and none is held back: the caller
    // never keeps body bytes, only what a read brought beyond them.
    size_t segments = 0;
    size_t remaining = body.size();
    for (const ParseStep& step : t.steps) {
      if (step.status != ParseStatus::kBody) continue;
      ++segments;
      EXPECT_LE(step.segment_size, step.input_size);
      EXPECT_EQ(step.segment_size, std::min(step.input_size, remaining));
      remaining -= step.segment_size;
    }
    EXPECT_GE(segments, body.size() / max_piece);
    EXPECT_LE(t.max_kept, head.size());
  }
}

TEST(HttpParserTest, PipelinedRequestsAfterAStreamedBody) {
  const std::string stream =
      "POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n10;x=y\r\n0123456789abcdef\r\n0\r\nT: 1\r\n\r\n"
      "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world"
      "GET /c HTTP/1.1\r\nHost: a\r\n\r\n"
      "GET /d HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
  for (uint32_t seed = 0; seed < 20; ++seed) {
    const ParseTrace t = ParseInPieces(stream, seed, 1 + seed % 9);
    ASSERT_EQ(t.violation, "");
    ASSERT_EQ(t.requests.size(), 4u);
    EXPECT_EQ(t.requests[0].body, "abc0123456789abcdef");
    EXPECT_EQ(t.requests[1].body, "hello world");
    EXPECT_EQ(t.requests[2].path, "/c");
    EXPECT_EQ(t.requests[2].body, "");
    EXPECT_FALSE(t.requests[3].keep_alive);
    size_t raw = 0;
    for (const ParsedRequest& request : t.requests) {
      EXPECT_TRUE(request.complete);
      raw += request.raw_bytes;
    }
    EXPECT_EQ(raw, stream.size());
    EXPECT_EQ(t.unconsumed, 0u);
  }
}

TEST(HttpParserTest, SplitAtEveryByteBoundaryGivesTheSameResult) {
  const std::string stream =
      "\r\nPOST /upload?x=1 HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n"
      "Expect: 100-continue\r\n\r\n4;ext=\"a b\"\r\nWiki\r\n5\r\npedia\r\n0\r\nT: 1\r\n\r\n"
      "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
      "GET http://h/json HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
  const ParseTrace whole = ParseWhole(stream);
  ASSERT_EQ(whole.violation, "");
  ASSERT_EQ(whole.requests.size(), 3u);
  EXPECT_EQ(whole.requests[0].body, "Wikipedia");
  EXPECT_EQ(whole.requests[1].body, "hello");
  EXPECT_EQ(whole.continues, 0);
  // Every byte read separately, each time into a fresh copy of the buffer at a new address,
  // like a reactor that moves bytes into a copy buffer.
  HttpParser parser;
  const ParseTrace split = DriveParser(parser, stream, {},
                                       {.next_size = [] { return 1; },
                                        .move_buffer = [] { return true; }});
  ASSERT_EQ(split.violation, "");
  EXPECT_TRUE(split.SameOutcome(whole));
  EXPECT_EQ(split.continues, 1);  // the first head arrived before its body
  // Every split point of the stream into two reads.
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    size_t reads = 0;
    HttpParser p;
    const auto next_size = [&] { return reads++ == 0 ? cut : stream.size(); };
    const ParseTrace two = DriveParser(p, stream, {}, {.next_size = next_size});
    ASSERT_EQ(two.violation, "") << cut;
    EXPECT_TRUE(two.SameOutcome(whole)) << cut;
  }
}

TEST(HttpParserTest, OneMibChunkedBodyOfOneByteChunksParsesInLinearTime) {
  constexpr size_t kBody = 1 << 20;
  std::string input = GetWith("Host: a\r\nTransfer-Encoding: chunked\r\n");
  input.reserve(input.size() + kBody * 6 + 5);
  std::string body;
  for (size_t i = 0; i < kBody; ++i) {
    input += "1\r\n";
    input += static_cast<char>('a' + i % 26);
    body += static_cast<char>('a' + i % 26);
    input += "\r\n";
  }
  input += "0\r\n\r\n";
  HttpLimits limits;
  limits.max_body = kBody;
  HttpParser parser(limits);
  // Reads of 4 KiB: each is parsed once, and the caller drops it all but a partial line.
  const ParseTrace t = DriveParser(parser, input, limits,
                                   {.next_size = [] { return 4096; }, .record_steps = false});
  ASSERT_EQ(t.violation, "");
  ASSERT_EQ(t.requests.size(), 1u);
  EXPECT_TRUE(t.requests[0].complete);
  EXPECT_EQ(t.requests[0].raw_bytes, input.size());
  EXPECT_EQ(t.requests[0].body, body);
  EXPECT_LE(t.max_kept, 8u);  // at most a partial "1\r\nx\r\n"
}

// The attack that made one connection hold 1.05 GB: a 1 MiB body in 1-byte chunks, each
// with ~1 KiB of chunk extensions. Only a prefix of the stream is built; the parser must
// refuse it (431, max_chunk_overhead) long before its end, the caller holding at most a
// partial chunk-size line plus one read at any time.
TEST(HttpParserTest, HostileChunkExtensionsAreRefusedWithoutHoldingTheRequest) {
  const std::string head = "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string extension = ";" + std::string(ChunkedDecoder::kMaxChunkLine - 2, 'e');
  std::string stream = head;
  for (int i = 0; i < 256; ++i) stream += "1" + extension + "\r\nx\r\n";  // of 1 << 20 chunks
  const HttpLimits limits;  // the defaults: max_body 8 MiB, max_chunk_overhead 64 KiB
  ASSERT_EQ(limits.max_chunk_overhead, size_t{64} << 10);
  for (const size_t max_piece : {1, 100, 1024}) {
    SCOPED_TRACE(max_piece);
    const ParseTrace t = ParseInPieces(stream, 1, max_piece, limits);
    ASSERT_EQ(t.violation, "");
    EXPECT_EQ(t.error_status, 431);
    // Refused at the chunk-size line that takes the extensions over 64 KiB.
    const size_t chunk = 1 + extension.size() + 2 + 3;
    const size_t chunks = limits.max_chunk_overhead / extension.size() + 1;
    EXPECT_LE(t.fed_at_error, head.size() + chunks * chunk + max_piece);
    EXPECT_GE(t.fed_at_error, head.size() + (chunks - 1) * chunk);
    EXPECT_LE(t.max_kept, ChunkedDecoder::kMaxChunkLine + 2);  // a partial chunk-size line
    EXPECT_LE(t.max_held, ChunkedDecoder::kMaxChunkLine + 2 + max_piece);
    ASSERT_EQ(t.requests.size(), 1u);
    EXPECT_EQ(t.requests[0].body, std::string(chunks - 1, 'x'));
  }
  // A bigger limit lets the same body through, still without holding it.
  HttpLimits lenient;
  lenient.max_chunk_overhead = 1 << 20;
  const ParseTrace t = ParseInPieces(stream + "0\r\n\r\n", 2, 1024, lenient);
  ASSERT_EQ(t.violation, "");
  EXPECT_EQ(t.error_status, 0);
  EXPECT_EQ(t.requests[0].body, std::string(256, 'x'));
  EXPECT_LE(t.max_kept, ChunkedDecoder::kMaxChunkLine + 2);
}

TEST(HttpParserTest, ChunkOverheadIsCountedPerRequest) {
  HttpLimits limits;
  limits.max_chunk_overhead = 16;
  const std::string head = GetWith("Host: a\r\nTransfer-Encoding: chunked\r\n");
  // Extensions, trailer field lines, final CRLF.
  const std::string over = head + "1;0123456789\r\nx\r\n0\r\nT:1\r\n\r\n";  // 11 + 5 + 2
  EXPECT_EQ(ErrorOf(over, limits), 431);
  const std::string ok = head + "1;012345678\r\nx\r\n0\r\nT:\r\n\r\n";  // 10 + 4 + 2
  EXPECT_EQ(ErrorOf(ok, limits), 0);
  const ParseTrace t = ParseAll(ok + ok + ok, limits);
  EXPECT_EQ(t.error_status, 0);
  EXPECT_EQ(t.requests.size(), 3u);
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
  EXPECT_EQ(parser.Parse(good, &request).status, ParseStatus::kHead);
}

// ---- A repeated head (the per-thread memo of the last head) ----

// Parses the head at the start of `input` with a fresh parser.
ParseResult ParseHeadOf(std::string_view input, const HttpLimits& limits,
                        HttpRequest* request) {
  HttpParser parser(limits);
  return parser.Parse(input, request);
}

TEST(HttpParserTest, ARepeatedHeadParsesToViewsIntoItsOwnInput) {
  const std::string head = "POST /a?q=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n";
  const std::string first = head + "abc";
  const std::string second = head + "xyz";  // the same head at another address
  HttpRequest request;
  ASSERT_EQ(ParseHeadOf(first, {}, &request).status, ParseStatus::kHead);
  HttpParser other;
  const ParseResult head_result = other.Parse(second, &request);
  ASSERT_EQ(head_result.status, ParseStatus::kHead);
  EXPECT_EQ(head_result.consumed, head.size());
  EXPECT_EQ(request.method.data(), second.data());
  EXPECT_EQ(request.path, "/a");
  EXPECT_EQ(request.query, "q=1");
  ASSERT_EQ(request.headers.size(), 2u);
  EXPECT_EQ(request.headers[1].value.data(), second.data() + head.find("3\r\n"));
  EXPECT_EQ(request.body_length, 3u);
  // The body state comes with the head.
  const ParseResult body = other.Parse(std::string_view(second).substr(head.size()), &request);
  ASSERT_EQ(body.status, ParseStatus::kBody);
  EXPECT_EQ(body.body_segment, "xyz");
}

TEST(HttpParserTest, ARepeatedHeadIsParsedUnderTheParsersOwnLimits) {
  const std::string head = GetWith("Host: a\r\nContent-Length: 11\r\n");
  HttpRequest request;
  ASSERT_EQ(ParseHeadOf(head, {}, &request).status, ParseStatus::kHead);
  for (HttpLimits limits : {HttpLimits{.max_body = 10}, HttpLimits{.max_headers = 1},
                            HttpLimits{.max_header_bytes = 20}}) {
    EXPECT_EQ(ParseHeadOf(head, limits, &request).status, ParseStatus::kError);
  }
  HttpLimits short_line;
  short_line.max_request_line = 10;
  EXPECT_EQ(ParseHeadOf(head, short_line, &request).error_status, 414);
  EXPECT_EQ(ParseHeadOf(head, {}, &request).status, ParseStatus::kHead);
}

TEST(HttpParserTest, AHeadThatDiffersFromTheLastOnlyLateIsParsedWhole) {
  HttpRequest request;
  const std::string chunked = GetWith("Host: a\r\nTransfer-Encoding: chunked\r\n");
  ASSERT_EQ(ParseHeadOf(chunked, {}, &request).status, ParseStatus::kHead);
  EXPECT_TRUE(request.chunked);
  std::string bad = chunked;
  bad[bad.find("chunked")] = 'C';
  bad[bad.find("Host: a")] = ' ';  // a field line that starts with whitespace
  EXPECT_EQ(ParseHeadOf(bad, {}, &request).error_status, 400);
  // A head that the memorized one is a prefix of cannot match: the memo ends with CRLFCRLF.
  const std::string longer = GetWith("Host: a\r\nTransfer-Encoding: chunked\r\nX: 1\r\n");
  ASSERT_EQ(ParseHeadOf(longer, {}, &request).status, ParseStatus::kHead);
  EXPECT_EQ(request.headers.size(), 3u);
}

// Only a request's first call may take the memo (so every byte is still examined O(1)
// times); whichever way it goes, a head that arrives in pieces parses as it would whole.
TEST(HttpParserTest, AHeadArrivingInPiecesAfterTheSameHeadParsesTheSame) {
  const std::string head = GetWith("Host: a\r\n");
  HttpRequest request;
  ASSERT_EQ(ParseHeadOf(head, {}, &request).status, ParseStatus::kHead);
  HttpParser parser;
  ASSERT_EQ(parser.Parse(std::string_view(head).substr(0, 5), &request).status,
            ParseStatus::kNeedMore);
  const ParseResult r = parser.Parse(head, &request);
  ASSERT_EQ(r.status, ParseStatus::kHead);
  EXPECT_EQ(r.consumed, head.size());
  EXPECT_EQ(request.path, "/");
}

// ---- Repeated bodiless heads, skipped (recalled_generation, SkipRepeatedHeads) ----

// How many heads SkipRepeatedHeads skips at the start of `input` (at most `max`), with their
// bytes.
struct Skipped {
  size_t heads = 0;
  size_t bytes = 0;
  bool operator==(const Skipped&) const = default;
};
Skipped Skip(HttpParser& parser, std::string_view input, uint64_t generation,
             size_t max = SIZE_MAX) {
  Skipped s;
  s.heads = parser.SkipRepeatedHeads(input, generation, max, &s.bytes);
  return s;
}
Skipped Skip(HttpParser&& parser, std::string_view input, uint64_t generation) {
  return Skip(parser, input, generation);
}

TEST(HttpParserTest, ARecalledHeadIsSkippedWhereverItRepeats) {
  const std::string head = "GET /r HTTP/1.1\r\nHost: h\r\n\r\n";
  const std::string next = "GET /next HTTP/1.1\r\nHost: h\r\n\r\n";
  HttpRequest request;
  HttpParser parser;
  ASSERT_EQ(parser.Parse(head, &request).status, ParseStatus::kHead);
  EXPECT_EQ(parser.recalled_generation(), 0u) << "scanned, not recalled";
  parser.EndBodilessRequest();
  ASSERT_EQ(parser.Parse(head, &request).status, ParseStatus::kHead);
  const uint64_t generation = parser.recalled_generation();
  ASSERT_NE(generation, 0u);
  parser.EndBodilessRequest();

  // Another parser of the thread, under the same limits, skips the run, up to what follows.
  HttpParser other;
  const std::string input = head + head + head + next + head;
  EXPECT_EQ(Skip(other, input, generation, 2), (Skipped{2, 2 * head.size()})) << "at most 2";
  EXPECT_EQ(other.recalled_generation(), generation);
  EXPECT_TRUE(other.at_request_start());
  std::string_view rest = std::string_view(input).substr(2 * head.size());
  EXPECT_EQ(Skip(other, rest, generation), (Skipped{1, head.size()}));
  rest.remove_prefix(head.size());
  const ParseResult r = other.Parse(rest, &request);
  ASSERT_EQ(r.status, ParseStatus::kHead);
  EXPECT_EQ(request.path, "/next");
  EXPECT_EQ(other.recalled_generation(), 0u);
  // /next is the memo's head now: the old generation no longer matches anything.
  other.EndBodilessRequest();
  rest.remove_prefix(r.consumed);
  EXPECT_EQ(Skip(other, rest, generation), Skipped{});
  EXPECT_EQ(Skip(parser, head, generation), Skipped{});
}

TEST(HttpParserTest, OnlyTheSameBodilessHeadAtARequestsStartIsSkipped) {
  HttpRequest request;
  // Memorizes `head` and recalls it once; returns the generation recalled.
  auto recall = [&](const std::string& head, const HttpLimits& limits = {}) {
    HttpParser parser(limits);
    EXPECT_EQ(parser.Parse(head, &request).status, ParseStatus::kHead);
    HttpParser again(limits);
    EXPECT_EQ(again.Parse(head, &request).status, ParseStatus::kHead);
    return again.recalled_generation();
  };
  const std::string head = GetWith("Host: a\r\n");
  uint64_t generation = recall(head);
  ASSERT_NE(generation, 0u);

  std::string other = head;
  other[other.find('a')] = 'b';  // one byte differs
  EXPECT_EQ(Skip(HttpParser(), other, generation), Skipped{});
  EXPECT_EQ(Skip(HttpParser(), head + other, generation), (Skipped{1, head.size()}));
  EXPECT_EQ(Skip(HttpParser(), std::string_view(head).substr(0, head.size() - 1), generation),
            Skipped{})
      << "not all of it has arrived";
  EXPECT_EQ(Skip(HttpParser({.max_headers = 1}), head, generation), Skipped{}) << "other limits";
  HttpParser midway;
  ASSERT_EQ(midway.Parse(std::string_view(head).substr(0, 5), &request).status,
            ParseStatus::kNeedMore);
  EXPECT_EQ(Skip(midway, head, generation), Skipped{}) << "not at a request's start";
  EXPECT_EQ(Skip(HttpParser(), head, generation), (Skipped{1, head.size()}));

  // A head with a body is never skipped: its body must be parsed.
  const std::string with_body = GetWith("Host: a\r\nContent-Length: 2\r\n");
  generation = recall(with_body);
  ASSERT_NE(generation, 0u);
  EXPECT_EQ(Skip(HttpParser(), with_body + "ok", generation), Skipped{});
  const std::string chunked = GetWith("Host: a\r\nTransfer-Encoding: chunked\r\n");
  generation = recall(chunked);
  ASSERT_NE(generation, 0u);
  EXPECT_EQ(Skip(HttpParser(), chunked + "0\r\n\r\n", generation), Skipped{});
}

}  // namespace
}  // namespace ringside::net
