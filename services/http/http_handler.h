// http_handler.h: HTTP/1.1 over a reactor connection — parse in place, answer, pipeline.
//
// Inline (no WorkerPool), the handler streams: it parses heads in place, takes the body of
// a request as it arrives (net::HttpParser hands it out in segments) and drops the raw
// bytes at once, so no request is ever held whole. A body the app reads is kept as leases
// on the receive buffers (BufferLease), up to kLeasedBodyBytes a request, and copied beyond
// that (a connection's ring must keep buffers for the kernel); a body the app ignores is
// dropped as it arrives. POST /echo answers with the body's own leases, so an echo copies
// none of its bytes; an echo whose Content-Length is over kLeasedBodyBytes starts its
// response at the head and sends each segment as it arrives. A malformed request gets its
// error response and the connection closes; nothing after it is processed.
//
// With a WorkerPool, the app runs on a worker instead: the handler finds the complete
// requests it has (parsing them, not answering), lends their bytes to the connection's
// worker as one lease (zero-copy when they lie in one receive buffer), pauses the
// connection's input and posts the batch; the worker parses the batch again, answers into
// one string, releases the lease from its own thread (the release travels on the reactor's
// release queue) and posts the responses back; then input resumes. Order is kept per
// connection. Worker mode needs whole requests in the input: a request whose raw bytes
// exceed MaxBatchedRequestBytes() gets 413, and the reactor's input high-water mark must be
// at least that (the server sets it so).
//
// Inline, a repeated request is answered without a parse: once a bodiless keep-alive
// request's head was recalled from the parser's memo (net::HttpParser), its response is
// kept per reactor thread (up to kMaxRepeatedAnswerBytes) with the memo entry; the next
// request whose bytes are that head again, checked by the same one compare, gets the kept
// response while its Date is still current. HttpApp's responses are a function of the
// request and the Date, so the bytes are those Handle would format. Under pipelined load
// this halved the user-space instructions per request (docs/BENCHMARKS.md).
//
// One connection timer (ConnectionIo::ArmTimer) serves both read timeouts: while a head is
// arriving, the header timeout from its first byte; while a body is arriving, the body
// timeout's windows (kDefaultBodyTimeoutMs). Either ends in 408 and a close (counted as
// handler_timeouts and requests_rejected; a body's also as body_timeouts), except that a
// streamed echo, whose response has begun, just closes.
//
//   HttpApp app;  // one per reactor thread, with its settings
//   HttpHandler::Settings settings{.app = &app, .limits = limits, .workers = pool};
//   Reactor reactor(config, [&] { return std::make_unique<HttpHandler>(&settings); });
//
// Thread-safety: called on the connection's reactor thread only.
#ifndef RINGSIDE_SERVICES_HTTP_HTTP_HANDLER_H_
#define RINGSIDE_SERVICES_HTTP_HTTP_HANDLER_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ringside/buffers/buffer_lease.h"
#include "ringside/net/http_parser.h"
#include "ringside/reactor/connection_handler.h"
#include "ringside/reactor/object_slab.h"
#include "ringside/services/http/http_app.h"
#include "ringside/services/http/worker_pool.h"

namespace ringside::http {

// In a slab (object_slab.h): a handler lives as long as its connection, and would otherwise
// sit among the transient objects of the reactor's malloc arena, pinning their pages.
class HttpHandler final : public ConnectionHandler, public SlabAllocated<HttpHandler> {
 public:
  // How long a request's line and headers may take to arrive, from their first byte
  // (slowloris); then 408 and close.
  static constexpr uint32_t kDefaultHeaderTimeoutMs = 10000;
  // A request body must keep arriving (slow bodies): from the end of its head, each
  // BodyWindowBytes() (body_min_rate bytes a second over body_timeout_ms, at least one
  // byte) must arrive within body_timeout_ms of the previous such mark, else 408 and close
  // (counted in body_timeouts). So a stalled body ends after body_timeout_ms, one trickling
  // below body_min_rate at the end of the first window it fails, and an upload at or above
  // the rate never; a body_timeout_ms of 0 turns this off, a body_min_rate of 0 asks only
  // for one byte per window.
  static constexpr uint32_t kDefaultBodyTimeoutMs = 10000;
  static constexpr uint32_t kDefaultBodyMinRate = 1024;  // bytes per second
  // Body bytes of one request kept as leases on receive buffers; more are copied. Half of
  // a default connection ring (8 x 16 KiB), so the kernel always has buffers to fill.
  static constexpr size_t kLeasedBodyBytes = 64 << 10;
  // A chunked echo's segments smaller than this are copied into the response with their
  // chunk framing rather than sent in place: a lease per few bytes would cost more memory
  // and send work (a fragment, an iovec) than the bytes.
  static constexpr size_t kCopiedChunkBytes = 512;
  // The largest response kept to answer a repeated request with (see above).
  static constexpr size_t kMaxRepeatedAnswerBytes = 1024;

  // Worker mode: the most raw bytes (head, body, chunk framing) a request may take; more is
  // 413. The largest head, the largest body and chunk overhead, and 64 KiB of framing.
  static size_t MaxBatchedRequestBytes(const net::HttpLimits& limits) {
    return limits.max_request_line + limits.max_header_bytes + 16 + limits.max_body +
           limits.max_chunk_overhead + (64 << 10);
  }

  // What the handlers of one reactor share. The server keeps it beside the reactor's app
  // for as long as the reactor runs, so a connection's handler holds a pointer to it, not
  // a copy (10,000 idle connections are 10,000 handlers).
  struct Settings {
    HttpApp* app = nullptr;
    net::HttpLimits limits;
    WorkerPool* workers = nullptr;  // null: the app runs on the reactor thread
    uint32_t header_timeout_ms = kDefaultHeaderTimeoutMs;
    uint32_t body_timeout_ms = kDefaultBodyTimeoutMs;
    uint32_t body_min_rate = kDefaultBodyMinRate;
  };

  // `settings` must outlive the handler.
  explicit HttpHandler(const Settings* settings);
  ~HttpHandler() override;

  // The bytes a body must bring within each body_timeout_ms.
  static uint64_t BodyWindowBytes(uint32_t body_timeout_ms, uint32_t body_min_rate) {
    return std::max<uint64_t>(1, uint64_t{body_min_rate} * body_timeout_ms / 1000);
  }
  void OnInput(ConnectionIo& io) override;
  void OnTimeout(ConnectionIo& io) override;

 private:
  // What the connection's timer is armed for.
  enum class TimerFor : uint8_t { kNone, kHead, kBody };

  // What to do with the body of the request being read.
  enum class BodyUse : uint8_t {
    kDrop,           // the app ignores it
    kKeep,           // kept (leases, then a copy) and given to the app at the end
    kStream,         // an echo answered with its Content-Length: segments go straight out
    kStreamChunked,  // an echo answered in chunks: each segment goes out as a chunk
  };

  // What serving one parse result inline came to.
  enum class Step : uint8_t {
    kNext,       // parse on
    kWait,       // the parser needs more input
    kCompleted,  // a request was answered
    kFailed,     // an error: the connection is closing
  };

  void OnInputInline(ConnectionIo& io);
  // Answers the requests at the start of `input` with the thread's kept answer while they
  // repeat that answer's head; returns the bytes of the requests it answered, or 0.
  size_t AnswerRepeats(ConnectionIo& io, std::string_view input);
  // Keeps `response`, just formatted for the current bodiless request, when that request
  // may be repeated (a recalled head, kept alive).
  void KeepAnswer(std::string_view response);
  void OnInputBatched(ConnectionIo& io);
  // Serves one parse result of `input` (the pending input the parser was given) inline.
  Step Serve(ConnectionIo& io, const net::ParseResult& r, std::string_view input);
  void StartBody(ConnectionIo& io, size_t head_size);
  // An echo answered before its body has all arrived: its head now (chunked when the
  // request's is), then the body kept so far, then each segment as it arrives.
  void StartEchoStream(ConnectionIo& io);
  // Appends the kept body (its leases, then the copied rest) to the output.
  void AppendKeptBody(ConnectionIo& io);
  // The next `size` pending bytes, a body segment of a streamed echo, to the output: as
  // they are, or as one chunk.
  void StreamSegment(ConnectionIo& io, size_t size);
  void TakeSegment(ConnectionIo& io, size_t framing, size_t size);
  void FinishRequest(ConnectionIo& io);
  void Fail(ConnectionIo& io, int status);
  // A streamed echo's response has started: an error or timeout ends it short.
  bool response_under_way() const;
  // Answers the lent `requests` (complete ones) on a worker, then appends `last_response`
  // (an error response, or empty) and resumes input or, with `close_after`, closes.
  void PostBatch(ConnectionIo& io, BufferLease requests, bool close_after,
                 std::string last_response);
  // Counts the parser's progress through a request body (framing included).
  void CountBodyBytes(const net::ParseResult& r);
  // Arms, moves or cancels the timer for what is being read now: a head (header timeout,
  // from its first byte) or a body (body timeout windows).
  void UpdateRequestTimer(ConnectionIo& io, bool new_request);

  // The state of the request being read: parser, head, body (defined in the .cc). A
  // connection between requests (its input empty, no head or body in progress) holds
  // none: it goes back to the reactor thread's pool (ExchangePool), so an idle keep-alive
  // connection costs this handler's few dozen bytes instead of ~850, and a pipelined batch
  // is parsed by the same warm exchange whichever connection it came on.
  struct Exchange;
  static std::vector<std::unique_ptr<Exchange>>& ExchangePool();
  // Takes an exchange for this connection's input, unless it holds one already.
  void TakeExchange();
  // Gives the exchange back when the connection stands between requests.
  void ReturnExchangeIfIdle(ConnectionIo& io);

  HttpApp& app() const { return *settings_->app; }

  const Settings* const settings_;
  std::unique_ptr<Exchange> x_;  // null between requests (no timer armed then)
};

}  // namespace ringside::http

#endif  // RINGSIDE_SERVICES_HTTP_HTTP_HANDLER_H_
