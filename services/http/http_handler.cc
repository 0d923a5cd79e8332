#include "services/http/http_handler.h"

#include <utility>

#include "net/http_response.h"
#include "reactor/reactor.h"

namespace ringside::http {
namespace {

// Worker-side state: each worker thread has its own app (and Date cache) and parser.
struct WorkerState {
  explicit WorkerState(const net::HttpLimits& limits) : parser(limits) {}
  HttpApp app;
  net::HttpParser parser;
  net::HttpRequest request;
};

WorkerState& ThisWorker(const net::HttpLimits& limits) {
  thread_local WorkerState state(limits);
  return state;
}

// Responses are formatted into this reactor thread's scratch string, then copied into the
// connection's output blocks once per OnInput: one append for a whole pipelined batch.
std::string& Scratch() {
  thread_local std::string scratch;
  return scratch;
}

void FlushScratch(ConnectionIo& io) {
  std::string& scratch = Scratch();
  io.output().AppendOrSpill(scratch);
  scratch.clear();
}

}  // namespace

HttpHandler::HttpHandler(HttpApp* app, const net::HttpLimits& limits, WorkerPool* workers,
                         uint32_t header_timeout_ms)
    : app_(app),
      limits_(limits),
      workers_(workers),
      parser_(limits),
      header_timeout_ms_(header_timeout_ms) {}

void HttpHandler::OnInput(ConnectionIo& io) {
  std::string batch;
  bool close_after = false;
  bool completed_any = false;
  for (;;) {
    const std::string_view pending = io.input().pending();
    if (pending.empty() || pending.size() < parser_.bytes_needed()) break;
    const net::ParseResult result = parser_.Parse(pending, &request_);
    if (result.status == net::ParseStatus::kNeedMore) {
      if (result.send_continue) Scratch().append(net::kContinueResponse);
      break;
    }
    if (result.status == net::ParseStatus::kError) {
      io.CountRejectedRequest();
      // Nothing after a malformed request is processed: its error response follows those of
      // the requests before it, then the connection closes. Input is paused while a batch
      // is out, so an empty batch means every earlier response is already in the output.
      if (batch.empty()) {
        app_->HandleParseError(result.error_status, &Scratch());
        FlushScratch(io);
        io.CloseAfterFlush();
      } else {
        std::string error;
        app_->HandleParseError(result.error_status, &error);
        PostBatch(io, std::move(batch), /*close_after=*/true, std::move(error));
      }
      return;
    }
    io.CountRequest();
    completed_any = true;
    const bool keep_alive = request_.keep_alive;
    if (workers_ == nullptr) {
      app_->Handle(request_, &Scratch());
    } else {
      batch.append(pending.substr(0, result.consumed));
    }
    io.input().Consume(result.consumed);
    if (!keep_alive) {
      close_after = true;
      break;
    }
  }
  UpdateHeaderTimer(io, completed_any);
  FlushScratch(io);
  if (workers_ == nullptr) {
    if (close_after) io.CloseAfterFlush();
    return;
  }
  if (!batch.empty()) PostBatch(io, std::move(batch), close_after, /*last_response=*/"");
}

void HttpHandler::OnTimeout(ConnectionIo& io) {
  header_timer_armed_ = false;
  io.CountRejectedRequest();
  app_->HandleParseError(408, &Scratch());
  FlushScratch(io);
  io.CloseAfterFlush();
}

// The clock runs from a head's first byte, not its latest: a client trickling one byte at
// a time must not keep the connection forever. A new head (after a completed request)
// starts a new clock.
void HttpHandler::UpdateHeaderTimer(ConnectionIo& io, bool new_request) {
  const bool reading_head = !io.input().empty() && !parser_.head_complete();
  if (reading_head && (!header_timer_armed_ || new_request)) {
    io.ArmTimer(header_timeout_ms_);
  } else if (!reading_head && header_timer_armed_) {
    io.CancelTimer();
  }
  header_timer_armed_ = reading_head;
}

void HttpHandler::PostBatch(ConnectionIo& io, std::string requests, bool close_after,
                            std::string last_response) {
  io.PauseInput();
  workers_->Post(io.handle().connection_id,
                 [handle = io.handle(), limits = limits_, requests = std::move(requests),
                  close_after, last_response = std::move(last_response)] {
    WorkerState& worker = ThisWorker(limits);
    std::string responses;
    std::string_view rest = requests;
    while (!rest.empty()) {
      const net::ParseResult result = worker.parser.Parse(rest, &worker.request);
      if (result.status != net::ParseStatus::kComplete) break;  // cannot happen: pre-cut
      worker.app.Handle(worker.request, &responses);
      rest.remove_prefix(result.consumed);
    }
    responses += last_response;
    handle.reactor->PostToConnection(
        handle, [responses = std::make_shared<const std::string>(std::move(responses)),
                 close_after](ConnectionIo& c) mutable {
          // By reference: the worker's string is sent as it is.
          c.output().AppendShared(std::move(responses));
          if (close_after) {
            c.CloseAfterFlush();
          } else {
            c.ResumeInput();
          }
        });
  });
}

}  // namespace ringside::http
