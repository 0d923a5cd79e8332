// chunked_decoder.h: a resumable decoder of the chunked transfer coding of a request body
// (RFC 9112 7.1), strict like the request parser that drives it.
//
// It reads the same growing input as the parser: the bytes from the start of the request,
// with more appended between calls (possibly at a new address). It keeps the offset it has
// reached and appends chunk data to its own buffer, so each input byte is examined once in
// total however small the chunks and the increments are.
//
//   ChunkedDecoder decoder(limits);
//   decoder.Reset(body_offset);          // the chunked body starts here in the input
//   switch (decoder.Decode(input)) {     // call again with a longer input on kNeedMore
//     case ChunkedDecoder::Status::kDone: Use(decoder.body()); Drop(decoder.end()); break;
//     case ChunkedDecoder::Status::kError: Reply(decoder.error_status()); break;
//     case ChunkedDecoder::Status::kNeedMore: break;
//   }
//
// Errors: 400 for any syntax error (chunk-size not 1 to 16 hex digits, a malformed chunk
// extension or a chunk-size line over kMaxChunkLine bytes, chunk data not followed by
// exactly CRLF, a malformed trailer field, a bare CR or LF); 413 as soon as a chunk-size
// takes the decoded total over max_body; 431 when the trailer section exceeds
// max_trailer_bytes. Chunk extensions and trailer fields are checked, then ignored.
//
// Thread-safety: thread-compatible.
#ifndef RINGSIDE_NET_CHUNKED_DECODER_H_
#define RINGSIDE_NET_CHUNKED_DECODER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "net/http_syntax.h"

namespace ringside::net {

class ChunkedDecoder {
 public:
  // Bounds a chunk-size line (size and extensions, without CRLF): extensions are ignored,
  // so there is no reason to buffer many bytes of them.
  static constexpr size_t kMaxChunkLine = 1024;

  struct Limits {
    size_t max_body = 8 << 20;
    size_t max_trailer_bytes = 16384;  // the whole trailer section, final CRLF included
  };

  enum class Status { kNeedMore, kDone, kError };

  explicit ChunkedDecoder(Limits limits);

  // Starts a new body at `offset` of the input and drops the previous decoded body. A
  // buffer grown by a large body is freed rather than kept for an idle connection.
  void Reset(size_t offset);

  // Decodes what `input` holds beyond the previous call. After kDone or kError further
  // calls return the same status.
  Status Decode(std::string_view input);

  // The decoded bytes so far; after kDone the whole body. Valid until Reset.
  std::string_view body() const { return body_; }

  // After kDone: the offset just past the body's final CRLF.
  size_t end() const { return end_; }

  // After kError: 400, 413 or 431.
  int error_status() const { return error_status_; }

  // The input size below which Decode can neither finish nor fail: after kNeedMore, one
  // more byte, or the rest of the current chunk's data (which is only copied, not parsed).
  size_t bytes_needed() const { return bytes_needed_; }

 private:
  enum class State { kSizeLine, kData, kDataCrlf, kTrailer, kDone, kError };

  Status NeedMore(std::string_view input);
  Status Fail(int status);
  // Starts the chunk a chunk-size line announces; false (after Fail) if the line is bad.
  bool OnSizeLine(std::string_view line);

  Limits limits_;
  State state_ = State::kSizeLine;
  CrlfLineScanner lines_;
  size_t pos_ = 0;         // next input offset to decode in kData and kDataCrlf
  uint64_t remaining_ = 0;  // data bytes of the current chunk not yet copied
  size_t trailer_start_ = 0;
  size_t end_ = 0;
  size_t bytes_needed_ = 0;
  int error_status_ = 0;
  std::string body_;
};

}  // namespace ringside::net

#endif  // RINGSIDE_NET_CHUNKED_DECODER_H_
