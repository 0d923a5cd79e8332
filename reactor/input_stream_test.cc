#include "ringside/reactor/input_stream.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "ringside/buffers/counting_sink.h"
#include "ringside/buffers/release_word.h"

namespace ringside {
namespace {


uint64_t Word(uint16_t bid) { return ReleaseWord{bid, 1, 1}.Pack(); }

TEST(InputStreamTest, ReceivesIntoOneBufferWidenTheViewWithoutCopying) {
  CountingSink sink;
  char buffer[64] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  InputStream stream;
  stream.Append(BufferLease(&sink, Word(0), buffer, 10));
  stream.Append(BufferLease(&sink, Word(0), buffer + 10, 17));
  EXPECT_EQ(stream.pending(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(stream.pending().data(), buffer);
  EXPECT_EQ(stream.copied_bytes(), 0u);
  EXPECT_EQ(sink.released[Word(0)], 1) << "the second lease is folded into the first";
  stream.Consume(27);
  EXPECT_TRUE(stream.empty());
  EXPECT_EQ(sink.released[Word(0)], 2);
}

TEST(InputStreamTest, AdjacentMemoryOfAnotherBufferIsNotMerged) {
  CountingSink sink;
  char slab[32] = "aaaabbbb";
  InputStream stream;
  stream.Append(BufferLease(&sink, Word(0), slab, 4));
  stream.Append(BufferLease(&sink, Word(1), slab + 4, 4));
  EXPECT_EQ(stream.pending(), "aaaabbbb");
  EXPECT_NE(stream.pending().data(), slab) << "bid 1 must be copied, not viewed via bid 0";
  EXPECT_EQ(sink.released[Word(0)], 1);
  EXPECT_TRUE(stream.holds_buffer());
}

TEST(InputStreamTest, StraddlingBytesAreCopiedThenViewedInPlaceAgain) {
  CountingSink sink;
  char first[8] = "abcdefg";
  char second[16] = "hijklmnopqrstu";
  InputStream stream;
  stream.Append(BufferLease(&sink, Word(0), first, 7));
  stream.Consume(3);
  stream.Append(BufferLease(&sink, Word(1), second, 5));
  EXPECT_EQ(stream.pending(), "defghijkl");
  EXPECT_EQ(stream.copied_bytes(), 4u + 5u);
  stream.Append(BufferLease(&sink, Word(1), second + 5, 4));
  EXPECT_EQ(stream.pending(), "defghijklmnop");
  stream.Consume(5);  // past the straddling prefix: back to a view of `second`
  EXPECT_EQ(stream.pending(), "ijklmnop");
  EXPECT_EQ(stream.pending().data(), second + 1);
  stream.Append(BufferLease(&sink, Word(1), second + 9, 3));
  EXPECT_EQ(stream.pending(), "ijklmnopqrs");
  EXPECT_EQ(stream.pending().data(), second + 1);
  stream.Clear();
  EXPECT_EQ(sink.released[Word(0)], 1);
  EXPECT_EQ(sink.released[Word(1)], 3);
}

TEST(InputStreamTest, LendSharesTheBufferWithoutCopying) {
  CountingSink sink;
  char buffer[64] = "HEADbody-bytesNEXT";
  InputStream stream;
  stream.Append(BufferLease(&sink, Word(3), buffer, 18));
  BufferLease head = stream.Lend(4);
  stream.Consume(0);
  BufferLease body = stream.Lend(10);
  EXPECT_EQ(head.view(), "HEAD");
  EXPECT_EQ(head.data(), buffer);
  EXPECT_EQ(body.view(), "body-bytes");
  EXPECT_EQ(body.data(), buffer + 4);
  EXPECT_EQ(stream.pending(), "NEXT");
  EXPECT_EQ(stream.copied_bytes(), 0u);
  EXPECT_EQ(sink.retained[Word(3)], 2);
  stream.Consume(4);
  EXPECT_EQ(sink.released[Word(3)], 1) << "the stream let go; the two lent views still hold";
  head.Reset();
  body.Reset();
  EXPECT_EQ(sink.released[Word(3)], 3);
}

TEST(InputStreamTest, LendOfJoinedBytesCopiesThem) {
  CountingSink sink;
  char first[8] = "abcd";
  char second[8] = "efgh";
  InputStream stream;
  stream.Append(BufferLease(&sink, Word(0), first, 4));
  stream.Append(BufferLease(&sink, Word(1), second, 4));
  BufferLease joined = stream.Lend(6);
  EXPECT_EQ(joined.view(), "abcdef");
  EXPECT_EQ(sink.retained[Word(0)] + sink.retained[Word(1)], 0);
  EXPECT_EQ(stream.pending(), "gh");
  stream.Clear();
  EXPECT_EQ(joined.view(), "abcdef") << "the copy outlives the stream's buffers";
}

TEST(InputStreamTest, LendOfAllJoinedBytesHandsOverTheCopyWithoutCopyingAgain) {
  CountingSink sink;
  char first[8] = "abcd";
  char second[8] = "efgh";
  InputStream stream;
  stream.Append(BufferLease(&sink, Word(0), first, 4));
  stream.Append(BufferLease(&sink, Word(1), second, 4));
  const uint64_t joined = stream.copied_bytes();
  BufferLease all = stream.Lend(8);
  EXPECT_EQ(all.view(), "abcdefgh");
  EXPECT_EQ(stream.copied_bytes(), joined) << "lent as it was joined";
  EXPECT_TRUE(stream.empty());
  EXPECT_EQ(sink.Count(Word(0)) + sink.Count(Word(1)), 2) << "both buffers went back";
  // The stream works on: a new receive starts a fresh view.
  char third[8] = "ijkl";
  stream.Append(BufferLease(&sink, Word(2), third, 4));
  EXPECT_EQ(stream.pending(), "ijkl");
  EXPECT_EQ(all.view(), "abcdefgh");
}

TEST(InputStreamTest, WithoutPinningLendCopiesAndUnpinReleasesTheBuffer) {
  CountingSink sink;
  char buffer[32] = "GET / HTTP/1.1\r\nHo";
  InputStream stream;
  stream.set_pin_buffers(false);
  stream.Append(BufferLease(&sink, Word(5), buffer, 18));
  BufferLease line = stream.Lend(4);
  EXPECT_NE(line.data(), buffer);
  EXPECT_EQ(line.view(), "GET ");
  EXPECT_EQ(sink.retained[Word(5)], 0);
  stream.Unpin();
  EXPECT_EQ(sink.released[Word(5)], 1) << "the shared buffer goes back at once";
  EXPECT_EQ(stream.pending(), "/ HTTP/1.1\r\nHo");
  // More bytes after an Unpin join the copy and keep their own buffer until consumed.
  char more[8] = "st: a";
  stream.Append(BufferLease(&sink, Word(6), more, 5));
  EXPECT_EQ(stream.pending(), "/ HTTP/1.1\r\nHost: a");
  stream.Unpin();
  EXPECT_EQ(sink.released[Word(6)], 1);
  stream.Consume(stream.size());
  EXPECT_TRUE(stream.empty());
}

}  // namespace
}  // namespace ringside
