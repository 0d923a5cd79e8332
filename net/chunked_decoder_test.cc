#include "net/chunked_decoder.h"

#include <gtest/gtest.h>

#include <string>

namespace ringside::net {
namespace {

using Status = ChunkedDecoder::Status;

// Decodes `body` (the whole input) in one call; returns the status, or the error status.
struct Decoded {
  Status status;
  int error_status;
  std::string body;
  size_t end;
};

Decoded DecodeAll(std::string_view input, ChunkedDecoder::Limits limits = {}) {
  ChunkedDecoder decoder(limits);
  decoder.Reset(0);
  const Status status = decoder.Decode(input);
  return {status, decoder.error_status(), std::string(decoder.body()), decoder.end()};
}

int ErrorOf(std::string_view input, ChunkedDecoder::Limits limits = {}) {
  const Decoded d = DecodeAll(input, limits);
  return d.status == Status::kError ? d.error_status : 0;
}

TEST(ChunkedDecoderTest, DecodesChunksAndReportsTheEnd) {
  const std::string input = "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\nNEXT";
  const Decoded d = DecodeAll(input);
  ASSERT_EQ(d.status, Status::kDone);
  EXPECT_EQ(d.body, "hello, world");
  EXPECT_EQ(d.end, input.size() - 4);
}

TEST(ChunkedDecoderTest, StartsAtTheGivenOffset) {
  ChunkedDecoder decoder({});
  decoder.Reset(4);
  const std::string_view input = "HEAD2\r\nab\r\n0\r\n\r\n";
  ASSERT_EQ(decoder.Decode(input), Status::kDone);
  EXPECT_EQ(decoder.body(), "ab");
  EXPECT_EQ(decoder.end(), input.size());
}

TEST(ChunkedDecoderTest, ChunkSizeIsCaseInsensitiveHex) {
  const Decoded d = DecodeAll("a\r\n0123456789\r\nB\r\n0123456789a\r\n0\r\n\r\n");
  ASSERT_EQ(d.status, Status::kDone);
  EXPECT_EQ(d.body.size(), 21u);
}

TEST(ChunkedDecoderTest, ChunkSizeMustBeHexDigits) {
  EXPECT_EQ(ErrorOf("\r\nab\r\n0\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("g\r\n"), 400);
  EXPECT_EQ(ErrorOf("-1\r\n"), 400);
  EXPECT_EQ(ErrorOf("0x2\r\nab\r\n0\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf(" 2\r\nab\r\n0\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("2 \r\nab\r\n0\r\n\r\n"), 400);
}

TEST(ChunkedDecoderTest, ChunkSizeOfMoreThanSixteenDigitsIs400) {
  EXPECT_EQ(ErrorOf("00000000000000001\r\na\r\n0\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("10000000000000000\r\n"), 400);
  // Sixteen digits are fine syntactically; this one is just too large for the body limit.
  EXPECT_EQ(ErrorOf("ffffffffffffffff\r\n"), 413);
  EXPECT_EQ(DecodeAll("0000000000000001\r\na\r\n0\r\n\r\n").status, Status::kDone);
}

TEST(ChunkedDecoderTest, ChunkExtensionsAreAcceptedAndIgnored) {
  const Decoded d = DecodeAll(
      "3;name\r\nabc\r\n"
      "3 ; name = value;other=\"quoted \\\" ;=\"\r\ndef\r\n"
      "0;last=1\r\n\r\n");
  ASSERT_EQ(d.status, Status::kDone);
  EXPECT_EQ(d.body, "abcdef");
}

TEST(ChunkedDecoderTest, MalformedChunkExtensionIs400) {
  EXPECT_EQ(ErrorOf("3;\r\nabc\r\n0\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("3;a=\r\nabc\r\n0\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("3;a=\"open\r\nabc\r\n0\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("3;a b\r\nabc\r\n0\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("3;a\x01\r\nabc\r\n0\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("3junk\r\nabc\r\n0\r\n\r\n"), 400);
}

TEST(ChunkedDecoderTest, OverlongChunkSizeLineIs400) {
  const std::string ext(ChunkedDecoder::kMaxChunkLine, 'x');
  EXPECT_EQ(ErrorOf("3;" + ext), 400);  // reported before the line ends
  const std::string fits(ChunkedDecoder::kMaxChunkLine - 2, 'x');
  EXPECT_EQ(ErrorOf("3;" + fits + "\r\nabc\r\n0\r\n\r\n"), 0);
}

TEST(ChunkedDecoderTest, ChunkDataMustBeFollowedByCrlf) {
  EXPECT_EQ(ErrorOf("3\r\nabcX\r\n0\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("3\r\nabc\rX0\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("3\r\nabc\n0\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("3\r\nabcd\r\n0\r\n\r\n"), 400);
}

TEST(ChunkedDecoderTest, BareLfInChunkSizeLineIs400) {
  EXPECT_EQ(ErrorOf("3\nabc\r\n0\r\n\r\n"), 400);
}

TEST(ChunkedDecoderTest, TrailerFieldsAreValidatedAndIgnored) {
  const Decoded d = DecodeAll("1\r\na\r\n0\r\nX-Checksum: 1234\r\nX-Other:  x \r\n\r\n");
  ASSERT_EQ(d.status, Status::kDone);
  EXPECT_EQ(d.body, "a");
  EXPECT_EQ(ErrorOf("0\r\nbad trailer\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("0\r\nX : y\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("0\r\n folded\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("0\r\nX: a\x01\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("0\r\nX: y\n\r\n"), 400);
}

TEST(ChunkedDecoderTest, TrailerSectionOverLimitIs431) {
  ChunkedDecoder::Limits limits;
  limits.max_trailer_bytes = 16;
  EXPECT_EQ(ErrorOf("0\r\nX: 123456789\r\n\r\n", limits), 0);  // (12 + 2) + 2 bytes
  EXPECT_EQ(ErrorOf("0\r\nX: 1234567890\r\n\r\n", limits), 431);
  EXPECT_EQ(ErrorOf("0\r\nX: 1234567890123456", limits), 431);  // before the line ends
}

TEST(ChunkedDecoderTest, DecodedTotalOverMaxBodyIs413) {
  ChunkedDecoder::Limits limits;
  limits.max_body = 5;
  EXPECT_EQ(ErrorOf("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", limits), 0);
  // Reported from the chunk-size alone, before its data arrives.
  EXPECT_EQ(ErrorOf("3\r\nabc\r\n3\r\n", limits), 413);
}

TEST(ChunkedDecoderTest, ResumesAcrossGrowingInputAtNewAddresses) {
  const std::string input = "4;e=1\r\nWiki\r\n5\r\npedia\r\n0\r\nT: v\r\n\r\n";
  ChunkedDecoder decoder({});
  decoder.Reset(0);
  for (size_t n = 0; n < input.size(); ++n) {
    const std::string prefix = input.substr(0, n);  // a fresh copy each time
    ASSERT_EQ(decoder.Decode(prefix), Status::kNeedMore) << n;
  }
  ASSERT_EQ(decoder.Decode(input), Status::kDone);
  EXPECT_EQ(decoder.body(), "Wikipedia");
  EXPECT_EQ(decoder.end(), input.size());
}

TEST(ChunkedDecoderTest, BytesNeededCoversTheRestOfAChunk) {
  ChunkedDecoder decoder({});
  decoder.Reset(0);
  ASSERT_EQ(decoder.Decode("a\r\n01"), Status::kNeedMore);
  EXPECT_EQ(decoder.bytes_needed(), 3u + 10u + 1u);
  ASSERT_EQ(decoder.Decode("a\r\n0123456789"), Status::kNeedMore);
  EXPECT_EQ(decoder.bytes_needed(), 14u);
}

TEST(ChunkedDecoderTest, ResetDropsThePreviousBody) {
  ChunkedDecoder decoder({});
  decoder.Reset(0);
  const std::string input = "100000\r\n" + std::string(1 << 20, 'x') + "\r\n0\r\n\r\n";
  ASSERT_EQ(decoder.Decode(input), Status::kDone);
  decoder.Reset(0);
  EXPECT_TRUE(decoder.body().empty());
  ASSERT_EQ(decoder.Decode("1\r\ny\r\n0\r\n\r\n"), Status::kDone);
  EXPECT_EQ(decoder.body(), "y");
}

}  // namespace
}  // namespace ringside::net
