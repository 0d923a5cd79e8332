// http_parser_fuzzer.cc: libFuzzer target for the streaming HttpParser and ChunkedDecoder.
//
// Input: one options byte, one fragmentation seed byte, then the bytes a client sends.
//   options bit 0: tiny limits, so that 413, 414 and 431 are reachable in short inputs
//   options bit 1: feed the bytes to a ChunkedDecoder alone instead of the request parser
//   options bit 2: call Parse/Decode after every read, even below bytes_needed()
//   options bit 3: a tiny max_chunk_overhead (24 bytes), so that its 431 is reachable
//
// The stream is parsed twice with the same object, through the driver of
// net/http_parse_test_util.h (a server's read loop that drops `consumed` bytes after every
// call and checks every result against the contract in http_parser.h / chunked_decoder.h):
// once read whole, then, after Reset, in reads whose sizes come from the seed, with the
// caller's buffer sometimes moved to a new allocation (ASan catches any pointer kept).
// Both must see the same requests (heads, bodies, raw bytes per request) and end the same
// way. Beyond that, what the caller keeps between reads must stay bounded by the limits,
// whatever the body: that is the point of streaming. And a head skipped as a repeat of the
// memorized one (SkipRepeatedHead) must be exactly the head Parse finds there, bodiless.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ringside/net/chunked_decoder.h"
#include "ringside/net/http_parse_test_util.h"
#include "ringside/net/http_parser.h"
#include "ringside/tools/fuzz/fuzz_check.h"

namespace ringside::net {
namespace {

constexpr uint8_t kTinyLimits = 1 << 0;
constexpr uint8_t kDecoderOnly = 1 << 1;
constexpr uint8_t kIgnoreBytesNeeded = 1 << 2;
constexpr uint8_t kTinyOverhead = 1 << 3;

// Room for a few bytes beyond the limits: the CRLF of the request line, a pending CR, the
// leading empty lines a head may start with.
constexpr size_t kSlack = 16;

HttpLimits LimitsFor(uint8_t options) {
  HttpLimits limits;
  if ((options & kTinyLimits) != 0) {
    limits = {.max_request_line = 40, .max_header_bytes = 96, .max_headers = 4, .max_body = 48};
  }
  if ((options & kTinyOverhead) != 0) limits.max_chunk_overhead = 24;
  return limits;
}

// Fragment sizes for a seed: mostly small (1 to 16 bytes) so that every state of the
// parsers sees an input end, sometimes up to 1 KiB.
class Fragmenter {
 public:
  explicit Fragmenter(uint8_t seed) : state_(0x9e3779b97f4a7c15ull * (seed + 1)) {}

  size_t NextSize() {
    const uint64_t r = Next();
    return 1 + ((r & 3) == 0 ? (r >> 8) % 1024 : (r >> 8) % 16);
  }
  // True once in `n` calls on average.
  bool OneIn(int n) { return Next() % n == 0; }

 private:
  uint64_t Next() {  // xorshift64*
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545f4914f6cdd1dull;
  }
  uint64_t state_;
};

void CheckNoViolation(const std::string& violation, const char* which) {
  if (violation.empty()) return;
  std::fprintf(stderr, "%s: contract violated: %s\n", which, violation.c_str());
  std::abort();
}

Feed FragmentedFeed(uint8_t options, Fragmenter& fragmenter) {
  return {.next_size = [&fragmenter] { return fragmenter.NextSize(); },
          .ignore_bytes_needed = (options & kIgnoreBytesNeeded) != 0,
          .move_buffer = [&fragmenter] { return fragmenter.OneIn(8); },
          .record_steps = false};
}

// Parses the stream's first head twice (the second time it is the memo's), then skips its
// repeats with a third parser: each skip takes what Parse takes, and only a bodiless head.
void CheckRepeatSkip(std::string_view stream, const HttpLimits& limits) {
  HttpRequest request;
  HttpParser first(limits);
  const ParseResult head = first.Parse(stream, &request);
  if (head.status != ParseStatus::kHead) return;
  HttpParser second(limits);
  const ParseResult again = second.Parse(stream, &request);
  FUZZ_CHECK(again.status == ParseStatus::kHead && again.consumed == head.consumed);
  const uint64_t generation = second.recalled_generation();  // 0: too large to memorize
  const bool skippable = generation != 0 && !request.has_body();
  // The stream's head, then as many copies of it as the stream has bytes for.
  std::string repeated(stream.substr(0, head.consumed));
  while (repeated.size() + head.consumed <= stream.size()) {
    repeated.append(stream.substr(0, head.consumed));
  }
  HttpParser third(limits);
  size_t bytes = 0;
  const size_t heads = third.SkipRepeatedHeads(repeated, generation, SIZE_MAX, &bytes);
  FUZZ_CHECK(heads == (skippable ? repeated.size() / head.consumed : 0));
  FUZZ_CHECK(bytes == heads * head.consumed);
  FUZZ_CHECK(third.at_request_start());
}

void FuzzParser(std::string_view stream, uint8_t options, Fragmenter& fragmenter) {
  const HttpLimits limits = LimitsFor(options);
  HttpParser parser(limits);
  const ParseTrace whole =
      DriveParser(parser, stream, limits,
                  {.ignore_bytes_needed = (options & kIgnoreBytesNeeded) != 0,
                   .record_steps = false});
  CheckNoViolation(whole.violation, "whole");
  parser.Reset();
  const ParseTrace fragmented =
      DriveParser(parser, stream, limits, FragmentedFeed(options, fragmenter));
  CheckNoViolation(fragmented.violation, "fragmented");
  FUZZ_CHECK(whole.SameOutcome(fragmented));
  // Between reads the caller keeps a partial head or a partial chunk-size or trailer line,
  // never a body, however large or finely chunked.
  const size_t bound = limits.max_request_line + limits.max_header_bytes +
                       ChunkedDecoder::kMaxChunkLine + kSlack;
  FUZZ_CHECK(whole.max_kept <= bound);
  FUZZ_CHECK(fragmented.max_kept <= bound);
  // send_continue comes at most once per request (only on kHead), and a whole stream has
  // every body byte there already.
  FUZZ_CHECK(fragmented.continues <= static_cast<int>(fragmented.requests.size()));
  for (const ParsedRequest& request : fragmented.requests) {
    FUZZ_CHECK(request.body.size() <= limits.max_body);
  }
  CheckRepeatSkip(stream, limits);
}

void FuzzDecoder(std::string_view stream, uint8_t options, Fragmenter& fragmenter) {
  const HttpLimits http = LimitsFor(options);
  const ChunkedDecoder::Limits limits{.max_body = http.max_body,
                                      .max_trailer_bytes = http.max_header_bytes,
                                      .max_overhead = http.max_chunk_overhead};
  ChunkedDecoder decoder(limits);
  const DecodeTrace whole = DriveDecoder(
      decoder, stream, limits, {.ignore_bytes_needed = (options & kIgnoreBytesNeeded) != 0});
  CheckNoViolation(whole.violation, "whole");
  const DecodeTrace fragmented =
      DriveDecoder(decoder, stream, limits, FragmentedFeed(options, fragmenter));
  CheckNoViolation(fragmented.violation, "fragmented");
  FUZZ_CHECK(whole.SameOutcome(fragmented));
  const size_t bound = std::max(ChunkedDecoder::kMaxChunkLine, limits.max_trailer_bytes) + kSlack;
  FUZZ_CHECK(whole.max_kept <= bound);
  FUZZ_CHECK(fragmented.max_kept <= bound);
}

}  // namespace
}  // namespace ringside::net

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t options = data[0];
  ringside::net::Fragmenter fragmenter(data[1]);
  const std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);
  if ((options & ringside::net::kDecoderOnly) != 0) {
    ringside::net::FuzzDecoder(stream, options, fragmenter);
  } else {
    ringside::net::FuzzParser(stream, options, fragmenter);
  }
  return 0;
}
