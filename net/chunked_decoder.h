// chunked_decoder.h: a streaming decoder of the chunked transfer coding of a request body
// (RFC 9112 7.1), strict like the request parser that drives it.
//
// It never copies chunk data: each call hands back at most one piece of decoded data as a
// view into its input, and says how many input bytes the caller must drop now (`consumed`:
// framing fully decoded, plus the data handed back). The next call's input starts at the
// first byte not consumed, with whatever arrived since appended (possibly at another
// address: the decoder keeps offsets, never pointers). A partial chunk-size or trailer line
// is the only thing the caller has to keep between calls, so a connection holds at most
// about kMaxChunkLine (or max_trailer_bytes) raw bytes however large or finely chunked the
// body is, and each input byte is examined O(1) times in total however the input is split.
//
//   ChunkedDecoder decoder(limits);
//   decoder.Reset();                           // a body starts at the next input's first byte
//   for (;;) {
//     const ChunkedDecoder::Result r = decoder.Decode(unconsumed);
//     if (r.status == ChunkedDecoder::Status::kError) { Reply(decoder.error_status()); break; }
//     if (r.status == ChunkedDecoder::Status::kData) Use(r.data);  // before dropping it
//     Drop(r.consumed);
//     if (r.status == ChunkedDecoder::Status::kDone) break;  // what follows is not the body
//     if (r.status == ChunkedDecoder::Status::kNeedMore) WaitFor(decoder.bytes_needed());
//   }
//
// Errors: 400 for any syntax error (chunk-size not 1 to 16 hex digits, a malformed chunk
// extension or a chunk-size line over kMaxChunkLine bytes, chunk data not followed by
// exactly CRLF, a malformed trailer field, a bare CR or LF); 413 as soon as a chunk-size
// takes the decoded total over max_body; 431 when the trailer section exceeds
// max_trailer_bytes, or when the chunk overhead exceeds max_overhead. The chunk overhead of
// a body is the bytes of its chunk-size lines beyond their hex digits (chunk extensions,
// with the whitespace before them) plus its trailer section (final CRLF included); it is
// checked as each chunk-size or trailer line ends (a trailer line: as soon as it is too
// long, even before it ends). Chunk extensions and trailer fields are checked, then ignored.
//
// Thread-safety: thread-compatible.
#ifndef RINGSIDE_NET_CHUNKED_DECODER_H_
#define RINGSIDE_NET_CHUNKED_DECODER_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ringside/net/http_syntax.h"

namespace ringside::net {

class ChunkedDecoder {
 public:
  // Bounds a chunk-size line (size and extensions, without CRLF): extensions are ignored,
  // so there is no reason to buffer many bytes of them.
  static constexpr size_t kMaxChunkLine = 1024;

  struct Limits {
    size_t max_body = 8 << 20;         // 413 above: the decoded size
    size_t max_trailer_bytes = 16384;  // 431 above: the trailer section, final CRLF included
    size_t max_overhead = 64 << 10;    // 431 above: extensions plus trailer section
  };

  enum class Status {
    kNeedMore,  // nothing more to do with this input (but drop `consumed` bytes of framing)
    kData,      // `data` holds decoded bytes: the last bytes of the `consumed` ones
    kDone,      // the body ended with the `consumed` bytes; the input goes on after them
    kError,     // see error_status(); sticky until Reset
  };

  struct Result {
    Status status = Status::kNeedMore;
    // Bytes at the start of the input to drop before the next call: all of them decoded.
    size_t consumed = 0;
    // kData only: a non-empty view into the input, ending at input[consumed - 1].
    std::string_view data;
  };

  explicit ChunkedDecoder(Limits limits);

  // Starts a new body, whose first byte will be the first byte of the next input.
  void Reset();

  // Decodes from the start of `input`: the bytes the previous call left unconsumed (the
  // same bytes, maybe moved), with more appended, or after Reset the bytes of a new body.
  // After kDone or kError further calls return the same status with consumed 0.
  Result Decode(std::string_view input);

  // After kError: 400, 413 or 431.
  int error_status() const { return error_status_; }

  // After kNeedMore: the size of the next input (after dropping `consumed`) below which
  // Decode would look at nothing new and return kNeedMore with consumed 0. Smaller calls
  // are harmless and cheap. 0 after the other statuses.
  size_t bytes_needed() const { return bytes_needed_; }

  // The decoded bytes handed out so far (kData) for this body.
  uint64_t decoded() const { return decoded_; }

  // The chunk overhead counted so far for this body (see the header comment).
  size_t overhead() const { return overhead_; }

 private:
  enum class State { kSizeLine, kData, kDataCrlf, kTrailer, kDone, kError };

  // Ends a call that consumed `consumed` bytes of `input` and needs more.
  Result NeedMore(std::string_view input, size_t consumed);
  Result Fail(int status);
  // Starts the chunk a chunk-size line announces; false (after Fail) if the line is bad.
  bool OnSizeLine(std::string_view line);

  Limits limits_;
  State state_ = State::kSizeLine;
  CrlfLineScanner lines_;   // kSizeLine and kTrailer; offsets relative to the current input
  uint64_t remaining_ = 0;  // data bytes of the current chunk not yet handed out
  uint64_t announced_ = 0;  // the sum of the chunk sizes seen so far
  uint64_t decoded_ = 0;
  size_t overhead_ = 0;
  size_t trailer_bytes_ = 0;
  size_t bytes_needed_ = 0;
  int error_status_ = 0;
};

}  // namespace ringside::net

#endif  // RINGSIDE_NET_CHUNKED_DECODER_H_
