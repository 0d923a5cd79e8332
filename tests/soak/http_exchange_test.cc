// The response checker must reject what it should, or the soak proves nothing: a byte
// changed anywhere, a malformed Date, bytes nobody asked for; and accept any fragmentation.
#include "ringside/tests/soak/http_exchange.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace ringside::soak {
namespace {

constexpr char kDate[] = "Sun, 06 Nov 1994 08:49:37 GMT";

// What a correct server sends for `e`: the expected bytes with a real date in place.
std::string Served(const Exchange& e) {
  std::string bytes = e.response.bytes;
  bytes.replace(e.response.date_offset, ExpectedResponse::kDateSize, kDate);
  return bytes;
}

TEST(ResponseChecker, AcceptsCorrectResponsesInAnyFragments) {
  std::mt19937_64 rng(7);
  ResponseChecker checker;
  std::string stream;
  for (int i = 0; i < 200; ++i) {
    Exchange e = RandomExchange(rng, {.close = i == 199});
    stream += Served(e);
    checker.Expect(std::move(e.response));
  }
  for (size_t at = 0; at < stream.size();) {
    const size_t n = std::uniform_int_distribution<size_t>(1, 5000)(rng);
    ASSERT_TRUE(checker.Consume(std::string_view(stream).substr(at, n))) << checker.error();
    at += n;
  }
  EXPECT_EQ(checker.outstanding(), 0u);
  EXPECT_FALSE(checker.mid_response());
  EXPECT_EQ(checker.responses_checked(), 200u);
  EXPECT_EQ(checker.bytes_checked(), stream.size());
  EXPECT_NE(stream.find("Connection: close\r\n\r\n"), std::string::npos);
}

TEST(ResponseChecker, RejectsAnyChangedByte) {
  std::mt19937_64 rng(8);
  for (int i = 0; i < 100; ++i) {
    const Exchange e = RandomExchange(rng, {});
    std::string bytes = Served(e);
    const size_t at = std::uniform_int_distribution<size_t>(0, bytes.size() - 1)(rng);
    const bool in_date =
        at >= e.response.date_offset && at < e.response.date_offset + ExpectedResponse::kDateSize;
    // In the Date a digit becomes a letter (and anything else a digit), so the shape breaks.
    bytes[at] = in_date ? (std::isdigit(static_cast<unsigned char>(bytes[at])) ? 'x' : '7')
                        : static_cast<char>(bytes[at] ^ 0x20);
    ResponseChecker checker;
    checker.Expect(e.response);
    EXPECT_FALSE(checker.Consume(bytes)) << "byte " << at << " of " << bytes;
    EXPECT_FALSE(checker.error().empty());
  }
}

TEST(ResponseChecker, RejectsUnexpectedBytesAndTracksPartialResponses) {
  std::mt19937_64 rng(9);
  const Exchange e = RandomExchange(rng, {});
  const std::string bytes = Served(e);
  ResponseChecker checker;
  checker.Expect(e.response);
  ASSERT_TRUE(checker.Consume(std::string_view(bytes).substr(0, 10)));
  EXPECT_TRUE(checker.mid_response());
  ASSERT_TRUE(checker.Consume(std::string_view(bytes).substr(10)));
  EXPECT_FALSE(checker.mid_response());
  EXPECT_FALSE(checker.Consume("HTTP/1.1 200 OK\r\n"));
}

TEST(RandomExchange, CoversEveryEndpointAndBothBodyFramings) {
  std::mt19937_64 rng(10);
  std::string all;
  for (int i = 0; i < 500; ++i) all += RandomExchange(rng, {}).request;
  for (const char* needle : {"GET /plaintext ", "GET /json ", "GET /pipeline ",
                             "GET /baseline11?a=", "POST /baseline11?a=", "POST /echo ",
                             "Transfer-Encoding: chunked", "Content-Length: "}) {
    EXPECT_NE(all.find(needle), std::string::npos) << needle;
  }
}

}  // namespace
}  // namespace ringside::soak
