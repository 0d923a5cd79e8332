// http_handler.h: HTTP/1.1 over a reactor connection — parse in place, answer, pipeline.
//
// The handler parses requests straight out of the connection's InputStream (zero-copy
// views into the receive buffers; in incremental mode a request spanning two receives of
// one buffer is parsed in place) and answers with HttpApp. A malformed request gets its
// error response and the connection closes; nothing after it is processed.
//
// With a WorkerPool, the app runs on a worker instead: the handler cuts the complete
// requests it has into one batch, copies their bytes, pauses the connection's input and
// posts the batch to the connection's worker, which parses, answers and posts the
// responses back to the reactor; then input resumes. Order is kept per connection.
//
//   HttpApp app;  // one per reactor thread
//   Reactor reactor(config, [&] { return std::make_unique<HttpHandler>(&app, limits, pool); });
//
// Thread-safety: called on the connection's reactor thread only.
#ifndef RINGSIDE_SERVICES_HTTP_HTTP_HANDLER_H_
#define RINGSIDE_SERVICES_HTTP_HTTP_HANDLER_H_

#include "net/http_parser.h"
#include "reactor/connection_handler.h"
#include "services/http/http_app.h"
#include "services/http/worker_pool.h"

namespace ringside::http {

class HttpHandler final : public ConnectionHandler {
 public:
  // How long a request's line and headers may take to arrive, from their first byte
  // (slowloris); then 408 and close.
  static constexpr uint32_t kDefaultHeaderTimeoutMs = 10000;

  // `workers` may be null: the app then runs on the reactor thread.
  HttpHandler(HttpApp* app, const net::HttpLimits& limits, WorkerPool* workers,
              uint32_t header_timeout_ms = kDefaultHeaderTimeoutMs);
  void OnInput(ConnectionIo& io) override;
  void OnTimeout(ConnectionIo& io) override;

 private:
  // Answers the complete `requests` on a worker, then appends `last_response` (an error
  // response, or empty) and resumes input or, with `close_after`, closes.
  void PostBatch(ConnectionIo& io, std::string requests, bool close_after,
                 std::string last_response);
  void UpdateHeaderTimer(ConnectionIo& io, bool new_request);

  HttpApp* const app_;
  const net::HttpLimits limits_;
  WorkerPool* const workers_;
  net::HttpParser parser_;
  net::HttpRequest request_;
  const uint32_t header_timeout_ms_;
  bool header_timer_armed_ = false;
};

}  // namespace ringside::http

#endif  // RINGSIDE_SERVICES_HTTP_HTTP_HANDLER_H_
