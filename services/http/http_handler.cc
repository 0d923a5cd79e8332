#include "ringside/services/http/http_handler.h"

#include <algorithm>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "ringside/net/http_response.h"
#include "ringside/reactor/reactor.h"

namespace ringside::http {
namespace {

// Worker-side state: each worker thread has its own app (and Date cache), parser and body.
struct WorkerState {
  explicit WorkerState(const net::HttpLimits& limits) : parser(limits) {}
  HttpApp app;
  net::HttpParser parser;
  net::HttpRequest request;
  std::string body;
  // Answers of this drain, per reactor, sent back together at the end of the drain: one
  // task and one wake-up per reactor instead of one per batch (on a shared core, each
  // wake-up was a switch to the reactor and back).
  std::vector<std::pair<Reactor*, std::vector<Reactor::ConnectionTask>>> replies;
};

WorkerState& ThisWorker(const net::HttpLimits& limits) {
  thread_local WorkerState state(limits);
  return state;
}

void SendReplies(WorkerState& worker) {
  for (auto& [reactor, tasks] : worker.replies) reactor->PostToConnections(std::move(tasks));
  worker.replies.clear();
}

void QueueReply(WorkerState& worker, const ConnectionHandle& handle,
                std::function<void(ConnectionIo&)> fn) {
  if (worker.replies.empty()) WorkerPool::AtBatchEnd([&worker] { SendReplies(worker); });
  auto it = std::find_if(worker.replies.begin(), worker.replies.end(),
                         [&](const auto& entry) { return entry.first == handle.reactor; });
  if (it == worker.replies.end()) {
    worker.replies.emplace_back(handle.reactor, std::vector<Reactor::ConnectionTask>());
    it = worker.replies.end() - 1;
  }
  it->second.push_back({handle, std::move(fn)});
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

constexpr size_t kScratchFlushBytes = 16 << 10;

// The request's views pointed into bytes that now live at `to` instead of `from`.
void Rebase(const char* from, const char* to, net::HttpRequest* request) {
  if (from == to) return;
  auto move = [&](std::string_view& view) {
    if (view.data() != nullptr) view = std::string_view(to + (view.data() - from), view.size());
  };
  move(request->method);
  move(request->target);
  move(request->path);
  move(request->query);
  for (net::HttpHeader& header : request->headers) {
    move(header.name);
    move(header.value);
  }
}

constexpr size_t kKeptWorkerBodyBytes = 64 << 10;

// Parses the complete requests of `batch` again and answers them into `responses`.
void AnswerBatch(WorkerState& worker, std::string_view batch, std::string* responses) {
  for (;;) {
    const net::ParseResult r = worker.parser.Parse(batch, &worker.request);
    batch.remove_prefix(r.consumed);
    switch (r.status) {
      case net::ParseStatus::kHead:
        worker.body.clear();
        continue;
      case net::ParseStatus::kBody:
        worker.body.append(r.body_segment);
        continue;
      case net::ParseStatus::kComplete:
        worker.app.Handle(worker.request, worker.body, responses);
        // A worker keeps a typical body's room, not the largest body it ever joined.
        if (worker.body.capacity() > kKeptWorkerBodyBytes) std::string().swap(worker.body);
        continue;
      case net::ParseStatus::kNeedMore:
      case net::ParseStatus::kError:  // cannot happen: the reactor cut whole, valid requests
        return;
    }
  }
}

}  // namespace

HttpHandler::HttpHandler(HttpApp* app, const net::HttpLimits& limits, WorkerPool* workers,
                         uint32_t header_timeout_ms, uint32_t body_timeout_ms,
                         uint32_t body_min_rate)
    : app_(app),
      limits_(limits),
      workers_(workers),
      parser_(limits),
      header_timeout_ms_(header_timeout_ms),
      body_timeout_ms_(body_timeout_ms),
      body_window_bytes_(BodyWindowBytes(body_timeout_ms, body_min_rate)) {}

void HttpHandler::OnInput(ConnectionIo& io) {
  if (workers_ == nullptr) {
    OnInputInline(io);
  } else {
    OnInputBatched(io);
  }
}

void HttpHandler::OnInputInline(ConnectionIo& io) {
  InputStream& in = io.input();
  bool close_after = false;
  bool completed_any = false;
  while (!close_after) {
    const std::string_view input = in.pending().substr(parsed_);
    if (input.size() < parser_.bytes_needed()) break;
    const net::ParseResult r = parser_.Parse(input, &request_);
    CountBodyBytes(r);
    if (r.send_continue) Scratch().append(net::kContinueResponse);
    if (r.status == net::ParseStatus::kNeedMore) {
      in.Consume(r.consumed);  // chunk framing the parser is done with
      break;
    }
    if (r.status == net::ParseStatus::kError) return Fail(io, r.error_status);
    if (r.status == net::ParseStatus::kHead) {
      if (request_.has_body()) {
        StartBody(io, r.consumed);
      } else {
        parsed_ = r.consumed;  // answered in place at kComplete, which comes next
      }
    } else if (r.status == net::ParseStatus::kBody) {
      TakeSegment(io, r.body_segment.data() - input.data(), r.body_segment.size());
    } else {  // kComplete
      io.CountRequest();
      completed_any = true;
      close_after = !request_.keep_alive;
      FinishRequest(io);
      in.Consume(parsed_ + r.consumed);
      parsed_ = 0;
    }
  }
  UpdateRequestTimer(io, completed_any);
  FlushScratch(io);
  if (close_after) io.CloseAfterFlush();
}

// The head of a request with a body: its bytes become a lease (the request's views move
// with them), so the raw input can be dropped as the body streams in.
void HttpHandler::StartBody(ConnectionIo& io, size_t head_size) {
  InputStream& in = io.input();
  const char* const at = in.pending().data();
  head_ = in.Lend(head_size);
  Rebase(at, head_.data(), &request_);
  if (!HttpApp::ReadsBody(request_)) {
    body_use_ = BodyUse::kDrop;
  } else if (HttpApp::Echoes(request_) && !request_.chunked &&
             request_.body_length > kLeasedBodyBytes) {
    // Too large to hold in the connection's ring: answer now and send each segment as it
    // arrives (the length is known, so the response needs nothing else from the body).
    body_use_ = BodyUse::kStream;
    app_->AppendEchoHead(request_, request_.body_length, &Scratch());
    FlushScratch(io);
  } else {
    body_use_ = BodyUse::kKeep;
  }
}

void HttpHandler::TakeSegment(ConnectionIo& io, size_t framing, size_t size) {
  InputStream& in = io.input();
  in.Consume(framing);
  switch (body_use_) {
    case BodyUse::kDrop:
      in.Consume(size);
      return;
    case BodyUse::kStream:
      io.output().AppendLease(in.Lend(size));
      return;
    case BodyUse::kKeep:
      // Leased while the ring can spare its buffers; once copying starts, it goes on, so
      // the leased bytes stay a prefix of the body.
      if (body_copy_.empty() && body_leased_ + size <= kLeasedBodyBytes &&
          io.can_hold_input()) {
        body_.push_back(in.Lend(size));
        body_leased_ += size;
      } else {
        body_copy_.append(in.pending().substr(0, size));
        in.Consume(size);
      }
      return;
  }
}

void HttpHandler::FinishRequest(ConnectionIo& io) {
  if (!head_.holds_buffer()) {
    // A request without a body (the pipelined common case): answered from the input in
    // place, nothing to let go.
    app_->Handle(request_, {}, &Scratch());
    if (Scratch().size() >= kScratchFlushBytes) FlushScratch(io);
    return;
  }
  if (body_use_ == BodyUse::kStream) {
    // Answered at its head; its body went out as it came.
  } else if (HttpApp::Echoes(request_)) {
    app_->AppendEchoHead(request_, body_leased_ + body_copy_.size(), &Scratch());
    FlushScratch(io);
    for (BufferLease& segment : body_) io.output().AppendLease(std::move(segment));
    if (!body_copy_.empty()) {
      io.output().AppendShared(std::make_shared<const std::string>(std::move(body_copy_)));
    }
  } else if (body_.size() == 1 && body_copy_.empty()) {
    app_->Handle(request_, body_[0].view(), &Scratch());
  } else {
    std::string joined;
    for (const BufferLease& segment : body_) joined.append(segment.view());
    joined.append(body_copy_);
    app_->Handle(request_, joined, &Scratch());
  }
  if (Scratch().size() >= kScratchFlushBytes) FlushScratch(io);
  head_.Reset();
  body_.clear();
  body_leased_ = 0;
  std::string().swap(body_copy_);
  body_use_ = BodyUse::kDrop;
}

void HttpHandler::Fail(ConnectionIo& io, int status) {
  // Nothing after a malformed request is processed: its error response follows those of
  // the requests before it, then the connection closes.
  io.CountRejectedRequest();
  app_->HandleParseError(status, &Scratch());
  FlushScratch(io);
  io.CloseAfterFlush();
}

void HttpHandler::OnInputBatched(ConnectionIo& io) {
  InputStream& in = io.input();
  bool close_after = false;
  bool completed_any = false;
  int error_status = 0;
  while (!close_after && error_status == 0) {
    const std::string_view input = in.pending().substr(parsed_);
    if (input.size() < parser_.bytes_needed()) break;
    const net::ParseResult r = parser_.Parse(input, &request_);
    CountBodyBytes(r);
    if (r.send_continue) Scratch().append(net::kContinueResponse);
    parsed_ += r.consumed;
    if (r.status == net::ParseStatus::kNeedMore) break;
    if (r.status == net::ParseStatus::kError) error_status = r.error_status;
    if (r.status == net::ParseStatus::kComplete) {
      io.CountRequest();
      completed_any = true;
      batch_end_ = parsed_;
      close_after = !request_.keep_alive;
    }
  }
  if (error_status == 0 && parsed_ - batch_end_ > MaxBatchedRequestBytes(limits_)) {
    // Its raw bytes would not fit the input: chunk framing of a body near max_body.
    error_status = 413;
  }
  UpdateRequestTimer(io, completed_any);
  FlushScratch(io);
  if (error_status != 0) {
    io.CountRejectedRequest();
    std::string error;
    app_->HandleParseError(error_status, &error);
    if (batch_end_ == 0) {
      io.output().AppendOrSpill(error);
      io.CloseAfterFlush();
      return;
    }
    close_after = true;
    PostBatch(io, in.Lend(batch_end_), close_after, std::move(error));
  } else if (batch_end_ > 0) {
    PostBatch(io, in.Lend(batch_end_), close_after, /*last_response=*/"");
  } else if (close_after) {
    io.CloseAfterFlush();
  }
  parsed_ -= batch_end_;
  batch_end_ = 0;
}

void HttpHandler::OnTimeout(ConnectionIo& io) {
  const bool body = timer_for_ == TimerFor::kBody;
  timer_for_ = TimerFor::kNone;
  if (body) io.CountBodyTimeout();
  io.CountRejectedRequest();
  // A streamed echo's response is under way (its head went out with the request's head): it
  // ends short of its Content-Length, and the close tells the client. Otherwise: 408.
  const bool response_under_way = body && body_use_ == BodyUse::kStream;
  if (!response_under_way) {
    app_->HandleParseError(408, &Scratch());
    FlushScratch(io);
  }
  io.CloseAfterFlush();
}

void HttpHandler::CountBodyBytes(const net::ParseResult& r) {
  if (r.status == net::ParseStatus::kHead) {
    body_bytes_ = 0;
    body_mark_ = 0;
  } else if (r.status == net::ParseStatus::kBody || r.status == net::ParseStatus::kNeedMore) {
    body_bytes_ += r.consumed;  // 0 for a partial head
  }
}

// A head's clock runs from its first byte, not its latest: a client trickling one byte at
// a time must not keep the connection forever. A new head (after a completed request)
// starts a new clock. A body's clock restarts each time the body brought another window's
// worth of bytes since the last restart (a re-arm costs no timer work in the reactor: it
// only moves the deadline later).
void HttpHandler::UpdateRequestTimer(ConnectionIo& io, bool new_request) {
  TimerFor want = TimerFor::kNone;
  if (parser_.head_complete()) {
    if (body_timeout_ms_ > 0) want = TimerFor::kBody;
  } else if (!io.input().empty()) {
    want = TimerFor::kHead;
  }
  switch (want) {
    case TimerFor::kHead:
      if (timer_for_ != TimerFor::kHead || new_request) io.ArmTimer(header_timeout_ms_);
      break;
    case TimerFor::kBody:
      if (timer_for_ != TimerFor::kBody || new_request) {
        body_mark_ = 0;  // the window starts at the head's end
        io.ArmTimer(body_timeout_ms_);
      } else if (body_bytes_ - body_mark_ >= body_window_bytes_) {
        body_mark_ = body_bytes_;
        io.ArmTimer(body_timeout_ms_);
      }
      break;
    case TimerFor::kNone:
      if (timer_for_ != TimerFor::kNone) io.CancelTimer();
      break;
  }
  timer_for_ = want;
}

void HttpHandler::PostBatch(ConnectionIo& io, BufferLease requests, bool close_after,
                            std::string last_response) {
  io.PauseInput();
  // One allocation carries the batch (std::function needs a copyable task; a lease is not).
  struct Batch {
    BufferLease requests;
    std::string last_response;
  };
  auto batch = std::make_shared<Batch>(Batch{std::move(requests), std::move(last_response)});
  workers_->Post(io.handle().connection_id,
                 [handle = io.handle(), limits = limits_, batch = std::move(batch), close_after] {
    WorkerState& worker = ThisWorker(limits);
    auto responses = std::make_shared<std::string>();
    // Responses are about as long as their requests (an echo is longer by a head): one
    // allocation for most batches instead of a string regrown several times.
    responses->reserve(batch->requests.size() + 512);
    AnswerBatch(worker, batch->requests.view(), responses.get());
    // Released here, on the worker: the release travels on the reactor's release queue.
    batch->requests.Reset();
    responses->append(batch->last_response);
    QueueReply(
        worker, handle, [responses = std::shared_ptr<const std::string>(std::move(responses)),
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
