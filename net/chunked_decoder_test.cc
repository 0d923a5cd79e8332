#include "ringside/net/chunked_decoder.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "ringside/net/http_parse_test_util.h"

namespace ringside::net {
namespace {

using Status = ChunkedDecoder::Status;

// Decodes `input` read whole, then byte by byte, then in random reads of 1 to 7 bytes; the
// three must agree (the body, the status, the bytes consumed) and keep to the contract.
struct Decoded {
  Status status;
  int error_status;
  std::string body;
  size_t end;  // after kDone: the body's raw size
};

Decoded DecodeAll(std::string_view input, ChunkedDecoder::Limits limits = {}) {
  ChunkedDecoder decoder(limits);
  const DecodeTrace whole = DriveDecoder(decoder, input, limits);
  EXPECT_EQ(whole.violation, "");
  const DecodeTrace bytes = DriveDecoder(decoder, input, limits, {.next_size = [] { return 1; }});
  EXPECT_EQ(bytes.violation, "");
  EXPECT_TRUE(bytes.SameOutcome(whole)) << bytes.body << " vs " << whole.body;
  std::mt19937 random(static_cast<uint32_t>(input.size()));
  const DecodeTrace pieces = DriveDecoder(
      decoder, input, limits,
      {.next_size = [&] { return random() % 7 + 1; }, .move_buffer = [&] { return true; }});
  EXPECT_EQ(pieces.violation, "");
  EXPECT_TRUE(pieces.SameOutcome(whole));
  return {whole.status, whole.error_status, whole.body, whole.consumed};
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

TEST(ChunkedDecoderTest, HandsOutDataAsViewsAndConsumesFramingOnNeedMore) {
  ChunkedDecoder decoder({});
  decoder.Reset();
  std::string input = "5;e=1\r\nhel";
  ChunkedDecoder::Result r = decoder.Decode(input);
  ASSERT_EQ(r.status, Status::kData);
  EXPECT_EQ(r.consumed, input.size());
  EXPECT_EQ(r.data, "hel");
  EXPECT_EQ(r.data.data(), input.data() + 7);  // a view, not a copy
  input = "lo\r\n2\r\n";  // what arrived next
  r = decoder.Decode(input);
  ASSERT_EQ(r.status, Status::kData);
  EXPECT_EQ(r.consumed, 2u);
  EXPECT_EQ(r.data, "lo");
  input.erase(0, r.consumed);
  // The CRLF and the next chunk-size line are decoded and dropped before the data arrives.
  r = decoder.Decode(input);
  ASSERT_EQ(r.status, Status::kNeedMore);
  EXPECT_EQ(r.consumed, input.size());
  EXPECT_EQ(decoder.bytes_needed(), 1u);
  input = "ab\r\n0\r\n\r\nNEXT";
  r = decoder.Decode(input);
  ASSERT_EQ(r.status, Status::kData);
  EXPECT_EQ(r.data, "ab");
  input.erase(0, r.consumed);
  r = decoder.Decode(input);
  ASSERT_EQ(r.status, Status::kDone);
  EXPECT_EQ(r.consumed, input.size() - 4);
  EXPECT_EQ(decoder.decoded(), 7u);
  // Done stays done, consuming nothing.
  r = decoder.Decode("NEXT");
  EXPECT_EQ(r.status, Status::kDone);
  EXPECT_EQ(r.consumed, 0u);
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
  const std::string stream = "4;e=1\r\nWiki\r\n5\r\npedia\r\n0\r\nT: v\r\n\r\n";
  ChunkedDecoder decoder({});
  decoder.Reset();
  std::string body;
  size_t start = 0;  // of the unconsumed bytes
  Status status = Status::kNeedMore;
  for (size_t end = 0; end <= stream.size() && status != Status::kDone; ++end) {
    const std::string input = stream.substr(start, end - start);  // a fresh copy each time
    const ChunkedDecoder::Result r = decoder.Decode(input);
    status = r.status;
    ASSERT_NE(status, Status::kError) << end;
    if (status == Status::kData) body += r.data;
    start += r.consumed;
  }
  ASSERT_EQ(status, Status::kDone);
  EXPECT_EQ(body, "Wikipedia");
  EXPECT_EQ(start, stream.size());
}

TEST(ChunkedDecoderTest, BytesNeededIsOneMoreThanWhatIsLeft) {
  ChunkedDecoder decoder({});
  decoder.Reset();
  ChunkedDecoder::Result r = decoder.Decode("a;x");  // a partial chunk-size line is kept
  ASSERT_EQ(r.status, Status::kNeedMore);
  EXPECT_EQ(r.consumed, 0u);
  EXPECT_EQ(decoder.bytes_needed(), 4u);
  EXPECT_EQ(decoder.Decode("a;x").status, Status::kNeedMore);  // below: nothing to do
  r = decoder.Decode("a;x\r\n01");
  ASSERT_EQ(r.status, Status::kData);
  EXPECT_EQ(decoder.bytes_needed(), 0u);
  r = decoder.Decode("");
  ASSERT_EQ(r.status, Status::kNeedMore);
  EXPECT_EQ(decoder.bytes_needed(), 1u);
  r = decoder.Decode("23456789\r");
  ASSERT_EQ(r.status, Status::kData);
  EXPECT_EQ(r.consumed, 8u);
  r = decoder.Decode("\r");  // half a CRLF stays with the caller
  ASSERT_EQ(r.status, Status::kNeedMore);
  EXPECT_EQ(r.consumed, 0u);
  EXPECT_EQ(decoder.bytes_needed(), 2u);
  r = decoder.Decode("\r\n");
  ASSERT_EQ(r.status, Status::kNeedMore);
  EXPECT_EQ(r.consumed, 2u);
}

TEST(ChunkedDecoderTest, ALargeChunkIsOneViewIntoTheInput) {
  ChunkedDecoder decoder({});
  decoder.Reset();
  const std::string input = "100000\r\n" + std::string(1 << 20, 'x') + "\r\n0\r\n\r\n";
  const ChunkedDecoder::Result r = decoder.Decode(input);
  ASSERT_EQ(r.status, Status::kData);
  EXPECT_EQ(r.data.data(), input.data() + 8);
  EXPECT_EQ(r.data.size(), size_t{1} << 20);
  EXPECT_EQ(decoder.Decode(std::string_view(input).substr(r.consumed)).status, Status::kDone);
  decoder.Reset();
  EXPECT_EQ(decoder.decoded(), 0u);
  EXPECT_EQ(DecodeAll("1\r\ny\r\n0\r\n\r\n").body, "y");
}

// ---- Chunk overhead: extensions and trailer section ----

TEST(ChunkedDecoderTest, ExtensionsAndTrailersOverMaxOverheadAre431) {
  ChunkedDecoder::Limits limits;
  limits.max_overhead = 10;
  // ";abcdefg" (8) plus the final CRLF (2) fit.
  EXPECT_EQ(ErrorOf("1;abcdefg\r\nx\r\n0\r\n\r\n", limits), 0);
  EXPECT_EQ(ErrorOf("1;abcdefgh\r\nx\r\n0\r\n\r\n", limits), 431);
  // Counted over the whole body, not per chunk.
  EXPECT_EQ(ErrorOf("1;abc\r\nx\r\n1;abc\r\ny\r\n0\r\n\r\n", limits), 0);
  EXPECT_EQ(ErrorOf("1;abc\r\nx\r\n1;abc\r\ny\r\n0;a\r\n\r\n", limits), 431);
  // Whitespace before ';' counts too; the hex digits do not.
  EXPECT_EQ(ErrorOf("0000000000000001 ;abcdefg\r\nx\r\n0\r\n\r\n", limits), 431);
  EXPECT_EQ(ErrorOf("0000000000000001;abcdefg\r\nx\r\n0\r\n\r\n", limits), 0);
  // A chunk-size line over the limit is refused when it ends, before its data.
  EXPECT_EQ(ErrorOf("1;" + std::string(20, 'a') + "\r\n", limits), 431);
  // Syntax errors keep their 400.
  EXPECT_EQ(ErrorOf("1;" + std::string(20, 'a') + " \r\n", limits), 400);
}

TEST(ChunkedDecoderTest, TrailerSectionCountsTowardsMaxOverhead) {
  ChunkedDecoder::Limits limits;
  limits.max_overhead = 16;
  EXPECT_EQ(ErrorOf("0\r\nX: 123456789\r\n\r\n", limits), 0);  // (12 + 2) + 2 bytes
  EXPECT_EQ(ErrorOf("0\r\nX: 1234567890\r\n\r\n", limits), 431);
  EXPECT_EQ(ErrorOf("0\r\nX: 1234567890123456", limits), 431);  // before the line ends
  EXPECT_EQ(ErrorOf("1;ab\r\nx\r\n0\r\nX: 123456789\r\n\r\n", limits), 431);
}

}  // namespace
}  // namespace ringside::net
